"""Driving kubefab as an operator does: `fab` on the command line, the real kubectl,
and SSH with verified host keys to look at the hosts."""
from __future__ import annotations

import glob
import json
import os
import subprocess
import sys
from pathlib import Path

from kubefab.inventory import load
from kubefab.remote.ssh import Remote

ROOT = Path(__file__).resolve().parents[2]
FAB = str(Path(sys.executable).parent / "fab")


def real_kubectl() -> str:
    found = sorted(glob.glob("/usr/lib/google-cloud-sdk/bin/kubectl.1.*"),
                   key=lambda p: int(p.rsplit(".", 1)[1]))
    return found[-1] if found else "kubectl"


def fab(inventory, *args, check=True, timeout=300, env=None) -> subprocess.CompletedProcess:
    environ = {**os.environ, "KUBEFAB_INVENTORY": str(inventory), **(env or {})}
    r = subprocess.run([FAB, *args], cwd=ROOT, env=environ, capture_output=True, text=True,
                       timeout=timeout)
    if check and r.returncode != 0:
        raise AssertionError(f"fab {' '.join(args)} exited {r.returncode}\n{r.stdout}\n{r.stderr}")
    return r


def kubectl(inventory, *args, check=True) -> subprocess.CompletedProcess:
    inv = load(inventory)
    return subprocess.run([real_kubectl(), "-s", inv.master_url, *args], capture_output=True,
                          text=True, check=check, timeout=60)


def nodes(inventory) -> dict:
    items = json.loads(kubectl(inventory, "get", "nodes", "-o", "json").stdout)["items"]
    return {i["metadata"]["name"]: i for i in items}


def on_host(inventory, name, argv, sudo=True, check=True):
    inv = load(inventory)
    remote = Remote(inv.host(name)).open()
    try:
        return remote.run(argv, sudo=sudo, check=check)
    finally:
        remote.close()


def unit_starts(inventory, name, units) -> dict[str, str]:
    """When each unit last became active (changes only when it is (re)started)."""
    out = on_host(inventory, name, ["systemctl", "show", "-p", "Id,ActiveEnterTimestampMonotonic,ActiveState",
                                    *units]).stdout
    starts, current = {}, {}
    for line in out.splitlines() + [""]:
        if not line:
            if current:
                starts[current["Id"]] = (current["ActiveState"], current["ActiveEnterTimestampMonotonic"])
            current = {}
            continue
        k, _, v = line.partition("=")
        current[k] = v
    return starts


def journal_cursors(lab) -> dict[str, str]:
    """Each lab host's journal position now (read without SSH)."""
    out = {}
    for name, _ in lab.info.hosts:
        text = lab.run_on(name, ["journalctl", "-n", "0", "--show-cursor", "--no-pager"]).stdout
        out[name] = text.rsplit("-- cursor: ", 1)[1].strip()
    return out


def journal_since(lab, cursors: dict[str, str], name: str, *args: str) -> str:
    """`name`'s journal after `cursors`."""
    return lab.run_on(name, ["journalctl", f"--after-cursor={cursors[name]}", "--no-pager", *args]).stdout


def journal_said(lab, cursors: dict[str, str], name: str, tag: str) -> str:
    """The lines `tag` (sshd, sudo: the syslog tag, not the unit: journald names the unit
    from the sender's cgroup, and a session's sshd that exited before journald read its
    line has none) logged after `cursors`, each its message. Picked here, not by
    journalctl's -t or a match: with --after-cursor, a cursor on another program's line
    (sudo's session end after sshd's, with one root shell per connection), it left out
    the first line that matched."""
    lines = journal_since(lab, cursors, name, "-o", "short").splitlines()
    return "".join(line.split("]: ", 1)[1] + "\n" for line in lines if f" {tag}[" in line and "]: " in line)


def sudo_commands(lab, cursors: dict[str, str], name: str) -> list[str]:
    """The COMMAND= of each sudo start on `name` since `cursors` (sudo's own log lines)."""
    return [line.split("COMMAND=", 1)[1] for line in journal_said(lab, cursors, name, "sudo").splitlines()
            if "COMMAND=" in line]


def ssh_logins(lab, cursors: dict[str, str], name: str) -> int:
    """SSH logins accepted on `name` since `cursors` (sshd's lines)."""
    return journal_said(lab, cursors, name, "sshd").count("Accepted publickey for ")

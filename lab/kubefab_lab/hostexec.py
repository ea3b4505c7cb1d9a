"""Commands inside a running lab host without SSH: nsenter into the namespaces of the
host's PID 1 (mount, UTS, IPC, PID; the network is the machine's anyway). What the lab
and its tests use when sshd is off, or to read a host's journal as root."""
from __future__ import annotations

import subprocess
from pathlib import Path

from . import machines
from .state import LabError, Layout

SSHD_UNIT = "ssh.service"  # Debian's sshd


def init_pid(layout: Layout, group: str, name: str) -> int:
    """The host's PID 1, seen from the machine: the process in the host's cgroups whose
    innermost PID is 1 (nspawn itself is in the outer PID namespace)."""
    if not machines.nspawn_pid(layout, name):
        raise LabError(f"lab host {name} is not running; start it with Lab.start_host({name!r})")
    for d in machines.cgroup_dirs(group, name):
        for procs in d.rglob("cgroup.procs") if d.is_dir() else ():
            for pid in procs.read_text().split():
                if _innermost_pid(pid) == "1":
                    return int(pid)
    raise LabError(f"lab host {name} has no PID 1 yet (still booting?)")


def _innermost_pid(pid: str) -> str | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("NSpid:"):
            ids = line.split()[1:]
            return ids[-1] if len(ids) > 1 else None
    return None


def run(layout: Layout, group: str, name: str, argv: list[str], *, check: bool = True,
        timeout: float = 60, input: str | None = None) -> subprocess.CompletedProcess:
    """argv as root inside the host; its output as text."""
    pid = init_pid(layout, group, name)
    proc = subprocess.run(["nsenter", f"--target={pid}", "--mount", "--uts", "--ipc", "--pid", "--",
                           *argv], capture_output=True, text=True, timeout=timeout, input=input,
                          stdin=None if input is not None else subprocess.DEVNULL)
    if check and proc.returncode != 0:
        raise LabError(f"{name}: {' '.join(argv)} exited {proc.returncode}: "
                       f"{(proc.stderr or proc.stdout).strip()[-500:]}")
    return proc

"""Private network namespaces for tests that run real network programs (ip, the CNI
plugins): each made here, named kubefab-test-<random>, and always deleted. Every command
runs inside one (`ip -n NS` or `ip netns exec NS`), never in the machine's own."""
from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
from contextlib import contextmanager
from pathlib import Path

CNI_PATH = Path("/usr/lib/cni")  # Debian's containernetworking-plugins
CNI_PLUGINS = ("bridge", "host-local", "portmap")


def missing() -> str | None:
    """What this machine lacks for these tests (scripts/setup installs it), or None."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    lacking = [t for t in ("ip", "iptables") if not shutil.which(t)]
    lacking += [str(CNI_PATH / p) for p in CNI_PLUGINS if not (CNI_PATH / p).is_file()]
    return f"missing {', '.join(lacking)}" if lacking else None


def run(argv, *, stdin: str | None = None, env=None, check=True) -> subprocess.CompletedProcess:
    r = subprocess.run(argv, input=stdin, env=env, capture_output=True, text=True, timeout=60)
    if check and r.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} exited {r.returncode}\n{r.stdout}{r.stderr}")
    return r


@contextmanager
def netns():
    """A new, empty network namespace's name; deleted (with all its links) however the
    block ends."""
    name = f"kubefab-test-{secrets.token_hex(4)}"
    run(["ip", "netns", "add", name])
    try:
        yield name
    finally:
        run(["ip", "netns", "del", name])


def ip(ns: str, *args: str) -> str:
    return run(["ip", "-n", ns, *args]).stdout


def ip_json(ns: str, *args: str) -> list[dict]:
    return json.loads(ip(ns, "-j", *args) or "[]")


def inside(ns: str, argv, **kw) -> subprocess.CompletedProcess:
    """argv run in `ns` (its own /proc/sys/net and iptables)."""
    return run(["ip", "netns", "exec", ns, *argv], **kw)


def routes(ns: str) -> set[tuple[str, str | None, str]]:
    """The main table as (dst, gateway, device)."""
    return {(r["dst"], r.get("gateway"), r["dev"]) for r in ip_json(ns, "route", "show")}


def cni(ns: str, plugin: dict, command: str, *, netns_name: str, container: str) -> dict:
    """One CNI plugin run as a runtime runs it, in the node's namespace `ns`, for the pod
    namespace `netns_name`: `plugin` is its full config (stdin); the result it printed."""
    env = {"PATH": os.environ.get("PATH", "") + ":/usr/sbin:/sbin", "CNI_COMMAND": command,
           "CNI_CONTAINERID": container, "CNI_NETNS": f"/run/netns/{netns_name}", "CNI_IFNAME": "eth0",
           "CNI_PATH": str(CNI_PATH)}
    r = inside(ns, [str(CNI_PATH / plugin["type"])], stdin=json.dumps(plugin), env=env)
    return json.loads(r.stdout) if r.stdout.strip() else {}

"""When is a lab host ready: an SSH login as core succeeds against the host key the
lab wrote to known_hosts (never accept-on-first-use), and `systemctl
is-system-running --wait` answers running or degraded."""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from kubefab.model import Host, Ssh
from kubefab.remote.ssh import HostKeyError, Remote, RemoteError
from .state import LabError


@dataclass(frozen=True)
class Ready:
    name: str
    state: str  # "running" or "degraded"
    failed_units: tuple[str, ...] = ()


def wait_host(name: str, address: str, identity: Path, known_hosts: Path,
              timeout: float) -> Ready:
    host = Host(name, address, "node", ssh=Ssh("core", 22, identity, known_hosts))
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        remote = Remote(host, timeout=5)
        try:
            remote.open()
            state = remote.run(["systemctl", "is-system-running", "--wait"], check=False,
                               timeout=max(deadline - time.monotonic(), 1)).stdout.strip()
            if state == "running":
                return Ready(name, state)
            if state == "degraded":
                failed = remote.run(["systemctl", "list-units", "--failed", "--plain", "--no-legend"],
                                    check=False).stdout
                return Ready(name, state, tuple(line.split()[0] for line in failed.splitlines()
                                                if line.strip()))
            last = f"systemctl is-system-running says {state or 'nothing'}"
        except HostKeyError as e:
            raise LabError(f"{name} ({address}) offers a host key the lab did not write: {e}")
        except RemoteError as e:
            last = str(e)  # booting: refused, or PAM's "System is booting up"
            time.sleep(0.2)
        finally:
            remote.close()
    raise LabError(f"lab host {name} ({address}) not ready after {timeout:.0f} s: {last}")


def wait_all(hosts: list[tuple[str, str]], identity: Path, known_hosts: Path,
             timeout: float = 120.0) -> list[Ready]:
    """Wait for every (name, address) in parallel; raises after all have answered
    or timed out, naming each host that failed."""
    with ThreadPoolExecutor(max_workers=min(16, len(hosts) or 1)) as pool:
        futures = [pool.submit(wait_host, n, a, identity, known_hosts, timeout)
                   for n, a in hosts]
    results, errors = [], []
    for f in futures:
        try:
            results.append(f.result())
        except LabError as e:
            errors.append(str(e))
    if errors:
        raise LabError("\n".join(errors))
    return results

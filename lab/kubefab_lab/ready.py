"""When is a lab host ready: an SSH login as core succeeds against the host key the
lab wrote to known_hosts (never accept-on-first-use), and `systemctl
is-system-running --wait` answers running or degraded. In a lab with a bastion, the
other hosts are asked through it (an SSH gateway, as `ssh -J`), the only way in."""
from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from dataclasses import replace

from kubefab.model import Hop, Host, Ssh
from kubefab.remote.ssh import HostKeyError, Remote, RemoteError
from .state import LabError


class _BootingTarget(logging.Filter):
    """paramiko logs a refused gateway channel as an error ("Secsh channel 1 open FAILED:
    Connection refused"); while a host boots behind the bastion, that is the wait."""

    def filter(self, record):
        return "open FAILED" not in record.getMessage()


_QUIET = _BootingTarget()


@dataclass(frozen=True)
class Ready:
    name: str
    state: str  # "running" or "degraded"
    failed_units: tuple[str, ...] = ()


def wait_host(name: str, address: str, identity: Path, known_hosts: Path,
              timeout: float, gateway: tuple[str, str] | None = None) -> Ready:
    ssh = Ssh("core", 22, identity, known_hosts, given=frozenset({"user", "port", "identity"}))
    if gateway and gateway[0] != name:  # a direct-tcpip channel through the bastion's connection
        ssh = replace(ssh, bastion=Hop(gateway[1], 22, "core", identity, gateway[0], ssh.given))
    host = Host(name, address, "node", ssh=ssh)
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
            remote.reach.close()
    via = f" through the bastion {gateway[0]}" if gateway and gateway[0] != name else ""
    raise LabError(f"lab host {name} ({address}) not ready{via} after {timeout:.0f} s: {last}")


def wait_all(hosts: list[tuple[str, str]], identity: Path, known_hosts: Path,
             timeout: float = 120.0, gateway: tuple[str, str] | None = None) -> list[Ready]:
    """Wait for every (name, address) in parallel (through `gateway`, the bastion's
    (name, address), if given); raises after all have answered or timed out, naming
    each host that failed."""
    if gateway:
        logging.getLogger("paramiko.transport").addFilter(_QUIET)  # addFilter skips one already there
    with ThreadPoolExecutor(max_workers=min(16, len(hosts) or 1)) as pool:
        futures = [pool.submit(wait_host, n, a, identity, known_hosts, timeout, gateway)
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

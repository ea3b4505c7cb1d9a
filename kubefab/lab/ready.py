"""When is a lab host ready: an SSH login as core succeeds against the host key the
lab wrote to known_hosts (never accept-on-first-use), and `systemctl
is-system-running --wait` answers running or degraded."""
from __future__ import annotations

import socket
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import paramiko

from .state import LabError


@dataclass(frozen=True)
class Ready:
    name: str
    state: str  # "running" or "degraded"
    failed_units: tuple[str, ...] = ()


def connect(address: str, identity: Path, known_hosts: Path, user: str = "core",
            timeout: float = 5.0) -> paramiko.SSHClient:
    """An SSH client to address whose host key must match known_hosts."""
    client = paramiko.SSHClient()
    client.load_host_keys(str(known_hosts))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    try:
        client.connect(address, 22, username=user, key_filename=str(identity),
                       look_for_keys=False, allow_agent=False, timeout=timeout,
                       banner_timeout=timeout, auth_timeout=timeout)
    except BaseException:
        client.close()
        raise
    return client


def run(client: paramiko.SSHClient, command: str, timeout: float = 120.0) -> tuple[int, str]:
    _, stdout, _ = client.exec_command(command, timeout=timeout)
    out = stdout.read().decode()
    return stdout.channel.recv_exit_status(), out


def wait_host(name: str, address: str, identity: Path, known_hosts: Path,
              timeout: float) -> Ready:
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            client = connect(address, identity, known_hosts)
        except paramiko.BadHostKeyException as e:
            raise LabError(f"{name} ({address}) offers a host key the lab did not write: {e}")
        except (OSError, socket.timeout, paramiko.SSHException, EOFError) as e:
            last = f"{type(e).__name__}: {e}"  # booting: refused, or PAM's "booting up"
            time.sleep(0.2)
            continue
        with client:
            _, state = run(client, "systemctl is-system-running --wait",
                           timeout=max(deadline - time.monotonic(), 1))
            state = state.strip()
            if state == "running":
                return Ready(name, state)
            if state == "degraded":
                _, failed = run(client, "systemctl list-units --failed --plain --no-legend")
                return Ready(name, state, tuple(line.split()[0] for line in failed.splitlines()
                                                if line.strip()))
            last = f"systemctl is-system-running says {state or 'nothing'}"
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

"""Detached processes with pid files, checked by command line so a reused pid is
never mistaken for ours."""
from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path


def alive(pid: int | None, marker: str = "") -> bool:
    """Whether pid runs (not a zombie) with `marker` somewhere in its command line."""
    if not pid:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z" and marker in cmdline


def read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


# Runs "$@" in the background and prints its pid: the process is orphaned at once,
# so PID 1 (not we) reaps it, and it lives on in a session of its own after we exit.
_DETACH = 'log=$1; shift; "$@" </dev/null >>"$log" 2>&1 & echo $!'


def spawn(argv: list[str], pid_file: Path, log_file: Path) -> int:
    """Start argv detached from us, output to log_file; its pid (also in pid_file)."""
    out = subprocess.run(["sh", "-c", _DETACH, "sh", str(log_file), *argv],
                         stdin=subprocess.DEVNULL, capture_output=True, text=True,
                         start_new_session=True, check=True).stdout
    pid = int(out.strip())
    pid_file.write_text(f"{pid}\n")
    return pid


def kill(pids: list[int], sig=signal.SIGTERM) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def wait_gone(pids: list[int], timeout: float, marker: str = "") -> list[int]:
    """Wait until none of pids is alive; the ones still alive at the deadline."""
    deadline = time.monotonic() + timeout
    left = [p for p in pids if alive(p, marker)]
    while left and time.monotonic() < deadline:
        time.sleep(0.05)
        left = [p for p in left if alive(p, marker)]
    return left


def stop(pids: list[int], marker: str = "", timeout: float = 10.0) -> None:
    """SIGTERM, then SIGKILL whatever still runs after `timeout`."""
    pids = [p for p in pids if alive(p, marker)]
    kill(pids)
    left = wait_gone(pids, timeout, marker)
    kill(left, signal.SIGKILL)
    wait_gone(left, 5.0, marker)


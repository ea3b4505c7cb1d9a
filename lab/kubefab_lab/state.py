"""Where a lab keeps its state (outside the checkout), and the lab's error type.

    <root>/state.json              what `up` started: hosts, etcd, release server
    <root>/lock                    held while an up/down runs
    <root>/hosts/<name>/upper      the host's overlay upper dir: all it has beyond the base
    <root>/hosts/<name>/work       overlayfs work dir
    <root>/hosts/<name>/root       the merged root the host boots from
    <root>/hosts/<name>/nspawn.pid, console.log
    <root>/etcd/                   the lab etcd's data; etcd.pid, etcd.log beside it
    <root>/releases/<version>/kubernetes.tar.gz   served by the release server
    <root>/http.pid, http.log      the release server
"""
from __future__ import annotations

import fcntl
import json
import os
from dataclasses import dataclass
from pathlib import Path

STATE_DIR = Path("/var/lib/kubefab/lab")


class LabError(Exception):
    """A lab step failed; the message says what and what to do (no traceback)."""


@dataclass(frozen=True)
class Layout:
    root: Path

    def host(self, name: str) -> Path:
        return self.root / "hosts" / name

    def upper(self, name: str) -> Path:
        return self.host(name) / "upper"

    def merged(self, name: str) -> Path:
        return self.host(name) / "root"

    def nspawn_pid(self, name: str) -> Path:
        return self.host(name) / "nspawn.pid"

    def host_names(self) -> list[str]:
        hosts = self.root / "hosts"
        return sorted(p.name for p in hosts.iterdir()) if hosts.is_dir() else []

    @property
    def state_file(self) -> Path:
        return self.root / "state.json"

    @property
    def etcd_data(self) -> Path:
        return self.root / "etcd"

    @property
    def releases(self) -> Path:
        return self.root / "releases"

    def pid_file(self, service: str) -> Path:
        return self.root / f"{service}.pid"

    def log_file(self, service: str) -> Path:
        return self.root / f"{service}.log"

    def read_state(self) -> dict | None:
        try:
            return json.loads(self.state_file.read_text())
        except (OSError, ValueError):
            return None

    def write_state(self, state: dict) -> None:
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2) + "\n")
        tmp.rename(self.state_file)


def write_file(path: Path, text: str, mode: int = 0o600) -> None:
    """Write text to path with mode, never readable by others in between."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(path, mode)


class Lock:
    """An exclusive lock on the state dir, so two `lab.up`s cannot interleave."""

    def __init__(self, layout: Layout):
        self.path = layout.root / "lock"

    def __enter__(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(self.fd, 32, 0).decode().strip() or "?"
            os.close(self.fd)
            raise LabError(f"another lab up/down is running (pid {holder}); wait for it") from None
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, f"{os.getpid()}\n".encode(), 0)
        return self

    def __exit__(self, *exc):
        os.ftruncate(self.fd, 0)
        os.close(self.fd)

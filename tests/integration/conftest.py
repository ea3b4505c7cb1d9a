"""The lab every integration test shares: the repo's five hosts as real systemd hosts,
booted once per session and taken down at its end.

    def test_something(lab):            # a kubefab_lab.Lab that is up
        inv = load(lab.inventory_path)  # build/lab/hosts.yaml
        lab.upper_dir("azure-prd-02")   # what was written on that host
"""
from __future__ import annotations

import hashlib
import io
import os
import shutil
import socket
import tarfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from kubefab_lab import Lab

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class PlaceholderRelease:
    path: Path
    sha256: str
    name: str


def placeholder_release(version, out_dir, kubectl=None, faults=frozenset()):
    """A tiny tarball in the release's place, for as long as kubefab_lab.release is
    not in the tree."""
    out = Path(out_dir) / "kubernetes.tar.gz"
    data = f"placeholder kubernetes {version} faults={sorted(faults)}\n".encode()
    with tarfile.open(out, "w:gz") as tar:
        info = tarfile.TarInfo("kubernetes/version")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return PlaceholderRelease(out, hashlib.sha256(out.read_bytes()).hexdigest(), version)


def release_builder():
    """The real stand-in release builder when it has landed, else the placeholder."""
    try:
        from kubefab_lab.release import build_release  # noqa: F401
    except ImportError:
        return placeholder_release
    return None  # Lab's default: kubefab_lab.release.build_release


def lab_prerequisites() -> str | None:
    """Why a lab cannot boot here, or None."""
    if os.geteuid() != 0:
        return "the lab needs root"
    missing = [t for t in ("systemd-nspawn", "etcd", "debootstrap") if not shutil.which(t)]
    return f"missing {', '.join(missing)}" if missing else None


@pytest.fixture(scope="session")
def lab():
    """The repo's hosts.yaml as a lab (five hosts), up for the whole session."""
    reason = lab_prerequisites()
    if reason:
        pytest.skip(f"no lab: {reason}")
    the_lab = Lab(build_dir=ROOT / "build/lab", build_release=release_builder())
    the_lab.up(ROOT / "hosts.yaml")
    yield the_lab
    the_lab.down()


def free_port_pair() -> int:
    """A port p on 127.0.0.1 with p and p + 1 free (etcd's client and peer ports)."""
    for _ in range(100):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
    raise RuntimeError("no two free ports in a row on 127.0.0.1")


@pytest.fixture
def private_lab(tmp_path):
    """A second, private lab for tests that kill or take a lab down: its own state dir,
    build dir, cgroup, etcd port and addresses (127.0.0.200..), taken down afterwards.
    private_lab(first_address=2) makes one that collides with the shared lab."""
    reason = lab_prerequisites()
    if reason:
        pytest.skip(f"no lab: {reason}")
    made = []

    def make(first_address=200):
        made.append(Lab(tmp_path / f"state{len(made)}", tmp_path / f"build{len(made)}",
                        first_address=first_address, etcd_port=free_port_pair(),
                        cgroup=f"lab-test-{tmp_path.name}-{len(made)}",  # up/down kill their cgroup
                        build_release=release_builder(), log=lambda message: None))
        return made[-1]

    yield make
    for lab in made:
        lab.down()

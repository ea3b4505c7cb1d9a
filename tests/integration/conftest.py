"""The lab every integration test shares: the repo's five hosts as real systemd hosts,
booted once per session and taken down at its end.

    def test_something(lab):            # a kubefab_lab.Lab that is up
        inv = load(lab.inventory_path)  # build/lab/hosts.yaml
        lab.upper_dir("azure-prd-02")   # what was written on that host
"""
from __future__ import annotations

import os
import shutil
from contextlib import contextmanager
from pathlib import Path

import pytest

from kubefab_lab import Lab
from kubefab_lab.services import free_port_pair

ROOT = Path(__file__).resolve().parents[2]
# KUBEFAB_LAB_SLOT=N (1-9) runs this session's labs on 127.0.N.x with their own state dir,
# cgroups and etcd port, so that two checkouts can run lab tests side by side. Slot 0 (the
# default) is 127.0.0.x, as the README's lab.
SLOT = int(os.environ.get("KUBEFAB_LAB_SLOT", "0"))
NET = f"127.0.{SLOT}"


def slotted(name: str) -> str:
    return name if not SLOT else f"{name}-slot{SLOT}"


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
    kwargs = {} if not SLOT else dict(state_dir=Path(f"/var/lib/kubefab/{slotted('lab')}"), net=NET,
                                      etcd_port=free_port_pair(), cgroup=slotted("lab"))
    the_lab = Lab(build_dir=ROOT / "build/lab", **kwargs)
    the_lab.up(ROOT / "hosts.yaml")
    yield the_lab
    the_lab.down()



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
                        first_address=first_address, net=NET, etcd_port=free_port_pair(),
                        cgroup=slotted(f"lab-test-{tmp_path.name}-{len(made)}"),  # up/down kill their cgroup
                        log=lambda message: None))
        return made[-1]

    yield make
    for lab in made:
        lab.down()


@contextmanager
def own_lab(name: str, first_address: int, **up):
    """A module's lab of its own (state and build folders, cgroup named `name`, its own
    addresses from `first_address`), on a fresh PKI (an earlier run's is not this cluster's),
    up with the repo's hosts.yaml (`up`: Lab.up's options), taken down afterwards."""
    reason = lab_prerequisites()
    if reason:
        pytest.skip(f"no lab: {reason}")
    lab = Lab(Path(f"/var/lib/kubefab/{slotted(name)}"), ROOT / f"build/{name}", first_address=first_address,
              net=NET, etcd_port=free_port_pair(), cgroup=slotted(name))
    shutil.rmtree(lab.build_dir / "pki", ignore_errors=True)
    lab.up(ROOT / "hosts.yaml", **up)
    try:
        yield lab
    finally:
        lab.down()

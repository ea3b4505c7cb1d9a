"""etcd.snapshot and etcd.restore on a modern lab (kubefab's own etcd on the master,
Debian's real etcd and etcdctl; the stand-in apiserver keeps Nodes in etcd's v3 store
under /registry/minions/, as the real one keeps its objects under /registry/): a
snapshot, a change seen with the real kubectl, a restore, and kubectl sees the old state.

One minor (KUBEFAB_ETCD_VERSION, default v1.37.1): a lab boot and a deploy, then the
tests in file order."""
import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from kubefab.inventory import load
from kubefab_lab import Lab, kubectls

from .conftest import NET, ROOT, free_port_pair, lab_prerequisites, slotted
from .helpers import fab, on_host, unit_starts

pytestmark = pytest.mark.lab

VERSION = os.environ.get("KUBEFAB_ETCD_VERSION", "v1.37.1")
MASTER, NODE = "azure-prd-01", "azure-prd-02"
MASTER_UNITS = ["kubernetes.etcd.service", "kubernetes.apiserver.service",
                "kubernetes.controller-manager.service", "kubernetes.scheduler.service"]


@pytest.fixture(scope="module")
def lab():
    reason = lab_prerequisites()
    if reason:
        pytest.skip(f"no lab: {reason}")
    minor = ".".join(VERSION.lstrip("v").split(".")[:2])
    the_lab = Lab(Path(f"/var/lib/kubefab/{slotted('lab-etcd')}"), ROOT / "build/lab-etcd",
                  first_address=40, net=NET, etcd_port=free_port_pair(), cgroup=slotted("lab-etcd"))
    the_lab.up(ROOT / "hosts.yaml", version=VERSION)
    the_lab.minor = minor
    yield the_lab
    the_lab.down()


@pytest.fixture(scope="module")
def inventory(lab):
    fab(lab.inventory_path, "deploy")
    return lab.inventory_path


@pytest.fixture(scope="module")
def kubectl(lab, inventory):
    binary = kubectls.ensure(lab.minor)
    admin = load(inventory).kubernetes.pki_dir / "admin.kubeconfig"

    def run(*args, check=True):
        return subprocess.run([str(binary), "--kubeconfig", str(admin), *args], capture_output=True,
                              text=True, check=check, timeout=60)
    return run


@pytest.fixture(scope="module")
def snapshot(inventory, tmp_path_factory):
    out = tmp_path_factory.mktemp("etcd") / "before.db"
    r = fab(inventory, "etcd.snapshot", "--out", str(out))
    print(r.stdout)  # shown when a test fails
    return out, r


def labels(kubectl, node=NODE) -> dict:
    return json.loads(kubectl("get", "node", node, "-o", "json").stdout)["metadata"]["labels"]


def test_the_snapshot_is_verified_written_0600_and_leaves_nothing_on_the_master(inventory, snapshot):
    out, r = snapshot
    assert out.stat().st_mode & 0o777 == 0o600
    line = next(x for x in r.stdout.splitlines() if x.startswith(f"[{MASTER}] snapshot {out}"))
    assert "revision " in line and " keys, db " in line and "hash " in line, r.stdout
    left = on_host(inventory, MASTER, ["find", "/var/lib/kubefab/etcd-snapshots", "-type", "f"]).stdout
    assert left.strip() == ""
    mode = on_host(inventory, MASTER, ["stat", "-c", "%a %U", "/var/lib/kubefab/etcd-snapshots"]).stdout.split()
    assert mode == ["700", "root"]
    # this machine's own etcdctl (Debian's etcd-client, which scripts/setup installs) reads it as kubefab said
    status = json.loads(subprocess.run(["etcdctl", "snapshot", "status", str(out), "--write-out=json"],
                                       capture_output=True, text=True, check=True).stdout)
    assert f"revision {status['revision']}, {status['totalKey']} keys" in line
    assert f"hash {status['hash']:08x}" in line


def test_a_dry_run_restore_changes_nothing(inventory, snapshot):
    before = unit_starts(inventory, MASTER, MASTER_UNITS)
    r = fab(inventory, "etcd.restore", str(snapshot[0]), "--dry-run")
    assert "would: stop kubernetes.scheduler.service" in r.stdout and "pending" in r.stdout, r.stdout
    assert unit_starts(inventory, MASTER, MASTER_UNITS) == before


def test_restore_brings_the_old_state_back(inventory, snapshot, kubectl):
    out, _ = snapshot
    assert "restore-test" not in labels(kubectl)
    kubectl("label", "--overwrite", "node", NODE, "restore-test=after-the-snapshot")
    assert labels(kubectl)["restore-test"] == "after-the-snapshot"

    r = fab(inventory, "etcd.restore", str(out), "--yes", timeout=600)
    print(r.stdout)
    assert "apiserver ok (https://" in r.stdout and "verified: kubernetes.etcd.service" in r.stdout, r.stdout
    aside = re.search(r"the old data dir is (/var/lib/etcd\.before-restore-\d{8}T\d{6}Z)", r.stdout)[1]

    assert "restore-test" not in labels(kubectl)  # the state of the snapshot
    inv = load(inventory)
    got = json.loads(kubectl("get", "nodes", "-o", "json").stdout)["items"]
    assert sorted(i["metadata"]["name"] for i in got) == sorted(h.name for h in inv.nodes)
    assert all(s[0] == "active" for s in unit_starts(inventory, MASTER, MASTER_UNITS).values())
    # the old data dir is kept aside, root's; the uploaded copy is gone
    assert on_host(inventory, MASTER, ["test", "-d", f"{aside}/member"], check=False).ok
    assert on_host(inventory, MASTER, ["find", "/var/lib/kubefab/etcd-snapshots", "-type", "f"]).stdout == ""
    status = fab(inventory, "status", check=False)  # nodes Ready, labels as the inventory says
    assert status.returncode == 0 and "OK: the cluster is as the inventory says" in status.stdout, status.stdout
    # the cluster goes on: a label set now stays
    kubectl("label", "--overwrite", "node", NODE, "restore-test=after-the-restore")
    assert labels(kubectl)["restore-test"] == "after-the-restore"


def test_a_file_that_is_no_snapshot_stops_nothing(inventory, tmp_path):
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"not a snapshot\n" * 100)
    before = unit_starts(inventory, MASTER, MASTER_UNITS)
    r = fab(inventory, "etcd.restore", str(bad), "--yes", check=False)
    assert r.returncode == 1 and "is no etcd snapshot" in r.stdout, r.stdout + r.stderr
    assert unit_starts(inventory, MASTER, MASTER_UNITS) == before

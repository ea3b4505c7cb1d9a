"""Backups and rollback on the lab's real hosts: a file replaced more often than
kubernetes.backups keeps only that many earlier versions, the newest first."""
import pytest

from kubefab.inventory import load

from .helpers import fab, on_host, unit_starts
from .test_faults import converges, variant

pytestmark = pytest.mark.lab

MASTER = "azure-prd-01"
UNIT = "/etc/systemd/system/kubernetes.apiserver.service"
BACKUP = "/var/lib/kubefab/backup"


@pytest.fixture(scope="module")
def inventory(lab):
    fab(lab.inventory_path, "deploy")
    return lab.inventory_path


def service_range(n: int):
    def change(data):
        data["kubernetes"]["backups"] = 2
        data["kubernetes"].setdefault("apiserver", {})["service_cluster_ip_range"] = f"10.{110 + n}.0.0/16"
    return change


def test_backups_are_bounded(inventory):
    """kubernetes.backups: 2, and four deploys that each change the apiserver's unit:
    two backups remain, the newest first, root's only."""
    for n in range(4):
        fab(variant(inventory, f"range{n}", service_range(n)), "deploy")
    listed = on_host(inventory, MASTER, ["sh", "-c", f'ls -1 "{BACKUP}{UNIT}".*']).stdout.split()
    assert listed == [f"{BACKUP}{UNIT}.1", f"{BACKUP}{UNIT}.2"]
    newest = on_host(inventory, MASTER, ["cat", f"{BACKUP}{UNIT}.1"]).stdout
    older = on_host(inventory, MASTER, ["cat", f"{BACKUP}{UNIT}.2"]).stdout
    assert "10.112.0.0/16" in newest and "10.111.0.0/16" in older
    converges(inventory)


def test_rollback_after_a_flag_change_restores_it_and_restarts_only_that_unit(inventory):
    """A deploy changes the apiserver's service range; rollback (its dry run first) puts
    the unit file (and the certificate that names the range) back and restarts the
    apiserver alone; the lab inventory then deploys as a no-op: the hosts are as it says."""
    fab(variant(inventory, "range", service_range(9)), "deploy")
    units = ("kubernetes.apiserver.service", "kubernetes.scheduler.service", "kubernetes.controller-manager.service")
    before = unit_starts(inventory, MASTER, units)
    node_before = unit_starts(inventory, "azure-prd-02", ("kubernetes.kubelet.service",))
    dry = fab(inventory, "rollback", "--dry-run").stdout
    assert f"[{MASTER}] -    --service-cluster-ip-range=10.119.0.0/16" in dry
    assert f"[{MASTER}] secret put back: /etc/kubernetes/pki/apiserver.key (content not shown)" in dry
    assert unit_starts(inventory, MASTER, units) == before
    r = fab(inventory, "rollback").stdout
    assert "put back 3 files; restarted kubernetes.apiserver.service" in r, r
    after = unit_starts(inventory, MASTER, units)
    assert [u for u in units if after[u] != before[u]] == ["kubernetes.apiserver.service"]
    assert unit_starts(inventory, "azure-prd-02", ("kubernetes.kubelet.service",)) == node_before
    assert "--service-cluster-ip-range=10.100.0.0/16" in on_host(inventory, MASTER, ["cat", UNIT]).stdout
    running = on_host(inventory, MASTER, ["pgrep", "-a", "-f", "service-cluster-ip-range"]).stdout
    assert "10.100.0.0/16" in running and "10.119.0.0/16" not in running
    assert "the last run's files were put back already" in fab(inventory, "rollback").stdout
    converges(inventory)

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


def etcd_servers(n: int):
    """The apiserver's etcd servers: the lab's etcd, named n + 1 more times (its flag
    alone changes; the service range, which would too, cannot change on a running cluster)."""
    def change(data):
        data["kubernetes"]["backups"] = 2
        url = data["kubernetes"]["etcd_servers"][0]
        data["kubernetes"]["etcd_servers"] = [url] + [url + "/"] * (n + 1)
    return change


def flag(inventory, n: int) -> str:
    url = load(inventory).kubernetes.etcd_servers[0]
    return f"--etcd-servers={','.join([url] + [url + '/'] * (n + 1))}" if n >= 0 else f"--etcd-servers={url}"


def test_backups_are_bounded(inventory):
    """kubernetes.backups: 2, and four deploys that each change the apiserver's unit:
    two backups remain, the newest first, root's only."""
    for n in range(4):
        fab(variant(inventory, f"etcd{n}", etcd_servers(n)), "deploy")
    listed = on_host(inventory, MASTER, ["sh", "-c", f'ls -1 "{BACKUP}{UNIT}".*']).stdout.split()
    assert listed == [f"{BACKUP}{UNIT}.1", f"{BACKUP}{UNIT}.2"]
    newest = on_host(inventory, MASTER, ["cat", f"{BACKUP}{UNIT}.1"]).stdout
    older = on_host(inventory, MASTER, ["cat", f"{BACKUP}{UNIT}.2"]).stdout
    assert f"{flag(inventory, 2)} " in newest and f"{flag(inventory, 1)} " in older
    converges(inventory)


def test_rollback_after_a_flag_change_restores_it_and_restarts_only_that_unit(inventory):
    """A deploy changes the apiserver's etcd servers; rollback (its dry run first) puts the
    unit file back and restarts the apiserver alone; the lab inventory then deploys as a
    no-op: the hosts are as it says."""
    fab(variant(inventory, "etcd", etcd_servers(9)), "deploy")
    units = ("kubernetes.apiserver.service", "kubernetes.scheduler.service", "kubernetes.controller-manager.service")
    before = unit_starts(inventory, MASTER, units)
    node_before = unit_starts(inventory, "azure-prd-02", ("kubernetes.kubelet.service",))
    dry = fab(inventory, "rollback", "--dry-run").stdout
    assert f"[{MASTER}] -    {flag(inventory, 9)} \\" in dry, dry
    assert unit_starts(inventory, MASTER, units) == before
    r = fab(inventory, "rollback").stdout
    assert "put back 1 files; restarted kubernetes.apiserver.service" in r, r
    after = unit_starts(inventory, MASTER, units)
    assert [u for u in units if after[u] != before[u]] == ["kubernetes.apiserver.service"]
    assert unit_starts(inventory, "azure-prd-02", ("kubernetes.kubelet.service",)) == node_before
    assert f"{flag(inventory, -1)} " in on_host(inventory, MASTER, ["cat", UNIT]).stdout
    running = on_host(inventory, MASTER, ["pgrep", "-a", "-f", "etcd-servers"]).stdout
    assert f"{flag(inventory, -1)} " in running and flag(inventory, 9) not in running
    assert "the last run's files were put back already" in fab(inventory, "rollback").stdout
    converges(inventory)

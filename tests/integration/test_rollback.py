"""Backups and rollback on the lab's real hosts: a file replaced more often than
kubernetes.backups keeps only that many earlier versions, the newest first."""
import pytest

from kubefab.inventory import load

from .helpers import fab, on_host
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


"""Labels kubefab owns and a new host joining, on the lab's real hosts, checked with
the real kubectl: a label dropped from hosts.yaml is removed from its node by the next
deploy, one set by hand or by nodes.register is kept (the latter reported); a bare
host added back to hosts.yaml joins with `deploy --hosts` alone, Ready with its labels,
the other hosts untouched. Every test leaves the cluster converged on the lab inventory."""
import pytest

from kubefab.inventory import load
from kubefab.layout import OWNED_LABELS

from .helpers import fab, kubectl, nodes, unit_starts
from .test_faults import converges, variant

pytestmark = pytest.mark.lab

MASTER, NODE, OTHER, NEW = "azure-prd-01", "azure-prd-02", "azure-prd-03", "azure-prd-04"


@pytest.fixture(scope="module")
def inventory(lab):
    fab(lab.inventory_path, "deploy")
    return lab.inventory_path


def labels(inventory, name) -> dict:
    return nodes(inventory)[name]["metadata"].get("labels") or {}


def test_a_label_dropped_from_hosts_yaml_is_removed_one_set_by_hand_or_register_is_kept(inventory):
    kubectl(inventory, "label", "node", NODE, "team=blue")  # by hand: never kubefab's
    fab(inventory, "nodes.register", "--hosts", NODE, "--label", "tier=gold")
    assert labels(inventory, NODE)["workload"] == "high-available"
    dropped = variant(inventory, "no-workload", lambda d: d["hosts"][NODE]["labels"].pop("workload"))
    kept = f"label tier=gold on node {NODE} was set by nodes.register and is not in hosts.yaml"

    dry = fab(dropped, "deploy", "--dry-run")
    assert f"[{MASTER}] label node {NODE} workload- (no longer in hosts.yaml)" in dry.stdout
    assert dry.stdout.count(kept) == 1
    assert labels(inventory, NODE)["workload"] == "high-available"  # a dry run changes nothing

    r = fab(dropped, "deploy")
    assert r.stdout.count(kept) == 1
    now = labels(inventory, NODE)
    assert "workload" not in now and now["team"] == "blue" and now["tier"] == "gold"
    assert labels(inventory, OTHER)["workload"] == "high-available"  # another node's is its own
    assert "workload" not in nodes(inventory)[NODE]["metadata"]["annotations"][OWNED_LABELS].split(",")
    status = fab(dropped, "status")
    assert "OK: the cluster is as the inventory says" in status.stdout and f"note: {kept}" in status.stdout
    off = fab(inventory, "status", check=False)  # the lab inventory still gives workload
    assert off.returncode == 1 and f"{NODE}: label workload=high-available missing" in off.stdout

    kubectl(inventory, "label", "node", NODE, "team-", "tier-")
    converges(inventory)
    assert labels(inventory, NODE)["workload"] == "high-available"


def test_a_bare_host_added_to_hosts_yaml_joins_with_deploy_hosts(lab, inventory):
    fab(inventory, "nodes.remove", NEW)
    fab(inventory, "reset", "--hosts", NEW, "--yes")  # bare: nothing of kubefab's left
    without = variant(inventory, "without", lambda d: d["hosts"].pop(NEW))
    fab(without, "deploy")
    assert NEW not in nodes(inventory)
    inv = load(inventory)
    others = {h.name: unit_starts(inventory, h.name, ["kubernetes.kubelet.service", "kubernetes.apiserver.service"])
              for h in inv.hosts if h.name != NEW}

    dry = fab(inventory, "deploy", "--hosts", NEW, "--dry-run")
    assert f"[{NEW}] " in dry.stdout and NEW not in nodes(inventory)
    r = fab(inventory, "deploy", "--hosts", NEW)
    assert f"[{NEW}] " in r.stdout and r.returncode == 0
    node = nodes(inventory)[NEW]
    ready = [c["status"] for c in node["status"]["conditions"] if c["type"] == "Ready"]
    assert ready == ["True"]
    assert inv.node_labels(inv.host(NEW)).items() <= node["metadata"]["labels"].items()
    assert {n: unit_starts(inventory, n, ["kubernetes.kubelet.service", "kubernetes.apiserver.service"])
            for n in others} == others  # the others untouched: nothing restarted
    converges(inventory)

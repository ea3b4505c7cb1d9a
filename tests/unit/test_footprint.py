"""kubefab.footprint, pure: what reset and nodes.remove take off a host, named from the
inventory (legacy and modern profiles), and what they never take."""
import pytest

from kubefab import footprint, render
from kubefab.layout import BACKUP_DIR, KEEP_DIRS, LAST_RUN, ROLLED_BACK, STAGE_DIR

from modern_fixtures import FAKE_MODERN_PKI, modern_inventory
from test_render import FAKE_PKI, seed_inventory


def of(inv, name, keys):
    h = inv.host(name)
    return footprint.of_host(inv, h, render.render_host(inv, h, keys), inv.profile.unit_order(h), inv.profile.target(h))


CASES = {  # inventory, host, pki -> paths it must hold, units in stop order (first ones)
    "legacy master": (seed_inventory, "azure-prd-01", FAKE_PKI,
                      ["/opt/kubernetes", "/opt/bin/kubectl", "/etc/kubernetes.env", "/root/.kube/cache",
                       "/home/core/.kube/cache", BACKUP_DIR, STAGE_DIR, LAST_RUN, ROLLED_BACK],
                      ["kubernetes.master.target", "kubernetes.controller-manager.service"]),
    "legacy node": (seed_inventory, "azure-prd-02", FAKE_PKI,
                    ["/home/core/.dockercfg", "/var/lib/kubelet/.dockercfg", "/opt/bin/register_node.sh"],
                    ["kubernetes.node.target", "kubernetes.proxy.service", "kubernetes.kubelet.service"]),
    "modern node": (modern_inventory, "azure-prd-02", FAKE_MODERN_PKI,
                    ["/opt/bin/kubelet", "/opt/bin/containerd", "/opt/bin/runc", "/opt/cni/bin/bridge"],
                    ["kubernetes.node.target"]),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_footprint(case):
    make, name, keys, paths, units = case
    fp = of(make(), name, keys)
    assert set(paths) <= set(fp.paths), sorted(set(paths) - set(fp.paths))
    assert list(fp.units[:len(units)]) == units
    assert fp.units[-1] == "kubernetes.download.service"  # started first, stopped last
    assert not set(fp.keep[len(KEEP_DIRS):]) & set(fp.paths)
    assert "/home/core" in fp.keep and "/etc/systemd/system" in fp.keep
    assert not any(p in ("/etc/systemd/system/etcd2.service", "/etc/systemd/system/weave-network.target")
                   for p in fp.paths)


def test_teardown_lists_what_is_there_and_a_bare_host_says_so():
    from kubefab.facts import UnitFact
    fp = footprint.Footprint(("t.target", "a.service", "gone.service"), ("/etc/a", "/opt/k"))
    units = {"t.target": UnitFact("enabled", "active"), "a.service": UnitFact("disabled", "failed"),
             "gone.service": UnitFact("", "inactive")}
    plan = footprint.teardown(fp, units, {"/opt/k": "folder, 3 files"})
    assert plan.steps() == ["stop and disable t.target, a.service", "remove /opt/k/ (folder, 3 files)"]
    assert plan.summary() == "stopped and disabled 2 units; removed 1 files and folders"
    assert footprint.teardown(fp, {}, {}).steps() == ["nothing of kubefab's here: no unit, file, binary or backup"]

"""Day-two tasks on the lab's real hosts, checked with the real kubectl and over SSH:
nodes.remove of a reachable and of an unreachable node, reset leaving nothing of
kubefab's (file, unit, process) and a deploy afterwards converging, logs --out. Every
test leaves the cluster converged on the lab inventory."""
import pytest

from kubefab.inventory import load
from kubefab.ops.reset import footprints

from .helpers import fab, nodes, on_host
from .test_faults import NOOP, converges

pytestmark = pytest.mark.lab

MASTER = "azure-prd-01"
# What changes on a host by itself, deployed or not: journals, systemd's own state.
NOISE = ("var/log/", "var/lib/systemd/", "var/cache/", "var/tmp/", "tmp/", "run/", "root/", "home/core/.ssh",
         "etc/.pwd.lock", "var/lib/private")


def listing(lab, name) -> set[str]:
    """What the host wrote over its image: files and links (a folder written into is
    copied up and stays there, emptied or not: the overlay's, not the host's)."""
    upper = lab.upper_dir(name)
    return {p.relative_to(upper).as_posix() for p in upper.rglob("*") if p.is_symlink() or not p.is_dir()}


@pytest.fixture(scope="module")
def before(lab):
    """Each host's own writes before this module's first deploy (a fresh lab: nothing of kubefab's)."""
    return {h.name: listing(lab, h.name) for h in load(lab.inventory_path).hosts}


@pytest.fixture(scope="module")
def inventory(lab, before):
    fab(lab.inventory_path, "deploy")
    return lab.inventory_path


def running(inventory, name) -> str:
    """kubefab's processes on a host: anything run from its install or bin folder."""
    inv = load(inventory)
    k = inv.kubernetes
    r = on_host(inventory, name, ["pgrep", "-a", "-f", f"^({k.install_dir}|{k.bin_dir})/"], check=False)
    return r.stdout.strip()


def kubefab_units(inventory, name) -> str:
    r = on_host(inventory, name, ["systemctl", "list-units", "--all", "--no-legend", "--plain", "kubernetes.*"])
    return r.stdout.strip()


def test_logs_out_writes_one_readable_file_per_host_and_unit(inventory, tmp_path):
    r = fab(inventory, "logs", "--out", str(tmp_path))
    inv = load(inventory)
    for h in inv.hosts:
        assert f"[{h.name}] " in r.stdout
        files = sorted(p.name for p in (tmp_path / h.name).iterdir())
        unit = "kubernetes.apiserver.service" if h.is_master else "kubernetes.kubelet.service"
        assert f"{unit}.log" in files, files
        assert f"Started" in (tmp_path / h.name / f"{unit}.log").read_text()
    tail = fab(inventory, "logs", "--hosts", "azure-prd-02", "--unit", "kubelet", "--since", "-1h")
    assert tail.stdout.startswith("[azure-prd-02] ") and "kubelet" in tail.stdout


def test_nodes_remove_a_reachable_node_and_deploy_brings_it_back(inventory):
    name = "azure-prd-04"
    dry = fab(inventory, "nodes.remove", name, "--dry-run")
    assert f"[{MASTER}] would drain node {name}" in dry.stdout and name in nodes(inventory)
    r = fab(inventory, "nodes.remove", name)
    assert f"remove {name} from hosts.yaml, or the next deploy brings it back" in r.stdout
    assert name not in nodes(inventory)
    assert not running(inventory, name) and not kubefab_units(inventory, name)
    back = fab(inventory, "deploy", "--hosts", name)  # a fresh host joins with deploy --hosts
    assert f"create node {name}" in back.stdout or f"[{name}]" in back.stdout
    assert name in nodes(inventory)
    converges(inventory)


def test_nodes_remove_an_unreachable_node(lab, inventory):
    name = "ded-prd-01"
    lab.stop_host(name)
    try:
        refused = fab(inventory, "nodes.remove", name, check=False)
        assert refused.returncode == 1 and "--force removes it from the cluster anyway" in refused.stdout
        assert name in nodes(inventory)
        r = fab(inventory, "nodes.remove", name, "--force")
        assert "left on the host (it did not answer): units kubernetes.node.target" in r.stdout
        assert f"`fab reset --hosts {name} --dry-run` lists them" in r.stdout  # the hint adds no --yes
        assert name not in nodes(inventory)
    finally:
        lab.start_host(name)
    fab(inventory, "reset", "--hosts", name, "--yes")  # what the recap said to do once it answers
    converges(inventory)
    assert name in nodes(inventory)


def test_reset_leaves_nothing_of_kubefab_and_a_deploy_converges(lab, inventory, before):
    inv = load(inventory)
    dry = fab(inventory, "reset", "--dry-run")
    assert "[azure-prd-02] stop and disable kubernetes.node.target" in dry.stdout
    assert "[azure-prd-02] remove /opt/kubernetes/ (folder," in dry.stdout
    assert fab(inventory, "reset", check=False).returncode == 2  # no --yes
    fab(inventory, "reset", "--yes")
    for h in inv.hosts:
        new = sorted(p for p in listing(lab, h.name) - before[h.name] if not p.startswith(NOISE))
        assert new == [], (h.name, new)
        assert not running(inventory, h.name), h.name
        assert not kubefab_units(inventory, h.name), h.name
        fp = footprints(inv, [h])[h.name]
        made = ["/var/lib/kubefab", "/etc/kubernetes", "/opt/bin", "/root/.kube", "/home/core/.kube", "/.kube",
                *fp.paths]
        left = on_host(inventory, h.name, ["ls", "-d", "--", *made], check=False).stdout.split()
        assert left == [], (h.name, left)
        state = on_host(inventory, h.name, ["systemctl", "is-active", "etcd2.service", "weave-network.target"],
                        check=False).stdout.split()
        assert state == ["active", "active"], (h.name, state)  # what was there before kubefab stays
    again = fab(inventory, "reset", "--yes")
    assert again.stdout.count("nothing of kubefab's here") == 5
    converges(inventory)

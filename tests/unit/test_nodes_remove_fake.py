"""kubefab nodes.remove on fake hosts: drain, kubefab off the host, the Node deleted, in that
order; an unreachable host stops the run unless --force, which does the cluster side
and says what stays on the host. And fab logs' units, argv and bundle."""
from dataclasses import dataclass, field

import pytest

from kubefab.ops import logs
from kubefab.ops.deploy import Deploy
from kubefab.layout import KUBELET, LOCK_DIR
from kubefab.profiles.legacy.paths import ENV_FILE
from kubefab.ops.nodes_remove import NodesRemove
from kubefab.ops.operation import Options

from fakehost import FakeCluster, recap

MASTER, NODE = "azure-prd-01", "azure-prd-02"
ALL = [MASTER, NODE, "azure-prd-03", "azure-prd-04", "ded-prd-01"]


def remove(inv, cluster, name=NODE, force=False, **opts) -> int:
    return NodesRemove(inv, inv.host(name), Options(**opts), force=force, connect=cluster.connect).run()


@dataclass
class Case:
    faults: set = field(default_factory=set)  # on NODE
    force: bool = False
    opts: dict = field(default_factory=dict)
    deleted: bool = False  # the Node is gone afterwards
    cleaned: bool = False  # nothing of kubefab's left on the host
    code: int = 0
    recap: dict = field(default_factory=dict)
    kubectl: list = field(default_factory=list)  # the kubectl verbs run on the master, in order


CASES = {
    "a reachable node": Case(deleted=True, cleaned=True, kubectl=["drain", "delete"],
                             recap={NODE: ("changed", "drained; stopped and disabled 5 units; removed ",
                                           f"deleted node {NODE}")}),
    "dry run": Case(opts={"dry_run": True}, recap={NODE: ("pending", "drain node", "delete node")}),
    "an unreachable node": Case(
        {"connect"}, code=1, recap={NODE: ("failed", "no route to host"),
                                    MASTER: ("failed", f"not touched: {NODE} did not answer; --force")}),
    "an unreachable node, --force": Case(
        {"connect"}, force=True, deleted=True, kubectl=["drain", "delete"],
        recap={NODE: ("changed", "drained", f"deleted node {NODE}", "left on the host (it did not answer): "
                      "units kubernetes.node.target, ", f"kubefab reset --hosts {NODE} --dry-run")}),
    "an unreachable node, --force, dry run": Case(
        {"connect"}, force=True, opts={"dry_run": True}, recap={NODE: ("pending", "drain node", "left on the host")}),
    "a host whose files cannot go": Case(
        {"read-only"}, code=1, kubectl=["drain"], recap={NODE: ("failed", "reset incomplete")}),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_nodes_remove(inv, cluster, case, capsys):
    assert Deploy(inv, list(inv.hosts), Options(), connect=cluster.connect).run() == 0
    log = len(cluster[MASTER].log)
    cluster[NODE].faults |= case.faults
    capsys.readouterr()

    code = remove(inv, cluster, force=case.force, **case.opts)
    out = capsys.readouterr().out

    assert code == case.code, out
    rows = recap(out)
    for host, want in case.recap.items():
        status, *texts = want
        assert rows[host][0] == status and all(t in rows[host][1] for t in texts), (host, rows[host])
    assert (NODE not in cluster.api.nodes) == case.deleted
    assert (ENV_FILE not in cluster[NODE].files) == case.cleaned
    # remove.sh stops the units before it removes a path: on a read-only file system they stop, the files stay
    stopped = case.cleaned or "read-only" in case.faults
    assert (cluster[NODE].unit(KUBELET).active != "active") == stopped or "connect" in case.faults
    verbs = [c.argv[3] for c in cluster[MASTER].log[log:] if c.what == "kubectl" and c.argv[3] != "get"]
    assert verbs == case.kubectl
    assert all(n in cluster.api.nodes for n in ALL[2:]), "the other nodes stay"
    assert not any(f"{LOCK_DIR}/holder" in m.files for m in cluster.machines.values())
    if case.deleted and not case.opts:
        assert f"remove {NODE} from hosts.yaml, or the next deploy brings it back" in out


def test_a_node_not_in_the_cluster_is_only_taken_off_its_host(inv, cluster, capsys):
    assert Deploy(inv, list(inv.hosts), Options(), connect=cluster.connect).run() == 0
    assert remove(inv, cluster) == 0
    capsys.readouterr()
    assert remove(inv, cluster) == 0
    out = capsys.readouterr().out
    assert f"node {NODE} is not in the cluster" in out and recap(out)[NODE][0] == "unchanged"


def test_logs_units_short_names_and_argv(inv):
    node, master = inv.host(NODE), inv.master
    assert logs.units(inv, node, ["kubelet"]) == (KUBELET,)
    assert logs.units(inv, master, ["kubelet"]) == ()
    assert logs.units(inv, master)[0] == "kubernetes.master.target"
    assert logs.known(inv, [node, master], ["kubelet", "apiserver", "etcd"]) == ["etcd"]
    assert logs.journal_argv([KUBELET], "-1h") == ["journalctl", "--no-pager", "-o", "short-iso",
                                                   "-u", KUBELET, "--since", "-1h"]


def test_logs_bundle_writes_one_file_per_host_and_unit(inv, cluster, tmp_path):
    assert Deploy(inv, list(inv.hosts), Options(), connect=cluster.connect).run() == 0
    cxn = cluster.connect(inv.host(NODE)).open()
    written = logs.bundle(cxn, logs.units(inv, inv.host(NODE)), None, tmp_path)
    assert sorted(p.name for p in written) == sorted(f"{u}.log" for u in logs.units(inv, inv.host(NODE)))
    assert f"Started {KUBELET}." in (tmp_path / NODE / f"{KUBELET}.log").read_text()

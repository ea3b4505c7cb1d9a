"""master.restart and nodes.register on fake hosts: the same shape as deploy (facts,
plan, show, apply, verify; --dry-run), the same restart order and the same test of a
node as wanted."""
import pytest

from kubefab.ops.deploy import Deploy
from kubefab.inventory import load
from kubefab.profiles.legacy.render import MASTER_UNITS
from kubefab.layout import APISERVER, LOCK_DIR
from kubefab.ops.master_restart import MasterRestart
from kubefab.ops.nodes_register import NodesRegister
from kubefab.ops.operation import Options

from fakehost import FakeCluster, recap
from test_deploy_fake import variant

MASTER, NODE, OTHER = "azure-prd-01", "azure-prd-02", "ded-prd-01"
NODES = [NODE, "azure-prd-03", "azure-prd-04", OTHER]


@pytest.fixture
def converged(inv, capsys):
    cluster = FakeCluster(inv)
    assert Deploy(inv, list(inv.hosts), Options(), connect=cluster.connect).run() == 0
    capsys.readouterr()
    return cluster


def restart(inv, cluster, **opts) -> int:
    return MasterRestart(inv, Options(**opts), connect=cluster.connect).run()


def register(inv, cluster, labels=None, hosts=None, **opts) -> int:
    nodes = [h for h in inv.hosts if hosts is None or h.name in hosts]
    return NodesRegister(inv, nodes, labels or {}, Options(**opts), connect=cluster.connect).run()


def master_sequence(machine, since: int) -> list[str]:
    """The master's restarts and health checks, in order, from its command log."""
    out = []
    for call in machine.log[since:]:
        if call.argv[:2] == ("systemctl", "restart"):
            out.append(call.argv[2])
        elif call.what == "curl" and (not out or out[-1] != "/healthz"):
            out.append("/healthz")
    return out


def new_release(inv):
    path = inv.path.parent / "hosts-release.yaml"
    path.write_text(inv.path.read_text().replace("v1.0.1/kubernetes.tar.gz", "v1.0.1/kubernetes-2.tar.gz"))
    return load(path)


@pytest.mark.parametrize("operation", ["master.restart", "deploy of a new release"])
def test_the_apiserver_restarts_first_is_waited_for_then_the_rest(inv, converged, operation):
    """One order for both: steps.activate."""
    since = len(converged[MASTER].log)
    if operation == "master.restart":
        assert restart(inv, converged) == 0
    else:
        changed = new_release(inv)
        assert Deploy(changed, [changed.master], Options(), connect=converged.connect).run() == 0
    sequence = [u for u in master_sequence(converged[MASTER], since) if u != "kubernetes.download.service"]
    assert sequence == [APISERVER, "/healthz", *MASTER_UNITS[1:]]


def test_master_restart_restarts_each_unit_once_and_verifies(inv, converged, capsys):
    before = converged[MASTER].starts()
    assert restart(inv, converged) == 0
    out = capsys.readouterr().out
    after = converged[MASTER].starts()
    assert {u: after[u] - before[u] for u in after if after[u] != before[u]} == dict.fromkeys(MASTER_UNITS, 1)
    assert f"[{MASTER}] {APISERVER} restarted, apiserver ok (https://10.1.0.1:6443, TLS, client certificate)" in out
    assert f"[{MASTER}] verified: {', '.join(MASTER_UNITS)} active" in out
    assert recap(out) == {MASTER: ("changed", "; ".join(f"restarted {u}" for u in MASTER_UNITS))}
    assert LOCK_DIR not in converged[MASTER].dirs


def test_master_restart_dry_run_shows_the_order_and_restarts_nothing(inv, converged, capsys):
    before, since = converged[MASTER].starts(), len(converged[MASTER].log)
    assert restart(inv, converged, dry_run=True) == 0
    out = capsys.readouterr().out
    assert f"[{MASTER}] restart {APISERVER}, wait for https://10.1.0.1:6443/healthz\n" in out
    assert f"[{MASTER}] restart {MASTER_UNITS[2]}\n" in out
    assert converged[MASTER].starts() == before
    assert [c.what for c in converged[MASTER].log[since:]] == ["probe"]


def test_master_restart_stops_when_the_apiserver_never_gets_healthy(inv, converged, capsys):
    before = converged[MASTER].starts()
    converged[MASTER].faults.add("healthz")
    assert restart(inv, converged, timeout=0) == 1
    rows = recap(capsys.readouterr().out)
    assert rows[MASTER][0] == "failed" and "not healthy after 0s" in rows[MASTER][1]
    assert "etcd cluster is unavailable" in rows[MASTER][1]  # the apiserver's journal
    after = converged[MASTER].starts()
    assert {u: after[u] - before[u] for u in after if after[u] != before[u]} == {APISERVER: 1}
    assert LOCK_DIR not in converged[MASTER].dirs


def test_master_restart_before_any_deploy_says_so(inv, capsys):
    cluster = FakeCluster(inv)
    assert restart(inv, cluster) == 1
    rows = recap(capsys.readouterr().out)
    assert rows[MASTER] == ("failed", f"{', '.join(MASTER_UNITS)} not installed; run kubefab deploy first")
    assert cluster[MASTER].starts() == {}


def test_nodes_register_labels_every_node_then_changes_nothing(inv, converged, capsys):
    assert register(inv, converged, {"tier": "gold"}) == 0
    out = capsys.readouterr().out
    assert f"[{MASTER}] label node {NODE} tier=gold" in out
    assert recap(out) == {n: ("changed", "labelled tier=gold; recorded operator's labels: tier") for n in NODES}
    assert all(converged.api.nodes[n]["tier"] == "gold" for n in NODES)
    assert LOCK_DIR not in converged[MASTER].dirs
    since = len(converged[MASTER].log)
    assert register(inv, converged, {"tier": "gold"}) == 0
    out = capsys.readouterr().out
    assert f"[{MASTER}] no changes: every node registered with its labels" in out
    assert recap(out) == {n: ("unchanged", "") for n in NODES}
    assert [c.what for c in converged[MASTER].log[since:]] == ["probe"]  # verified from the probe


def test_nodes_register_dry_run_runs_no_kubectl_that_changes(inv, converged, capsys):
    del converged.api.nodes[OTHER]
    assert register(inv, converged, {"tier": "gold"}, dry_run=True) == 0
    out = capsys.readouterr().out
    assert f"[{MASTER}] would create node {OTHER}" in out and f"[{MASTER}] would label node {NODE} tier=gold" in out
    assert OTHER not in converged.api.nodes and "tier" not in converged.api.nodes[NODE]


def test_nodes_register_recreates_a_deleted_node(inv, converged, capsys):
    del converged.api.nodes[OTHER]
    assert register(inv, converged, hosts=[OTHER]) == 0
    assert recap(capsys.readouterr().out) == {OTHER: ("changed", "registered")}
    assert converged.api.nodes[OTHER] == inv.node_labels(inv.host(OTHER))


def test_nodes_register_names_the_node_that_is_not_ready(inv, converged, capsys):
    converged[OTHER].faults.add("not-ready")
    assert register(inv, converged, timeout=0) == 1
    out = capsys.readouterr().out
    rows = recap(out)
    assert rows[OTHER][0] == "failed" and rows[OTHER][1].startswith("registered, not Ready after 0s")
    assert all(rows[n][0] == "unchanged" for n in NODES if n != OTHER)
    assert f"Re-run just the failed hosts: kubefab nodes.register --hosts {OTHER}" in out


def test_nodes_register_with_the_apiserver_down_fails_every_node_with_why(inv, converged, capsys):
    converged[MASTER].units[APISERVER].active = "failed"
    assert register(inv, converged) == 1
    rows = recap(capsys.readouterr().out)
    assert set(rows) == set(NODES)
    assert all(r == ("failed", f"not verified: {MASTER} failed: /opt/bin/kubectl -s http://127.0.0.1:8080 ... failed: "
                               "The connection to the server 127.0.0.1:8080 was refused") for r in rows.values())


def test_nodes_register_for_no_node_does_nothing(inv, converged, capsys):
    """--hosts naming only the master selects no node: an empty list is no host."""
    since = len(converged[MASTER].log)
    assert register(inv, converged, {"tier": "gold"}, hosts=[MASTER]) == 0
    assert recap(capsys.readouterr().out) == {}
    assert [c.what for c in converged[MASTER].log[since:]] == ["probe"]
    assert not any("tier" in labels for labels in converged.api.nodes.values())


def test_a_label_dropped_from_hosts_yaml_is_removed_one_set_by_hand_or_register_stays(inv, converged, capsys):
    converged.api.nodes[NODE]["team"] = "x"  # kubectl label by hand: never kubefab's
    assert register(inv, converged, {"tier": "gold"}, hosts=[NODE]) == 0
    capsys.readouterr()
    dropped = variant(inv, ", workload: high-available}", "}")
    azure = [NODE, "azure-prd-03", "azure-prd-04"]
    kept = "label tier=gold on node azure-prd-02 was set by nodes.register and is not in hosts.yaml"

    assert Deploy(dropped, list(dropped.hosts), Options(dry_run=True), connect=converged.connect).run() == 0
    out = capsys.readouterr().out
    for n in azure:
        assert f"[{MASTER}] label node {n} workload- (no longer in hosts.yaml)" in out
        assert converged.api.nodes[n]["workload"] == "high-available"  # a dry run changes nothing
    assert out.count(kept) == 1

    assert Deploy(dropped, list(dropped.hosts), Options(), connect=converged.connect).run() == 0
    out = capsys.readouterr().out
    assert all("workload" not in converged.api.nodes[n] for n in azure)
    assert converged.api.nodes[OTHER]["workload"] == "processing-intensive"
    assert {"team": "x", "tier": "gold"}.items() <= converged.api.nodes[NODE].items()
    assert out.count(kept) == 1
    assert Deploy(dropped, list(dropped.hosts), Options(), connect=converged.connect).run() == 0
    assert recap(capsys.readouterr().out) == {n: ("unchanged", "") for n in [MASTER, *NODES]}

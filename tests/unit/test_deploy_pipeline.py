"""fab deploy as a pipeline (fake hosts): the master starts as soon as its own files and
release are in place, without waiting for the nodes' downloads; a node starts once the
apiserver is healthy and its own download is done; a pool smaller than the fleet (the
master anywhere in the targets) still finishes. Orders are read from the fake's timeline,
never from a clock."""
import threading

import pytest

from kubefab.ops.deploy import Deploy, Options
from kubefab.layout import APISERVER, DOWNLOAD

from fakehost import recap
from test_deploy_fake import ALL, MASTER, NODE, ONE_FLAG, OTHER, variant

NODES = [h for h in ALL if h != MASTER]


def run(inv, cluster, targets=None, **opts) -> int:
    """Deploy in a thread, given a minute: a run that deadlocks is stopped (as by Ctrl-C)
    and fails the test instead of hanging it."""
    op = Deploy(inv, targets or list(inv.hosts), Options(**opts), connect=cluster.connect)
    code = []
    t = threading.Thread(target=lambda: code.append(op.run()), daemon=True)
    t.start()
    t.join(60)
    if t.is_alive():
        op.fleet.cancel.set()
        t.join(10)
        pytest.fail("deploy did not finish within 60 s: a deadlock?")
    return code[0]


def first(timeline, host, what) -> int:
    return timeline.index((host, what))


def node_starts(timeline) -> dict[str, int]:
    """Each node's first unit start."""
    return {h: next(i for i, (n, w) in enumerate(timeline) if n == h and w.startswith("start ")
                    and w != f"start {DOWNLOAD}") for h in NODES}


def test_the_master_starts_while_a_node_still_downloads(inv, cluster, capsys):
    cluster[OTHER].faults.add("download-slow")  # ends once the apiserver runs (or after 5 looks)
    assert run(inv, cluster) == 0
    t = cluster.timeline
    assert first(t, MASTER, f"start {APISERVER}") < first(t, OTHER, "downloaded"), t
    assert first(t, OTHER, "downloaded") < node_starts(t)[OTHER]  # its own download first
    rows = recap(capsys.readouterr().out)
    assert all(rows[h][0] == "changed" for h in ALL), rows


def test_no_node_starts_before_the_apiserver_is_healthy(inv, cluster, capsys):
    cluster[MASTER].faults.add("download-slow")  # the nodes' downloads end first: they wait
    assert run(inv, cluster) == 0
    t = cluster.timeline
    healthy = first(t, MASTER, "healthz ok")
    assert first(t, MASTER, "downloaded") < first(t, MASTER, f"start {APISERVER}") < healthy
    assert all(i > healthy for i in node_starts(t).values()), t


@pytest.mark.parametrize("parallel", [1, 2])
@pytest.mark.parametrize("master_last", [False, True])
def test_a_pool_smaller_than_the_fleet_finishes(inv, cluster, capsys, parallel, master_last):
    """Nodes waiting for the apiserver never hold the worker the master needs, wherever
    the master is in the targets."""
    targets = list(reversed(inv.hosts)) if master_last else list(inv.hosts)
    assert run(inv, cluster, targets, parallel=parallel) == 0
    rows = recap(capsys.readouterr().out)
    assert all(rows[h][0] == "changed" for h in ALL), rows
    assert all(i > first(cluster.timeline, MASTER, "healthz ok") for i in node_starts(cluster.timeline).values())


def test_a_node_back_from_the_gate_starts_before_the_next_node_begins(inv, cluster, capsys):
    """--parallel 1: the master first, then each node writes and downloads, finds the gate
    open and keeps its slot: it starts before the next node's download. Before, it gave
    the slot back and lined up behind every node not yet begun, so the first nodes to be
    ready were the last to start. (A node that did wait goes first once the gate opens:
    test_fleet.)"""
    assert run(inv, cluster, parallel=1) == 0
    t = cluster.timeline
    starts = node_starts(t)
    for node, after in zip(NODES, NODES[1:]):
        assert starts[node] < first(t, after, f"start {DOWNLOAD}"), t
    rows = recap(capsys.readouterr().out)
    assert all(rows[h][0] == "changed" for h in ALL), rows


def test_a_node_whose_master_fails_early_is_not_started(inv, cluster, capsys):
    cluster[MASTER].faults.add("download")  # its release never arrives: no apiserver
    cluster[NODE].faults.add("download-slow")
    assert run(inv, cluster) == 1
    rows = recap(capsys.readouterr().out)
    assert rows[MASTER][0] == "failed" and f"{DOWNLOAD} failed" in rows[MASTER][1]
    for h in NODES:
        assert rows[h][0] == "failed" and rows[h][1].startswith("not started: the master failed"), rows[h]
        assert "installed the release" in rows[h][1]  # its own download still ran
    assert not any(n != MASTER and w.startswith("start ") and w != f"start {DOWNLOAD}" for n, w in cluster.timeline)


def test_a_node_with_nothing_to_start_does_not_wait_for_a_failed_master(inv, cluster, capsys):
    assert run(inv, cluster) == 0
    cluster[MASTER].faults.add("healthz")
    capsys.readouterr()
    assert run(variant(inv, *ONE_FLAG), cluster, timeout=0) == 1  # the master's change only
    rows = recap(capsys.readouterr().out)
    assert all(rows[h] == ("failed", "not registered: the master failed") for h in NODES), rows


def test_nodes_at_the_gate_give_their_pool_slots_back(inv, cluster, capsys):
    """--parallel 2, master and four nodes, an apiserver healthy only once every node's
    download has started: the nodes waiting for it hold no slot, so the others still
    write and download (before: the first node held the second slot at the gate, the
    other three could not start, and the master never got healthy)."""
    healthz = cluster.api.healthz

    def once_every_node_downloads(machine, url):
        started = {h for h, what in cluster.timeline if what == f"start {DOWNLOAD}"}
        if not set(NODES) <= started:
            return 7, "", "curl: (7) Failed to connect to 127.0.0.1 port 8080: Connection refused\n"
        return healthz(machine, url)
    cluster.api.healthz = once_every_node_downloads
    assert run(inv, cluster, parallel=2, timeout=15) == 0  # the timeout only bounds the old hang
    t = cluster.timeline
    healthy = first(t, MASTER, "healthz ok")  # the master opens the gate right after it
    assert all(first(t, h, f"start {DOWNLOAD}") < healthy < node_starts(t)[h] for h in NODES), t
    rows = recap(capsys.readouterr().out)
    assert all(rows[h][0] == "changed" for h in ALL), rows


def test_the_nodes_wait_for_the_masters_decision_not_a_clock_of_their_own(inv, cluster, capsys):
    """Every step of the master's path is bounded (its apiserver's wait by --timeout,
    systemctl by systemd, each command by SSH's), and it opens or fails the gate: the
    nodes wait for that, however long it takes. Before, they gave up on a clock of their
    own (--timeout + 30 s from the master's download): seen in CI at 45 s with the master
    still on its way, the nodes "not started" though it came up."""
    cluster[MASTER].faults.add("start-slow")  # its apiserver's start takes longer than --timeout
    assert run(inv, cluster, timeout=1) == 0
    t = cluster.timeline
    assert all(i > first(t, MASTER, "healthz ok") for i in node_starts(t).values()), t
    rows = recap(capsys.readouterr().out)
    assert all(rows[h][0] == "changed" for h in ALL), rows

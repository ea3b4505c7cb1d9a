"""What a deploy costs on each host, counted on fake hosts: round trips (commands over
its connection, a batch of scripts being one) and systemd reloads. A reload happens
only where systemd needs one (a unit file it had loaded was rewritten); a new unit file
is read when first used."""
import threading
from collections import Counter

import pytest

from fakehost import Counting, FakeCluster, Machine
from kubefab import layout
from kubefab.ops.deploy import Deploy, Options
from kubefab.remote.transport import RemoteError
from test_deploy_fake import MASTER, NODE, ONE_FLAG, variant

# probe, lock, (marks, files, enable, download started and followed to its end), (after the
# master's gate: the files that name the master, enable, start + marks), unlock
FRESH_NODE = 5


@pytest.fixture
def reloads(monkeypatch):
    """host -> daemon-reloads systemd did."""
    seen, systemctl = Counter(), Machine.systemctl

    def counted(machine, args, sudo):
        if args[:1] == ["daemon-reload"]:
            seen[machine.host.name] += 1
        return systemctl(machine, args, sudo)
    monkeypatch.setattr(Machine, "systemctl", counted)
    return seen


def deploy(inv, cluster) -> Counter:
    counting = Counting(cluster)
    assert Deploy(inv, list(inv.hosts), Options(), connect=counting).run() == 0
    return counting.trips


def test_a_fresh_node_takes_five_round_trips_and_a_no_op_one_per_host(inv, cluster, capsys):
    fresh = deploy(inv, cluster)
    assert {h: n for h, n in fresh.items() if h != MASTER} == dict.fromkeys(fresh.keys() - {MASTER}, FRESH_NODE)
    assert deploy(inv, cluster) == dict.fromkeys(fresh, 1)  # the probe, the master's nodes in it


def test_fresh_hosts_need_no_reload_and_a_rewritten_unit_file_one(inv, cluster, reloads, capsys):
    deploy(inv, cluster)
    assert reloads == {}  # every unit file was new to systemd
    assert cluster[NODE].unit(layout.KUBELET).active == "active"
    changed = variant(inv, *ONE_FLAG)  # the apiserver's flags: in its unit file
    deploy(changed, cluster)
    assert reloads == {MASTER: 1}
    assert cluster[MASTER].unit(layout.APISERVER).ran == cluster[MASTER].unit_file(layout.APISERVER)
    assert deploy(changed, cluster) == dict.fromkeys((h.name for h in inv.hosts), 1)  # a no-op after it
    assert reloads == {MASTER: 1}


def test_a_unit_enabled_again_is_seen_enabled_after_the_run(inv, cluster, reloads, capsys):
    """systemd keeps the UnitFileState of a unit it holds until a reload: enabling one
    (disabled by hand) reloads once, and the next run is a no-op."""
    deploy(inv, cluster)
    cluster[NODE].units[layout.PROXY].enabled = False  # `systemctl disable` by hand (which reloads)
    deploy(inv, cluster)
    assert reloads == {NODE: 1}
    assert deploy(inv, cluster) == dict.fromkeys((h.name for h in inv.hosts), 1)


def test_a_hosts_probe_waits_for_no_other_hosts_connection(inv, cluster, capsys):
    """Deploy probes each host as soon as its own connection opens: here the last node's
    connection opens only once the master was probed (within 2 s, else it fails), which
    never happened while every probe waited for the slowest connection."""
    deploy(inv, cluster)
    master_probed, last = threading.Event(), inv.hosts[-1].name

    def connect(host):
        cxn = cluster.connect(host)
        run, open_ = cxn.run, cxn.open

        def probed(argv, **kwargs):
            master_probed.set()
            return run(argv, **kwargs)

        def late():
            if not master_probed.wait(2):
                raise RemoteError(f"{host.name}: opened only after the master's probe")
            return open_()
        if host.name == MASTER:
            cxn.run = probed
        if host.name == last:
            cxn.open = late
        return cxn

    assert Deploy(inv, list(inv.hosts), Options(), connect=connect).run() == 0, capsys.readouterr().out

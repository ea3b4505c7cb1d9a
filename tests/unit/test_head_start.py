"""A deploy begins its hosts' connections once the inventory is read and its flags
checked (kubefab.remote.headstart), so that the handshakes overlap the operation's
imports and the rendering of every host's files; the run's Fleet takes them."""
import copy
import threading

import pytest

import kubefab.remote.ssh
from kubefab import cli, render
from kubefab.model import Host
from kubefab.remote.headstart import HeadStart
from kubefab.remote.transport import RemoteError


def fake_ssh(cluster, opened: threading.Event):
    """ssh() as kubefab.remote.ssh makes it, over the fake cluster: each open sets `opened`."""
    def connect(host):
        cxn = cluster.connect(host)
        open_ = cxn.open

        def counted():
            opened.set()
            return open_()
        cxn.open = counted
        return cxn
    return lambda **kwargs: connect


def deploy(inv, *args) -> int:
    program = copy.copy(cli.program)  # a Program runs once: a fresh one, as a process has
    program.namespace = copy.deepcopy(cli.program.namespace)
    try:
        program.run(["kubefab", "deploy", "--inventory", str(inv.path), *args])
    except SystemExit as e:
        return e.code or 0
    return 0


def test_a_deploy_connects_while_it_renders(inv, cluster, monkeypatch, capsys):
    """Rendering waits (10 s at most: a loaded machine is slow; it once took more than 2)
    for a connection to have opened: it never had before, the connections began after
    every host's files were rendered."""
    opened, seen = threading.Event(), []
    monkeypatch.setattr(kubefab.remote.ssh, "ssh", fake_ssh(cluster, opened))
    rendered = render.render_host

    def rendering(*args, **kwargs):
        seen.append(opened.wait(10))
        return rendered(*args, **kwargs)
    monkeypatch.setattr(render, "render_host", rendering)
    assert deploy(inv, "--dry-run") == 0, capsys.readouterr()
    assert seen and all(seen)


def test_a_connection_begun_is_the_fleets_and_one_never_taken_is_closed(inv, cluster):
    opened = threading.Event()
    connect = fake_ssh(cluster, opened)()
    master, node, other = inv.hosts[0], inv.hosts[1], inv.hosts[2]
    head = HeadStart([master, node], connect, 10)
    taken = head(master).open()
    assert taken.connected and taken.host == master  # the started one, its handshake awaited
    assert head(other).connected is False  # not begun: made as ever, opened by the Fleet
    head.close()
    assert head.started[node.name].cxn.connected is False  # never taken: closed


def test_a_failed_connection_fails_where_the_fleet_opens_it(inv, cluster):
    cluster[inv.hosts[0].name].faults.add("connect")
    head = HeadStart([inv.hosts[0]], cluster.connect, 10)
    with pytest.raises(RemoteError, match="no route to host"):
        head(inv.hosts[0]).open()
    head.close()


def test_at_most_parallel_connections_are_begun_at_once(inv, cluster):
    """--parallel bounds the handshakes a head start makes at once, as it bounds the Fleet's."""
    at_once, most, lock = [0], [0], threading.Lock()

    def connect(host):
        cxn = cluster.connect(host)
        open_ = cxn.open

        def counted():
            with lock:
                at_once[0] += 1
                most[0] = max(most[0], at_once[0])
            threading.Event().wait(0.05)  # a handshake's time, long enough to overlap the others'
            with lock:
                at_once[0] -= 1
            return open_()
        cxn.open = counted
        return cxn
    head = HeadStart(inv.hosts, connect, 2)
    for host in inv.hosts:
        head(host).open()
    head.close()
    assert len(inv.hosts) > 2 and most[0] == 2

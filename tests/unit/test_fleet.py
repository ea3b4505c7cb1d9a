"""Fleet: hosts=None is every host, an empty list is no host; a failure stays with its host."""
from fakehost import FakeCluster
from kubefab.remote.fleet import Fleet
from kubefab.remote.transport import RemoteError


def test_none_is_every_host_and_an_empty_list_is_none(inv):
    cluster = FakeCluster(inv)
    with Fleet(list(inv.hosts), connect=cluster.connect) as fleet:
        assert set(fleet.each(lambda cxn: cxn.host.name)) == {h.name for h in inv.hosts}
        assert fleet.each(lambda cxn: 1 / 0, []) == {} and not fleet.failed
        assert fleet.ok([]) == [] and fleet.ok() == list(inv.hosts)


def test_a_failing_host_keeps_its_first_reason_and_leaves_later_steps(inv):
    cluster = FakeCluster(inv)
    node = inv.nodes[0]

    def step(cxn, why="first"):
        if cxn.host == node:
            raise RemoteError(why)
        return "ok"
    with Fleet(list(inv.hosts), connect=cluster.connect) as fleet:
        assert node.name not in fleet.each(step)
        fleet.each(lambda cxn: step(cxn, "second"), [node], even_failed=True)
        assert fleet.failed == {node.name: "first"}
        assert node not in fleet.ok() and node.name not in fleet.each(lambda cxn: "again")


def test_a_host_that_dies_lets_the_others_finish_their_step_before_it_is_raised(inv):
    """Every host finishes before anyone judges, even when one host's step raises what
    is no Exception (the fake's SIGKILL): otherwise the other hosts' steps run on behind
    the caller's back (a flaky test of a killed run saw exactly that)."""
    import threading
    import time

    import pytest

    class Died(BaseException):
        pass

    cluster = FakeCluster(inv)
    first, others = inv.hosts[0], inv.hosts[1:]
    raised, finished = threading.Event(), []

    def step(cxn):
        if cxn.host == first:
            raised.set()
            raise Died()
        raised.wait(5)
        time.sleep(0.2)  # still busy when the first host's exception reaches each()
        finished.append(cxn.host.name)
    for parallel in (10, 2):  # 2: some hosts still queued when the first one dies
        raised.clear()
        finished.clear()
        with Fleet(list(inv.hosts), parallel=parallel, connect=cluster.connect) as fleet:
            with pytest.raises(Died):
                fleet.each(step)
            assert sorted(finished) == sorted(h.name for h in others), parallel


def test_parallel_bounds_the_hosts_at_work_not_those_that_wait(inv):
    """parallel=2: never more than two hosts run commands at once; a host inside
    fleet.idle() holds no slot, so every host gets in while the first ones wait there
    (as deploy's nodes wait for the apiserver). The Event's timeout only guards a hang."""
    import threading
    import time

    cluster = FakeCluster(inv)
    lock, everyone_in = threading.Lock(), threading.Event()
    at_work, most, arrived = [0], [0], set()

    def working(delta):
        with lock:
            at_work[0] += delta
            most[0] = max(most[0], at_work[0])

    def step(cxn):
        working(+1)
        time.sleep(0.01)  # busy for a moment: room for a third host to slip in if it could
        with lock:
            arrived.add(cxn.host.name)
            if len(arrived) == len(inv.hosts):
                everyone_in.set()
        working(-1)
        with fleet.idle():
            assert everyone_in.wait(10), "a host waiting in idle() held its slot"
        working(+1)
        time.sleep(0.01)
        working(-1)
        return cxn.host.name
    with Fleet(list(inv.hosts), parallel=2, connect=cluster.connect) as fleet:
        assert set(fleet.each(step)) == {h.name for h in inv.hosts} and not fleet.failed
    assert most[0] <= 2, most[0]


def test_a_host_back_from_idle_goes_before_hosts_not_yet_begun(inv, monkeypatch):
    """parallel=1: the first host lends its slot while it waits (inside idle()); the second
    ends its wait and works on; once it is done, the slot goes to the first (its work is
    half done), not to the third, which has not begun. Before, the first lined up behind
    every host not yet begun. The Events' timeouts only guard a hang."""
    import threading

    from kubefab.remote import fleet as fleet_module

    cluster = FakeCluster(inv)
    first, second, third = inv.hosts[:3]
    waited, back_in_line, order = threading.Event(), threading.Event(), []
    line_up = fleet_module.Slots.line_up

    def spied(slots, *args, **kwargs):  # the lines-up after the wait ended: the first host's
        turn = line_up(slots, *args, **kwargs)
        if waited.is_set():
            back_in_line.set()
        return turn
    monkeypatch.setattr(fleet_module.Slots, "line_up", spied)

    def step(cxn):
        order.append(cxn.host.name)
        if cxn.host == first:
            with fleet.idle():
                assert waited.wait(10)
            order.append(f"{cxn.host.name} again")
        elif cxn.host == second:
            waited.set()
            assert back_in_line.wait(10), "the first host did not line up again"
    with Fleet([first, second, third], parallel=1, connect=cluster.connect) as fleet:
        fleet.each(step)
    assert not fleet.failed
    assert order == [first.name, second.name, f"{first.name} again", third.name]


def test_a_runs_steps_reuse_the_threads_its_connections_were_made_in(inv, monkeypatch):
    """One pool a run: the threads that opened the hosts' connections do their later
    steps too, made once (each one's start waits for the GIL behind busy threads)."""
    import threading
    cluster = FakeCluster(inv)
    started = []
    start = threading.Thread.start
    monkeypatch.setattr(threading.Thread, "start", lambda self: started.append(self.name) or start(self))
    with Fleet(list(inv.hosts), connect=cluster.connect, parallel=len(inv.hosts)) as fleet:
        for _ in range(3):
            assert set(fleet.each(lambda cxn: cxn.host.name)) == {h.name for h in inv.hosts}
        nested = fleet.each(lambda cxn: fleet.each(lambda inner: 1, [inv.master]))  # each() in a step: no wait
        assert set(nested) == {h.name for h in inv.hosts}
    assert len(started) <= 2 * len(inv.hosts)  # the open and the three steps were 4 threads a host

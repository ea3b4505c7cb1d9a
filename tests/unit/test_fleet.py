"""Fleet: hosts=None is every host, an empty list is no host; a failure stays with its host."""
from fakehost import FakeCluster
from kubefab.fleet import Fleet
from kubefab.transport import RemoteError


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

"""Registration's kubectl commands on the master (kubefab.ops.steps.run_commands): each node's
commands in their order, different nodes' (and the create of the missing ones) at the
same time, every node's run even when one fails, and the first failure raised."""
import threading

import pytest

from kubefab import registration as reg
from kubefab.ops import steps
from fakehost import host_run
from tests.unit.test_render import seed_inventory
from kubefab.remote.transport import RemoteError, Result


class Master:
    """A connection that records each command; the first `together` return only once all
    of them are in (a barrier with a hang guard): commands run one after the other never meet."""

    def __init__(self, together=1, failing=()):
        self.ran, self.lock, self.failing = [], threading.Lock(), set(failing)
        self.barrier = threading.Barrier(together, timeout=5)
        self.met = True

    def run(self, argv, *, sudo=False, stdin=None, check=True, timeout=300, cancel=None):
        with self.lock:
            self.ran.append(" ".join(argv))
            first = len(self.ran) <= self.barrier.parties
        if first:  # the first `together` commands wait for each other
            try:
                self.barrier.wait()
            except threading.BrokenBarrierError:
                self.met = False
        code = 1 if " ".join(argv) in self.failing else 0
        return Result(" ".join(argv), code, "", "Error from server (Forbidden)\n" if code else "", "core")


def cmds():
    create = reg.Command(["kubectl", "create", "-f", "-"], b"{}", "create node d, e", ("d", "e"))
    out = [create]
    for n in ("a", "b", "c"):
        out += [reg.Command(["kubectl", "label", n], says=f"label node {n}", nodes=(n,)),
                reg.Command(["kubectl", "annotate", n], says=f"record on node {n}", nodes=(n,))]
    return out


def test_the_nodes_commands_run_at_once_each_nodes_in_order():
    master = Master(together=4)
    steps.run_commands(host_run(master, seed_inventory()), cmds())
    assert master.met, master.ran  # the create and the three nodes' labels met at the barrier
    for n in ("a", "b", "c"):
        assert master.ran.index(f"kubectl label {n}") < master.ran.index(f"kubectl annotate {n}")
    assert len(master.ran) == 7


def test_every_nodes_commands_run_and_the_first_failure_is_raised():
    master = Master(failing={"kubectl label b"})
    with pytest.raises(RemoteError, match="label node b: .*Forbidden"):
        steps.run_commands(host_run(master, seed_inventory()), cmds())
    assert "kubectl annotate a" in master.ran and "kubectl annotate c" in master.ran
    assert "kubectl annotate b" not in master.ran  # b's record waits for its label

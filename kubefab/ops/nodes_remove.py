"""kubefab nodes.remove NAME, as its steps, in this order so the node cannot come back
behind our back: the master and the node looked at; the node drained (kubectl on the
master); kubefab taken off the host (kubefab.ops.reset: its kubelet would register the
Node again); the Node deleted; then checked gone. A host that does not answer stops the
run before anything changes; with --force the cluster side is done anyway and the recap
says what stays on the host."""
from __future__ import annotations

from dataclasses import replace

from kubefab import identity, registration, rollout
from kubefab.footprint import Teardown
from kubefab.layout import CLUSTER_FILE
from kubefab.model import Host, Inventory
from kubefab.ops.host import HostRun
from kubefab.ops.operation import Operation, Options, Step
from kubefab.ops.reset import footprints, gather, take_off
from kubefab.ops.steps import get_nodes
from kubefab.remote import hostfiles
from kubefab.remote.transport import Connect, RemoteError
from kubefab.report import program, say


def drain_argv(kubectl: list[str], name: str, timeout: float) -> list[str]:
    """Cordon, then evict its pods, bounded by the run's timeout: upgrade's drain, with a
    current kubectl's flags."""
    return rollout.drain(kubectl, name, None, timeout).argv


def delete_argv(kubectl: list[str], name: str) -> list[str]:
    return [*kubectl, "delete", "node", name]


class NodesRemove(Operation):
    task = "nodes.remove"
    takes_hosts = False

    def __init__(self, inv: Inventory, node: Host, opts: Options, force: bool = False,
                 connect: Connect | None = None):
        super().__init__(inv, [inv.master, node], opts, connect)
        self.node, self.force = node, force
        self.footprint = footprints(inv, [node])[node.name]
        self.unreachable: str | None = None  # why the host did not answer, with --force
        self.registered = False  # the Node is in the cluster: drain and delete it
        self.teardown: Teardown | None = None  # None: the host did not answer (--force)
        self.cluster_done = False
        self.record: identity.Identity | None = None  # the cluster's, from the master's probe

    def steps(self) -> list[Step]:
        return [Gather(self), Drain(self), TakeOff(self), Delete(self), Forget(self), Gone(self)]

    def arguments(self) -> list[str]:
        return [self.node.name, *(["--force"] if self.force else [])]

    def on_master(self, argv: list[str], done: str) -> bool:
        """A kubectl command on the master (as root where its credentials are root's);
        its failure stops the node's removal."""
        name = self.node.name

        def run(h: HostRun):
            h.cxn.run(argv, sudo=self.inv.profile.kubectl_as_root, timeout=self.opts.timeout + 30)
            self.note(name, done)
        self.each(run, [self.master])
        if self.master.name in self.fleet.failed:
            self.fleet.failed.setdefault(name, f"stopped: {self.fleet.failed[self.master.name]}")
        return self.master.name not in self.fleet.failed

    @property
    def goes_on(self) -> bool:
        """Nothing stopped the removal: the node answers, or --force goes on without it."""
        return self.master.name not in self.fleet.failed and (
            self.node.name not in self.fleet.failed or self.fleet.failed[self.node.name] == self.unreachable)

    def rows(self) -> list[str]:
        return [self.node.name, self.master.name]

    def finish(self) -> int:
        name = self.node.name
        if self.unreachable and (self.cluster_done or self.opts.dry_run) and self.master.name not in self.fleet.failed:
            del self.fleet.failed[name]  # forced: the cluster side is what was asked
            left = (f"left on the host (it did not answer): units {', '.join(self.footprint.units)} and "
                    f"{len(self.footprint.paths)} paths; once it answers, `{program()} reset --hosts {name} "
                    f"--dry-run` lists them, and reset takes them off")
            if self.opts.dry_run:
                self.pending[name].append(left)
            else:
                self.note(name, left)
        if name not in self.fleet.failed and not self.opts.dry_run:
            say(None, f"remove {name} from {self.inv.path.name}, or the next deploy brings it back")
        return super().finish()


class Gather(Step):
    """The master's node list and what of kubefab the node has."""

    def plan(self) -> dict:
        op = self.op
        name, master = op.node.name, op.master.name
        if name in op.fleet.failed and op.force:
            op.unreachable = op.fleet.failed[name]
        found = op.each(lambda h: h.probe({}) if h.host.is_master else gather(h, op.footprint))
        if name in op.fleet.failed and not op.unreachable:
            op.fleet.failed.setdefault(master, f"not touched: {name} did not answer; --force removes "
                                               f"it from the cluster anyway and says what stays on it")
            return {}
        if master in op.fleet.failed:
            op.fleet.failed.setdefault(name, "not touched: the master failed")
            return {}
        nodes_json = found[master].nodes_json
        if nodes_json is None:  # the apiserver did not answer: kubectl says why
            nodes_json = op.each(get_nodes, [op.master]).get(master)
            if nodes_json is None:
                op.fleet.failed.setdefault(name, "not touched: the master failed")
                return {}
        op.record = identity.parse(found[master].cluster)
        op.registered = name in registration.node_states(nodes_json)
        op.teardown = found.get(name)
        op.cluster_done = not op.registered  # nothing to do there
        would = "would " if op.opts.dry_run else ""
        todo = [(master, f"{would}drain node {name}")] if op.registered else []
        todo += [(name, f"{would}{line}") for line in op.teardown.steps()] if op.teardown else \
            [(name, f"does not answer ({op.unreachable}); with --force only the cluster side is done")]
        todo += [(master, f"{would}delete node {name}")] if op.registered else \
            [(master, f"node {name} is not in the cluster")]
        for host, line in todo:
            say(host, line)
        if op.registered or (op.teardown and op.teardown.changes):
            op.pending[name].append("; ".join(line.removeprefix(would) for _, line in todo))
        return {}

    reads = True


class Drain(Step):
    def has_work(self, plan) -> bool:
        return self.op.registered and self.op.goes_on

    def apply(self, plan) -> None:
        op = self.op
        if self.has_work(plan):
            op.on_master(drain_argv(op.inv.profile.kubectl(), op.node.name, op.opts.timeout), "drained")


class TakeOff(Step):
    def has_work(self, plan) -> bool:
        op = self.op
        return bool(op.teardown and op.teardown.changes) and op.node.name not in op.fleet.failed

    def apply(self, plan) -> None:
        op = self.op
        if self.has_work(plan):
            op.each(lambda h: (take_off(h, op.footprint), h.note(op.teardown.summary())), [op.node])


class Delete(Step):
    """Only once the host is taken off: its kubelet would register the Node again."""

    def has_work(self, plan) -> bool:
        return self.op.registered and self.op.goes_on

    def apply(self, plan) -> None:
        op = self.op
        if not op.goes_on:
            return
        if op.registered and not op.on_master(delete_argv(op.inv.profile.kubectl(), op.node.name),
                                              f"deleted node {op.node.name}"):
            return
        op.cluster_done = True


class Forget(Step):
    """The cluster's record (kubefab.identity) no longer names the node: it may join again
    in another role (deploy --hosts)."""

    def has_work(self, plan) -> bool:
        op = self.op
        return bool(op.record and op.node.name in op.record.roles) and op.goes_on

    def apply(self, plan) -> None:
        op = self.op
        if not (self.has_work(plan) and op.cluster_done):
            return
        roles = {h: r for h, r in op.record.roles.items() if h != op.node.name}
        text = replace(op.record, roles=roles).text()

        def forget(h: HostRun):
            hostfiles.put(h.cxn, CLUSTER_FILE, text.encode())
            op.note(op.node.name, f"the cluster's record on {h.name} no longer names {op.node.name}")
        op.each(forget, [op.master])


class Gone(Step):
    def has_work(self, plan) -> bool:
        return False

    def apply(self, plan) -> None:
        op, name = self.op, self.op.node.name
        if not op.cluster_done or name in op.fleet.failed:
            return

        def gone(h: HostRun):
            if name in registration.node_states(get_nodes(h)):
                raise RemoteError(f"node {name} is back in the cluster after its deletion")
            h.say(f"verified: node {name} is not in the cluster")
        op.each(gone, [op.master])

"""fab nodes.remove NAME: take a node out of the cluster and kubefab off it.

In this order, so the node cannot come back behind our back: drain it (kubectl on the
master), stop and remove kubefab on the host (kubefab.footprint: its kubelet would
register the Node again), then delete the Node. A host that does not answer stops the
run before anything changes; with --force the cluster side is done anyway and the
recap says what stays on the host (fab reset --hosts NAME --yes once it answers)."""
from __future__ import annotations

from dataclasses import dataclass

from kubefab import footprint, registration, rollout
from kubefab.ops import steps
from kubefab.model import Host, Inventory
from kubefab.ops.operation import Operation, Options
from kubefab.report import say
from kubefab.ops.reset import footprints, look
from kubefab.remote.transport import Connect, RemoteError


def drain_argv(kubectl: list[str], name: str, timeout: float) -> list[str]:
    """Cordon, then evict its pods, bounded by the run's timeout: upgrade's drain, with a
    current kubectl's flags."""
    return rollout.drain(kubectl, name, None, timeout).argv


def delete_argv(kubectl: list[str], name: str) -> list[str]:
    return [*kubectl, "delete", "node", name]


@dataclass(frozen=True)
class RemovePlan:
    registered: bool  # the Node is in the cluster: drain and delete it
    host: footprint.Teardown | None  # None: the host did not answer (--force)

    @property
    def changes(self) -> bool:
        return self.registered or bool(self.host and self.host.changes)


class NodesRemove(Operation):
    task = "nodes.remove"

    def __init__(self, inv: Inventory, node: Host, opts: Options, force: bool = False,
                 connect: Connect | None = None):
        super().__init__(inv, [inv.master, node], opts, connect)
        self.node, self.force = node, force
        self.footprint = footprints(inv, [node])[node.name]
        self.unreachable: str | None = None  # why the host did not answer, with --force
        self.cluster_done = False

    def rerun(self, failing: list[str]) -> str:
        return f"fab nodes.remove {self.node.name}" + (" --force" if self.force else "")

    def gather(self) -> dict:
        name = self.node.name
        if name in self.fleet.failed and self.force:
            self.unreachable = self.fleet.failed[name]
        return self.fleet.each(lambda cxn: steps.probe(cxn, self.inv, {}) if cxn.host.is_master
                               else look(cxn, self.inv, self.footprint))

    def plan(self, facts: dict) -> dict[str, RemovePlan]:
        name, master = self.node.name, self.master.name
        if name in self.fleet.failed and not self.unreachable:
            self.fleet.failed.setdefault(master, f"not touched: {name} did not answer; --force removes "
                                                 f"it from the cluster anyway and says what stays on it")
            return {}
        if master in self.fleet.failed:
            self.fleet.failed.setdefault(name, "not touched: the master failed")
            return {}
        nodes_json = facts[master].nodes_json
        if nodes_json is None:  # the apiserver did not answer: kubectl says why
            try:
                nodes_json = self.fleet.each(lambda cxn: steps.get_nodes(cxn, self.inv), [self.master])[master]
            except KeyError:
                self.fleet.failed.setdefault(name, "not touched: the master failed")
                return {}
        registered = name in registration.node_states(nodes_json)
        self.cluster_done = not registered  # nothing to do there
        return {name: RemovePlan(registered, facts.get(name))}

    def show(self, plans: dict) -> None:
        plan, name = plans.get(self.node.name), self.node.name
        if plan is None:
            return
        would = "would " if self.opts.dry_run else ""
        todo = [(self.master.name, f"{would}drain node {name}")] if plan.registered else []
        todo += [(name, f"{would}{line}") for line in plan.host.steps()] if plan.host else \
            [(name, f"does not answer ({self.unreachable}); with --force only the cluster side is done")]
        todo += [(self.master.name, f"{would}delete node {name}")] if plan.registered else \
            [(self.master.name, f"node {name} is not in the cluster")]
        for host, line in todo:
            say(host, line)
        if plan.changes:
            self.pending[name].append("; ".join(line.removeprefix(would) for _, line in todo))

    def changes(self, plans: dict) -> bool:
        return any(p.changes for p in plans.values())

    def apply(self, plans: dict) -> None:
        plan, name = plans.get(self.node.name), self.node.name
        if not plan:
            return
        kubectl = steps.kubectl(self.inv)

        def on_master(argv, done):
            def run(cxn):
                cxn.run(argv)
                self.note(name, done)
            self.fleet.each(run, [self.master])
            if self.master.name in self.fleet.failed:
                self.fleet.failed.setdefault(name, f"stopped: {self.fleet.failed[self.master.name]}")
            return self.master.name not in self.fleet.failed

        if plan.registered and not on_master(drain_argv(kubectl, name, self.opts.timeout), "drained"):
            return
        def take_off(cxn):
            footprint.remove(cxn, self.footprint)
            self.note(name, plan.host.summary())
        if plan.host and plan.host.changes:
            self.fleet.each(take_off, [self.node])
            if name in self.fleet.failed:
                return  # its kubelet may still run: deleting the Node now would not last
        if plan.registered and not on_master(delete_argv(kubectl, name), f"deleted node {name}"):
            return
        self.cluster_done = True

    def verify(self, plans: dict) -> None:
        name = self.node.name
        if not self.cluster_done or name in self.fleet.failed:
            return

        def gone(cxn):
            if name in registration.node_states(steps.get_nodes(cxn, self.inv)):
                raise RemoteError(f"node {name} is back in the cluster after its deletion")
            say(cxn.host.name, f"verified: node {name} is not in the cluster")
        self.fleet.each(gone, [self.master])

    def rows(self) -> list[str]:
        return [self.node.name, self.master.name]

    def finish(self) -> int:
        name = self.node.name
        if self.unreachable and (self.cluster_done or self.opts.dry_run) and self.master.name not in self.fleet.failed:
            del self.fleet.failed[name]  # forced: the cluster side is what was asked
            left = (f"left on the host (it did not answer): units {', '.join(self.footprint.units)} and "
                    f"{len(self.footprint.paths)} paths; once it answers: fab reset --hosts {name} --yes")
            if self.opts.dry_run:
                self.pending[name].append(left)
            else:
                self.note(name, left)
        if name not in self.fleet.failed and not self.opts.dry_run:
            say(None, f"remove {name} from {self.inv.path.name}, or the next deploy brings it back")
        return super().finish()

"""fab nodes.register: kubectl on the master creates the missing nodes (manual mode)
and sets the labels that differ (--label ones recorded as the operator's: deploy keeps
them and says they are not in hosts.yaml), then checks what deploy checks: every node
registered, labelled and Ready (Operation.register). The recap has a line per node."""
from __future__ import annotations

from kubefab.ops import steps
from kubefab.model import Host, Inventory
from kubefab.ops.operation import Operation, Options
from kubefab.report import say
from kubefab.remote.transport import Connect


class NodesRegister(Operation):
    task = "nodes.register"

    def __init__(self, inv: Inventory, nodes: list[Host], labels: dict[str, str], opts: Options,
                 connect: Connect | None = None):
        super().__init__(inv, [inv.master], opts, connect)  # kubectl runs on the master
        self.wanted = {h.name: inv.node_labels(h) for h in nodes if not h.is_master}
        # --label: recorded on the Node as the operator's, so deploy never removes it
        self.operator = {name: dict(labels) for name in self.wanted} if labels else None

    def gather(self) -> dict:
        def facts(cxn):
            found = steps.probe(cxn, self.inv, {})
            if found.nodes_json is None:  # the apiserver did not answer: kubectl says why
                steps.get_nodes(cxn, self.inv)
            return found
        return self.fleet.each(facts)

    def plan(self, facts: dict) -> dict[str, list]:
        return {name: steps.registration_commands(self.inv, self.wanted, f.nodes_json, self.operator)
                for name, f in facts.items()}

    def show(self, plans: dict) -> None:
        for name, commands in plans.items():
            for cmd in commands:
                say(name, ("would " if self.opts.dry_run else "") + cmd.says)
            if not commands:
                say(name, "no changes: every node registered with its labels")

    def changes(self, plans: dict) -> bool:
        return any(plans.values())

    def apply(self, plans: dict) -> None:
        def run(cxn):
            steps.run_commands(cxn, plans[cxn.host.name], steps.as_root(self.inv))
            for cmd in plans[cxn.host.name]:
                self.done(cmd)
        self.fleet.each(run, [h for h in self.fleet.ok() if plans[h.name]])

    def verify(self, plans: dict) -> None:
        self.register(self.wanted, self.done, operator=self.operator)

    def done(self, cmd) -> None:
        for node in cmd.nodes:
            self.note(node, cmd.done)

    def rows(self) -> list[str]:
        return list(self.wanted)

    def finish(self) -> int:
        why = self.fleet.failed.get(self.master.name)
        for node in self.wanted if why else ():
            self.fleet.failed.setdefault(node, f"not verified: {self.master.name} failed: {why}")
        return super().finish()

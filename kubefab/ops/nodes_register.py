"""kubefab nodes.register, as its steps: the master probed (its node list); kubectl on the
master creates the missing nodes (manual mode) and sets the labels that differ
(--label ones recorded as the operator's: deploy keeps them and says they are not in
hosts.yaml); then what deploy checks: every node registered, labelled and Ready. The
recap has a line per node."""
from __future__ import annotations

from kubefab.model import Host, Inventory
from kubefab.ops.host import HostRun
from kubefab.ops.operation import Operation, Options, Step
from kubefab.ops.steps import RegisterNodes, commands, get_nodes, run_commands
from kubefab.remote.transport import Connect
from kubefab.report import say


class NodesRegister(Operation):
    task = "nodes.register"

    def __init__(self, inv: Inventory, nodes: list[Host], labels: dict[str, str], opts: Options,
                 connect: Connect | None = None):
        super().__init__(inv, [inv.master], opts, connect)  # kubectl runs on the master
        self.wanted = {h.name: inv.node_labels(h) for h in nodes if not h.is_master}
        # --label: recorded on the Node as the operator's, so deploy never removes it
        self.operator = {name: dict(labels) for name in self.wanted} if labels else None

    def steps(self) -> list[Step]:
        return [Label(self), RegisterNodes(self, self.wanted, operator=self.operator, done=self.done, master_failed=None)]

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


class Label(Step):
    """The master's probe (and, when the apiserver did not answer, kubectl's own words
    why), then the kubectl commands that register and label."""

    def plan(self) -> dict:
        op = self.op

        def gather(h: HostRun):
            found = h.probe({})
            if found.nodes_json is None:  # the apiserver did not answer: kubectl says why
                get_nodes(h)
            return found
        op.facts = op.each(gather)
        self.commands = {name: commands(op.inv, op.wanted, f.nodes_json, op.operator) for name, f in op.facts.items()}
        would = "would " if op.opts.dry_run else ""
        return {name: [would + cmd.says for cmd in cmds] or ["no changes: every node registered with its labels"]
                for name, cmds in self.commands.items()}

    def show(self, plan) -> None:
        for host, lines in plan.items():
            for line in lines:
                say(host, line)

    def has_work(self, plan) -> bool:
        return any(self.commands.values())

    def apply(self, plan) -> None:
        def run(h: HostRun):
            run_commands(h, self.commands[h.name])
            for cmd in self.commands[h.name]:
                self.op.done(cmd)
        self.op.each(run, [h for h in self.op.fleet.ok() if self.commands.get(h.name)])

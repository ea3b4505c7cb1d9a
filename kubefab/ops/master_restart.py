"""kubefab master.restart, as its steps: the master probed; its units restarted in the
order deploy brings a changed master up (the apiserver, healthy, then the scheduler and
controller-manager); then every unit checked active."""
from __future__ import annotations

from kubefab.layout import APISERVER, ONESHOTS
from kubefab.model import Inventory
from kubefab.ops.host import HostRun
from kubefab.ops.operation import Operation, Options, Step
from kubefab.ops.steps import Probe
from kubefab.remote.transport import Connect, RemoteError
from kubefab.report import program


class MasterRestart(Operation):
    task = "master.restart"
    takes_hosts = False  # the master is its only host

    def __init__(self, inv: Inventory, opts: Options, connect: Connect | None = None):
        super().__init__(inv, [inv.master], opts, connect)
        self.units = tuple(u for u in inv.profile.unit_order(self.master) if u not in ONESHOTS)

    def steps(self) -> list[Step]:
        return [Probe(self), Restart(self), Active(self)]


class Restart(Step):
    def plan(self) -> dict:
        op = self.op
        f = op.facts.get(op.master.name)
        if f is None:
            return {}
        missing = tuple(u for u in op.units if not (u in f.units and f.units[u].enabled))
        if missing:
            op.fleet.failed[op.master.name] = f"{', '.join(missing)} not installed; run {program()} deploy first"
            return {}
        check = op.inv.profile.health()
        return {op.master.name: [f"restart {u}" + (f", wait for {check.url}" if u == APISERVER else "")
                                 for u in op.units]}

    def summary(self, host, lines) -> str:
        return "restart " + ", ".join(self.op.units)

    def apply(self, plan) -> None:
        if self.has_work(plan):
            self.op.each(self.restart, [self.op.master])

    def restart(self, h: HostRun) -> None:
        def healthy():
            h.say(f"{APISERVER} restarted, apiserver ok ({h.wait_healthy()})")
        h.activate(self.op.units, healthy=healthy)


class Active(Step):
    """Every unit active after the restart, else the first one's journal says why."""

    def has_work(self, plan) -> bool:
        return False

    def apply(self, plan) -> None:
        self.op.each(self.check, [self.op.master])

    def check(self, h: HostRun) -> None:
        units = self.op.units
        r = h.cxn.run(["systemctl", "is-active", *units], check=False)
        states = dict(zip(units, r.stdout.split()))
        down = [u for u in units if states.get(u) != "active"]
        if down:
            raise RemoteError(f"{down[0]} is {states.get(down[0], 'unknown')} after the restart: {h.journal(down[0])}")
        h.say(f"verified: {', '.join(units)} active")

"""fab master.restart: the apiserver, a wait for its /healthz, then the scheduler and
controller-manager, in the order deploy brings a changed master up (converge.activate)."""
from __future__ import annotations

from dataclasses import dataclass

from kubefab.ops import converge, steps
from kubefab.layout import APISERVER, ONESHOTS
from kubefab.model import Inventory
from kubefab.ops.operation import Operation, Options
from kubefab.report import say
from kubefab.remote.transport import Connect, RemoteError


@dataclass(frozen=True)
class RestartPlan:
    units: tuple[str, ...]  # the apiserver first
    missing: tuple[str, ...] = ()  # units the master does not have: deploy first

    @property
    def changes(self) -> bool:
        return bool(self.units) and not self.missing


class MasterRestart(Operation):
    task = "master.restart"

    def __init__(self, inv: Inventory, opts: Options, connect: Connect | None = None):
        super().__init__(inv, [inv.master], opts, connect)
        self.units = tuple(u for u in inv.profile.unit_order(self.master) if u not in ONESHOTS)

    def rerun(self, failing: list[str]) -> str:
        return "fab master.restart"  # the master is its only host: no --hosts

    def plan(self, facts: dict) -> dict[str, RestartPlan]:
        plans = {}
        for name, f in facts.items():
            missing = tuple(u for u in self.units if not (u in f.units and f.units[u].enabled))
            plans[name] = RestartPlan(self.units, missing)
            if missing:
                self.fleet.failed[name] = f"{', '.join(missing)} not installed; run fab deploy first"
        return plans

    def show(self, plans: dict) -> None:
        for name, plan in plans.items():
            for unit in plan.units if plan.changes else ():
                say(name, f"restart {unit}" + (f", wait for {self.inv.profile.health().url}"
                                               if unit == APISERVER else ""))

    def apply(self, plans: dict) -> None:
        def restart(cxn):
            name = cxn.host.name

            def healthy():
                how = steps.wait_healthy(cxn, self.inv, self.opts.timeout,
                                         lambda msg: say(name, msg), self.fleet.cancel)
                say(name, f"{APISERVER} restarted, apiserver ok ({how})")
            converge.activate(cxn, plans[name].units, healthy=healthy, note=lambda what: self.note(name, what))
        self.fleet.each(restart, [h for h in self.fleet.ok() if plans[h.name].changes])

    def verify(self, plans: dict) -> None:
        def active(cxn):
            r = cxn.run(["systemctl", "is-active", *self.units], check=False)
            states = dict(zip(self.units, r.stdout.split()))
            down = [u for u in self.units if states.get(u) != "active"]
            if down:
                raise RemoteError(f"{down[0]} is {states.get(down[0], 'unknown')} after the restart: "
                                  f"{steps.journal(cxn, down[0])}")
            say(cxn.host.name, f"verified: {', '.join(self.units)} active")
        self.fleet.each(active)

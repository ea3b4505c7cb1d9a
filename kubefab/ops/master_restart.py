"""kubefab master.restart, as its steps: the masters probed; each master's units
restarted in the order deploy brings a changed master up (the apiserver, healthy, then
the scheduler and controller-manager), one master at a time, every unit checked active
before the next; a master down refuses it when etcd would lose quorum meanwhile."""
from __future__ import annotations

from kubefab import quorum
from kubefab.layout import APISERVER, ONESHOTS
from kubefab.model import Inventory
from kubefab.ops.host import HostRun
from kubefab.ops.operation import Operation, Options, Step
from kubefab.ops.steps import Probe
from kubefab.remote.transport import Connect, RemoteError
from kubefab.report import program


class MasterRestart(Operation):
    task = "master.restart"
    takes_hosts = False  # the masters are its only hosts

    def __init__(self, inv: Inventory, opts: Options, connect: Connect | None = None):
        super().__init__(inv, list(inv.masters), opts, connect)
        self.units = tuple(u for u in inv.profile.unit_order(self.master) if u not in ONESHOTS)

    def steps(self) -> list[Step]:
        return [Probe(self), Restart(self), Active(self)]

    def rows(self) -> list[str]:
        return [m.name for m in self.inv.masters]


class Restart(Step):
    def plan(self) -> dict:
        op, out = self.op, {}
        down = [m.name for m in op.inv.masters if m.name in op.fleet.failed]
        why = quorum.refusal(len(op.inv.masters), len(op.inv.masters) - len(down), down=1,
                             what="restarting each master's etcd in turn") \
            if down and len(op.inv.masters) > 1 and op.inv.kubernetes.managed_etcd else None
        if why:
            op.fail(None, f"not restarted: {why}")
            return {None: [f"refused: {why}"]}
        for m in op.fleet.ok(op.inv.masters):
            f = op.facts.get(m.name)
            if f is None:
                continue
            missing = tuple(u for u in op.units if not (u in f.units and f.units[u].enabled))
            if missing:
                op.fleet.failed[m.name] = f"{', '.join(missing)} not installed; run {program()} deploy first"
                continue
            check = op.inv.profile.health(m)
            out[m.name] = [f"restart {u}" + (f", wait for {check.url}" if u == APISERVER else "") for u in op.units]
        return out

    def summary(self, host, lines) -> str:
        return "restart " + ", ".join(self.op.units)

    def apply(self, plan) -> None:
        """One master at a time, each active again before the next; the first failure
        stops the others."""
        op = self.op
        for name in [m.name for m in op.inv.masters if plan.get(m.name)]:
            if any(m.name in op.fleet.failed for m in op.inv.masters):
                op.fleet.failed.setdefault(name, "not restarted: another master failed first")
                continue
            op.each(self.restart, [op.inv.host(name)])
            op.each(Active(op).check, [op.inv.host(name)])

    def restart(self, h: HostRun) -> None:
        def healthy():
            h.say(f"{APISERVER} restarted, apiserver ok ({h.wait_healthy()})")
        h.activate(self.op.units, healthy=healthy)


class Active(Step):
    """Every unit active after the restart, else the first one's journal says why."""

    def has_work(self, plan) -> bool:
        return False

    def apply(self, plan) -> None:
        pass  # each master is checked right after its restart (Restart.apply)

    def check(self, h: HostRun) -> None:
        units = self.op.units
        r = h.cxn.run(["systemctl", "is-active", *units], check=False)
        states = dict(zip(units, r.stdout.split()))
        down = [u for u in units if states.get(u) != "active"]
        if down:
            raise RemoteError(f"{down[0]} is {states.get(down[0], 'unknown')} after the restart: {h.journal(down[0])}")
        h.say(f"verified: {', '.join(units)} active")

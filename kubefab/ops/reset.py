"""fab reset: take kubefab off hosts. Each host's units stopped and disabled, every
file, binary and backup kubefab wrote removed (kubefab.footprint), and the folders it
made once empty; what was there before kubefab stays. A deploy afterwards works as on
a fresh host. Cluster objects (Nodes) are not touched: that is fab nodes.remove."""
from __future__ import annotations

from kubefab import footprint, pki, render
from kubefab.ops import steps
from kubefab.model import Host, Inventory
from kubefab.ops.operation import Operation, Options
from kubefab.report import say
from kubefab.remote.transport import Connect, RemoteError


def footprints(inv: Inventory, hosts: list[Host]) -> dict[str, footprint.Footprint]:
    """Each host's footprint; the PKI only read (render needs it for the paths, not made here)."""
    keys, _ = pki.load(inv)
    return {h.name: footprint.of_host(inv, h, render.render_host(inv, h, keys),
                                      inv.profile.unit_order(h), inv.profile.target(h)) for h in hosts}


def look(cxn, inv: Inventory, fp: footprint.Footprint) -> footprint.Teardown:
    """What of `fp` the host has: its units (the probe) and paths (footprint.LIST)."""
    facts = steps.probe(cxn, inv, {})
    return footprint.teardown(fp, facts.units, footprint.present(cxn, fp))


class Reset(Operation):
    task = "reset"

    def __init__(self, inv: Inventory, hosts: list[Host], opts: Options, connect: Connect | None = None):
        super().__init__(inv, hosts, opts, connect)
        self.footprints = footprints(inv, hosts)
        self.emptied: list[Host] = []  # hosts reset in this run: verified afterwards

    def rerun(self, failing: list[str]) -> str:
        return f"{super().rerun(failing)} --yes"  # the task refuses without it

    def gather(self) -> dict:
        return self.fleet.each(lambda cxn: look(cxn, self.inv, self.footprints[cxn.host.name]))

    def plan(self, facts: dict) -> dict[str, footprint.Teardown]:
        return facts

    def show(self, plans: dict) -> None:
        for name, plan in plans.items():
            for line in plan.steps():
                say(name, line)
            if plan.changes:
                self.pending[name].append(plan.summary().replace("stopped and disabled", "stop and disable")
                                          .replace("removed", "remove"))

    def apply(self, plans: dict) -> None:
        def remove(cxn):
            name = cxn.host.name
            removed = footprint.remove(cxn, self.footprints[name])
            self.emptied.append(cxn.host)
            self.note(name, plans[name].summary() or f"removed {len(removed)} paths")
        self.fleet.each(remove, [h for h in self.fleet.ok() if plans[h.name].changes])

    def verify(self, plans: dict) -> None:
        """Looked at again: nothing of kubefab's is left."""
        def check(cxn):
            left = look(cxn, self.inv, self.footprints[cxn.host.name])
            if left.changes:
                raise RemoteError("still there after reset: " + "; ".join(left.steps()))
            say(cxn.host.name, "verified: no kubefab unit, file, binary or backup left")
        self.fleet.each(check, [h for h in self.emptied if h.name not in self.fleet.failed])

    def unlock(self) -> None:
        """And then the lock's own flock file and STATE_DIR, where nothing else is left."""
        super().unlock()
        self.fleet.each(footprint.forget)

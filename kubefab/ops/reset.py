"""kubefab reset, as its steps: each host's footprint looked at (kubefab.footprint: what
kubefab wrote, named from the inventory); its units stopped and disabled, every file,
binary and backup removed, and the folders kubefab made once empty; then looked at
again. What was there before kubefab stays; a deploy afterwards works as on a fresh
host. Cluster objects (Nodes) are not touched: that is nodes.remove, which takes a node
off with this module's `take_off`."""
from __future__ import annotations

from kubefab import footprint, pki, render
from kubefab.footprint import Footprint, Teardown
from kubefab.layout import LOCK_DIR, STATE_DIR
from kubefab.model import Host, Inventory
from kubefab.ops.host import HostRun
from kubefab.ops.operation import Operation, Options, Step
from kubefab.remote.script import HostScript
from kubefab.remote.transport import Connect, RemoteError

LIST = HostScript("list", what="listing kubefab's files")
REMOVE = HostScript("remove", what="removing kubefab's files", ok=(0, 1))  # 1: something stays (said)
FORGET = HostScript("forget", what="removing kubefab's state folder", ok=tuple(range(256)))


def footprints(inv: Inventory, hosts: list[Host]) -> dict[str, Footprint]:
    """Each host's footprint; the PKI only read (render needs it for the paths, not made here)."""
    keys, _ = pki.load(inv)
    return {h.name: footprint.of_host(inv, h, render.render_host(inv, h, keys), inv.profile.unit_order(h),
                                      inv.profile.target(h)) for h in hosts}


def gather(h: HostRun, fp: Footprint) -> Teardown:
    """What of `fp` the host has: its units (the probe) and paths (LIST)."""
    units = h.probe({}).units
    out = LIST.run(h.cxn, *fp.paths).stdout
    found = {}
    for line in out.splitlines():
        kind, _, rest = line.partition("\t")
        path, _, count = rest.partition("\t")
        found[path] = kind if kind != "folder" else f"folder, {count.strip()} files"
    return footprint.teardown(fp, units, {p: found[p] for p in fp.paths if p in found})


def take_off(h: HostRun, fp: Footprint) -> list[str]:
    """Stop, disable and remove everything in `fp`; the paths removed. RemoteError names
    what stays."""
    r = REMOVE.run(h.cxn, "\n".join(fp.keep), "\n".join(fp.empty), "\n".join(fp.units), *fp.paths)
    removed, stays = [], []
    for line in r.stdout.splitlines():
        kind, _, rest = line.partition("\t")
        if kind == "removed":
            removed.append(rest)
        elif kind == "failed":
            stays.append(rest)
        elif kind == "running":
            stays.append(rest.replace("\t", " still "))
    if stays or not r.ok:
        raise RemoteError("reset incomplete: " + (", ".join(stays) or r.why()) + " stays")
    return removed


class Reset(Operation):
    task = "reset"

    def __init__(self, inv: Inventory, hosts: list[Host], opts: Options, connect: Connect | None = None):
        super().__init__(inv, hosts, opts, connect)
        self.footprints = footprints(inv, hosts)
        self.teardowns: dict[str, Teardown] = {}
        self.emptied: list[Host] = []  # hosts reset in this run: verified afterwards

    def steps(self) -> list[Step]:
        return [TakeOff(self), Verify(self)]

    def unlock(self) -> None:
        """And then the lock's own flock file and STATE_DIR, where nothing else is left."""
        super().unlock()
        self.fleet.each(lambda cxn: FORGET.run(cxn, STATE_DIR, LOCK_DIR))


class TakeOff(Step):
    def plan(self) -> dict:
        op = self.op
        op.teardowns = op.each(lambda h: gather(h, op.footprints[h.name]))
        return {name: t.steps() for name, t in op.teardowns.items()}

    def summary(self, host, lines) -> str:
        return (self.op.teardowns[host].summary().replace("stopped and disabled", "stop and disable")
                .replace("removed", "remove"))

    def show(self, plan) -> None:
        for name, lines in plan.items():
            for line in lines:
                self.op.on(self.op.fleet.connections[name]).say(line)
            if self.op.teardowns[name].changes:
                self.op.pending[name].append(self.summary(name, lines))

    def has_work(self, plan) -> bool:
        return any(t.changes for t in self.op.teardowns.values())

    def apply(self, plan) -> None:
        op = self.op

        def remove(h: HostRun):
            removed = take_off(h, op.footprints[h.name])
            op.emptied.append(h.host)
            h.note(op.teardowns[h.name].summary() or f"removed {len(removed)} paths")
        op.each(remove, [h for h in op.fleet.ok() if op.teardowns[h.name].changes])


class Verify(Step):
    """Looked at again: nothing of kubefab's is left."""

    def has_work(self, plan) -> bool:
        return False

    def apply(self, plan) -> None:
        op = self.op

        def check(h: HostRun):
            left = gather(h, op.footprints[h.name])
            if left.changes:
                raise RemoteError("still there after reset: " + "; ".join(left.steps()))
            h.say("verified: no kubefab unit, file, binary or backup left")
        op.each(check, [h for h in op.emptied if h.name not in op.fleet.failed])

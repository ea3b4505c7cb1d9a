"""kubefab etcd.restore FILE --yes: the etcd kubefab runs on the master, back to a snapshot.

On the master, in this order: the file copied up (root-only) and verified with
`snapshot status` (nothing is stopped for a file that is no snapshot); the scheduler,
controller-manager and apiserver stopped, then etcd; `snapshot restore` into a new data
dir (the member's name, peer URL and token, as its unit runs it); the old data dir moved
aside (ETCD_DATA_ASIDE, kept: remove it once the cluster is as wanted) and the new one
put in its place; etcd started and healthy; the apiserver started and ready (/readyz),
then the rest. Until the swap a failure starts etcd and the control plane again on the
untouched old data; after it, the reason says where the old data is.

Several masters: the whole cluster goes back. Every master must answer; the others' control
planes and members are stopped first; the first master's member is restored as above (a
one-member cluster); then each other master joins it again as deploy joins a master
(kubefab.ops.members: member add --learner, its earlier data dir moved aside, promote),
one at a time, its control plane started and ready before the next."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kubefab.profiles.modern import etcd as ctl
from kubefab.ops.etcd_snapshot import EtcdFacts, gather, missing, stamp, verified
from kubefab.layout import APISERVER, CONTROLLER_MANAGER, ETCD, ETCD_SNAPSHOTS, SCHEDULER
from kubefab.profiles.modern.paths import ETCD_DATA, ETCD_DATA_ASIDE, ETCD_DATA_NEW
from kubefab.model import Inventory
from kubefab.ops import members
from kubefab.ops.host import HostRun
from kubefab.ops.operation import Operation, Options, Step
from kubefab.report import program
from kubefab.remote import hostfiles, wait
from kubefab.remote.script import HostScript
from kubefab.remote.transport import Connect, Connection, RemoteError

SWAP = HostScript("swap-etcd-data", what="swapping etcd's data dir")

STOP = (SCHEDULER, CONTROLLER_MANAGER, APISERVER)  # what writes to etcd, the apiserver last



@dataclass(frozen=True)
class RestorePlan:
    upload: str  # the snapshot's copy on the master, removed at the end
    new: str  # where `snapshot restore` writes
    aside: str  # where the old data dir goes
    tool: str = ""
    why_not: str = ""

    @property
    def changes(self) -> bool:
        return not self.why_not


class Restore(Operation):
    task = "etcd.restore"
    takes_hosts = False

    def __init__(self, inv: Inventory, opts: Options, source: Path, data: bytes, connect: Connect | None = None):
        super().__init__(inv, list(inv.masters), opts, connect)
        self.source, self.data, self.when = source, data, stamp()
        self.plans: dict[str, RestorePlan] = {}

    def steps(self) -> list[Step]:
        return [PutBack(self), Active(self)]

    def arguments(self) -> list[str]:
        return [str(self.source)]


class PutBack(Step):
    """Verify the file, stop what writes to etcd and etcd, restore into a new data dir,
    swap it in (the old one kept aside), start etcd (healthy), the apiserver (ready) and
    the rest."""

    def plan(self) -> dict:
        op = self.op
        down = [m.name for m in op.inv.masters if m.name in op.fleet.failed]
        if down and len(op.inv.masters) > 1:  # a member left running would be another cluster's
            op.fail(None, f"not touched: etcd.restore restores every member, and {', '.join(down)} did not answer")
            return {}
        for name, f in op.each(lambda h: gather(h.cxn, op.inv), [op.inv.master]).items():
            why = missing(op.inv, f)
            op.plans[name] = RestorePlan(f"{ETCD_SNAPSHOTS}/restore-{op.when}.db", ETCD_DATA_NEW.format(stamp=op.when),
                                         ETCD_DATA_ASIDE.format(stamp=op.when),
                                         ctl.offline_tool(op.inv, f.version) if f.version else "", why or "")
            if why:
                op.fleet.failed[name] = why
        would = "would: " if op.opts.dry_run else ""
        out = {}
        for name, p in op.plans.items():
            if not p.changes:
                continue
            tool = p.tool.rsplit("/", 1)[-1]
            out[name] = [would + line for line in (
                f"copy {op.source} ({len(op.data)} bytes) to {p.upload}, verify it ({tool} snapshot status)",
                f"stop {', '.join(STOP)}, then {ETCD}",
                f"{tool} snapshot restore into {p.new}; move {ETCD_DATA} aside to {p.aside} (kept); "
                f"move {p.new} to {ETCD_DATA}",
                f"start {ETCD}, wait until healthy; start {APISERVER}, wait for /readyz; "
                f"start {CONTROLLER_MANAGER}, {SCHEDULER}")]
        if op.inv.master.name in out:
            for m in op.inv.masters[1:]:
                out[m.name] = [would + line for line in (
                    f"stop {', '.join(STOP)}, then {ETCD} (before {op.inv.master.name} restores)",
                    f"then join {op.inv.master.name}'s restored etcd again (member add --learner, its data dir "
                    f"moved aside, promote); start {APISERVER}, wait for /readyz; start {CONTROLLER_MANAGER}, "
                    f"{SCHEDULER}")]
        return out

    def summary(self, host, lines) -> str:
        if host not in self.op.plans:
            return f"join {self.op.inv.master.name}'s restored etcd again"
        return f"restore {self.op.source}; old data dir aside to {self.op.plans[host].aside}"

    def apply(self, plan) -> None:
        op, first = self.op, self.op.inv.master
        if not (first.name in op.plans and op.plans[first.name].changes) or first.name in op.fleet.failed:
            return
        others = [m for m in op.inv.masters[1:] if m.name not in op.fleet.failed]
        op.each(self.stop, others)
        op.each(self.restore, [first])
        if first.name in op.fleet.failed:
            for m in others:
                op.fleet.failed.setdefault(m.name, f"stopped, not joined again: {first.name}'s restore failed")
            return
        via = op.on(op.fleet.connections[first.name])
        for m in others:  # one at a time: each join changes the membership
            op.each(lambda h: self.rejoin(h, via), [m])

    def stop(self, h: HostRun) -> None:
        for unit in (*STOP, ETCD):
            h.systemctl("stop", unit)
        h.note(f"stopped {', '.join((*STOP, ETCD))}")

    def rejoin(self, h: HostRun, via: HostRun) -> None:
        members.join(h, via)
        self.start_control_plane(h)

    def restore(self, h: HostRun) -> None:
        op, p = self.op, self.op.plans[h.name]
        hostfiles.put(h.cxn, p.upload, op.data)
        try:
            status = verified(h.cxn, p.tool, p.upload)
            h.say(f"{op.source}: {status.says()}")
            try:
                for unit in (*STOP, ETCD):
                    h.systemctl("stop", unit)
                    h.note(f"stopped {unit}")
                r = h.cxn.run(ctl.restore_argv(op.inv, p.tool, p.upload, p.new), sudo=True, check=False)
                if not r.ok:
                    raise RemoteError(f"snapshot restore failed: {r.why()}")
                SWAP.run(h.cxn, ETCD_DATA, p.aside, p.new, what=f"swapping {ETCD_DATA}")
            except Exception as e:  # the old data is untouched: etcd and the control plane come back on it
                h.cxn.run(["rm", "-rf", "--", p.new], sudo=True, check=False)
                raise RemoteError(f"{e}; nothing restored: {self.started_again(h)}") from None
            h.note(f"restored revision {status.revision} into {ETCD_DATA}; the old data dir is {p.aside}")
            try:
                self.start(h)
            except RemoteError as e:
                raise RemoteError(f"{e}; the data from before the restore is in {p.aside} (to go back: "
                                  f"stop {ETCD}, move it to {ETCD_DATA}, {program()} master.restart)") from None
        finally:
            h.cxn.run(["rm", "-f", "--", p.upload], sudo=True, check=False)

    def start(self, h: HostRun) -> None:
        """etcd, healthy; the apiserver, ready; then the rest (deploy's order). The waits
        ignore Ctrl-C: once etcd is stopped the restore runs to its end, as the Fleet lets
        a running step finish, rather than leave the control plane down."""
        h.systemctl("start", ETCD)
        h.note(f"started {ETCD}")
        try:
            wait.on_host(h.cxn, wait.Look(tuple(ctl.health_argv(h.inv)), frozenset({"exit 0"}), every=0.5),
                         what="etcd", timeout=self.op.opts.timeout, progress=h.say)
        except wait.Timeout as e:
            raise RemoteError(f"{e}; journal: {h.journal(ETCD)}") from None
        self.start_control_plane(h)

    @staticmethod
    def start_control_plane(h: HostRun) -> None:
        """On a running etcd member: the apiserver, ready (Ctrl-C waits for it, as for
        etcd), then the controller manager and the scheduler."""
        h.systemctl("start", APISERVER)
        h.note(f"started {APISERVER}")
        h.say(f"apiserver ok ({h.wait_healthy(interruptible=False)})")
        h.systemctl("start", CONTROLLER_MANAGER, SCHEDULER)
        h.note(f"started {CONTROLLER_MANAGER}, {SCHEDULER}")

    def started_again(self, h: HostRun) -> str:
        """After a failure before the swap: etcd and the control plane started again on
        the old data, best effort; what came of it, for the reason."""
        try:
            self.start(h)
            return "etcd and the control plane started again on the old data"
        except RemoteError as e:
            return f"starting them again failed too: {e}"


class Active(Step):
    def has_work(self, plan) -> bool:
        return False

    def apply(self, plan) -> None:
        units = (ETCD, APISERVER, CONTROLLER_MANAGER, SCHEDULER)

        def active(h: HostRun):
            r = h.cxn.run(["systemctl", "is-active", *units], check=False)
            states = dict(zip(units, r.stdout.split()))
            down = [u for u in units if states.get(u) != "active"]
            if down:
                raise RemoteError(f"{down[0]} is {states.get(down[0], 'unknown')} after the restore: "
                                  f"{h.journal(down[0])}")
            h.say(f"verified: {', '.join(units)} active")
        op = self.op
        if op.inv.master.name in op.plans and op.plans[op.inv.master.name].changes:
            op.each(active, op.fleet.ok(op.inv.masters))

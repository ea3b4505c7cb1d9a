"""fab etcd.restore FILE --yes: the etcd kubefab runs on the master, back to a snapshot.

On the master, in this order: the file copied up (root-only) and verified with
`snapshot status` (nothing is stopped for a file that is no snapshot); the scheduler,
controller-manager and apiserver stopped, then etcd; `snapshot restore` into a new data
dir (the member's name, peer URL and token, as its unit runs it); the old data dir moved
aside (ETCD_DATA_ASIDE, kept: remove it once the cluster is as wanted) and the new one
put in its place; etcd started and healthy; the apiserver started and ready (/readyz),
then the rest. Until the swap a failure starts etcd and the control plane again on the
untouched old data; after it, the reason says where the old data is."""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from kubefab.profiles.modern import etcd as ctl
from kubefab.ops import steps
from kubefab.ops.etcd_snapshot import EtcdFacts, look, missing, stamp, verified
from kubefab.layout import APISERVER, CONTROLLER_MANAGER, ETCD, ETCD_SNAPSHOTS, SCHEDULER
from kubefab.profiles.modern.paths import ETCD_DATA, ETCD_DATA_ASIDE, ETCD_DATA_NEW
from kubefab.model import Inventory
from kubefab.ops.operation import Operation, Options
from kubefab.report import say
from kubefab.remote import hostfiles
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

    def __init__(self, inv: Inventory, opts: Options, source: Path, data: bytes, connect: Connect | None = None):
        super().__init__(inv, [inv.master], opts, connect)
        self.source, self.data, self.when = source, data, stamp()

    def rerun(self, failing: list[str]) -> str:
        return f"fab status; then fab etcd.restore {self.source} --yes"

    def gather(self) -> dict[str, EtcdFacts]:
        return self.fleet.each(lambda cxn: look(cxn, self.inv))

    def plan(self, facts: dict) -> dict[str, RestorePlan]:
        plans = {}
        for name, f in facts.items():
            why = missing(self.inv, f)
            plans[name] = RestorePlan(f"{ETCD_SNAPSHOTS}/restore-{self.when}.db", ETCD_DATA_NEW.format(stamp=self.when),
                                      ETCD_DATA_ASIDE.format(stamp=self.when),
                                      ctl.offline_tool(self.inv, f.version) if f.version else "", why or "")
            if why:
                self.fleet.failed[name] = why
        return plans

    def show(self, plans: dict) -> None:
        for name, p in plans.items():
            if not p.changes:
                continue
            tool = p.tool.rsplit("/", 1)[-1]
            lines = [f"copy {self.source} ({len(self.data)} bytes) to {p.upload}, verify it ({tool} snapshot status)",
                     f"stop {', '.join(STOP)}, then {ETCD}",
                     f"{tool} snapshot restore into {p.new}; move {ETCD_DATA} aside to {p.aside} (kept); "
                     f"move {p.new} to {ETCD_DATA}",
                     f"start {ETCD}, wait until healthy; start {APISERVER}, wait for /readyz; "
                     f"start {CONTROLLER_MANAGER}, {SCHEDULER}"]
            for line in lines:
                say(name, ("would: " if self.opts.dry_run else "") + line)
            self.pending[name].append(f"restore {self.source}; old data dir aside to {p.aside}")

    def apply(self, plans: dict) -> None:
        self.fleet.each(lambda cxn: self.restore(cxn, plans[cxn.host.name]),
                        [h for h in self.fleet.ok() if plans[h.name].changes])

    def restore(self, cxn: Connection, p: RestorePlan) -> None:
        name = cxn.host.name
        hostfiles.put(cxn, p.upload, self.data)
        try:
            status = verified(cxn, p.tool, p.upload)
            say(name, f"{self.source}: {status.says()}")
            try:
                for unit in (*STOP, ETCD):
                    steps.systemctl(cxn, "stop", unit)
                    self.note(name, f"stopped {unit}")
                r = cxn.run(ctl.restore_argv(self.inv, p.tool, p.upload, p.new), sudo=True, check=False)
                if not r.ok:
                    raise RemoteError(f"snapshot restore failed: {r.why()}")
                SWAP.run(cxn, ETCD_DATA, p.aside, p.new, what=f"swapping {ETCD_DATA}")
            except Exception as e:  # the old data is untouched: etcd and the control plane come back on it
                cxn.run(["rm", "-rf", "--", p.new], sudo=True, check=False)
                raise RemoteError(f"{e}; nothing restored: {self.started_again(cxn)}") from None
            self.note(name, f"restored revision {status.revision} into {ETCD_DATA}; the old data dir is {p.aside}")
            try:
                self.start(cxn)
            except RemoteError as e:
                raise RemoteError(f"{e}; the data from before the restore is in {p.aside} (to go back: "
                                  f"stop {ETCD}, move it to {ETCD_DATA}, fab master.restart)") from None
        finally:
            cxn.run(["rm", "-f", "--", p.upload], sudo=True, check=False)

    def start(self, cxn: Connection) -> None:
        """etcd, healthy; the apiserver, ready; then the rest (deploy's order). The waits
        ignore Ctrl-C (no cancel): once etcd is stopped the restore runs to its end, as
        the Fleet lets a running step finish, rather than leave the control plane down."""
        name = cxn.host.name
        steps.systemctl(cxn, "start", ETCD)
        self.note(name, f"started {ETCD}")
        wait_etcd(cxn, self.inv, self.opts.timeout, lambda msg: say(name, msg))
        steps.systemctl(cxn, "start", APISERVER)
        self.note(name, f"started {APISERVER}")
        how = steps.wait_healthy(cxn, self.inv, self.opts.timeout, lambda msg: say(name, msg))
        say(name, f"apiserver ok ({how})")
        steps.systemctl(cxn, "start", CONTROLLER_MANAGER, SCHEDULER)
        self.note(name, f"started {CONTROLLER_MANAGER}, {SCHEDULER}")

    def started_again(self, cxn: Connection) -> str:
        """After a failure before the swap: etcd and the control plane started again on
        the old data, best effort; what came of it, for the reason."""
        try:
            self.start(cxn)
            return "etcd and the control plane started again on the old data"
        except RemoteError as e:
            return f"starting them again failed too: {e}"

    def verify(self, plans: dict) -> None:
        units = (ETCD, APISERVER, CONTROLLER_MANAGER, SCHEDULER)

        def active(cxn):
            r = cxn.run(["systemctl", "is-active", *units], check=False)
            states = dict(zip(units, r.stdout.split()))
            down = [u for u in units if states.get(u) != "active"]
            if down:
                raise RemoteError(f"{down[0]} is {states.get(down[0], 'unknown')} after the restore: "
                                  f"{steps.journal(cxn, down[0])}")
            say(cxn.host.name, f"verified: {', '.join(units)} active")
        self.fleet.each(active, [h for h in self.fleet.ok() if plans[h.name].changes])


def wait_etcd(cxn: Connection, inv: Inventory, timeout: float, progress=None, cancel=None) -> None:
    """Poll `etcdctl endpoint health` until the member answers, bounded; on timeout the
    reason carries etcd's journal."""
    start = time.monotonic()
    deadline, next_note = start + timeout, start + 5
    while True:
        r = cxn.run(ctl.health_argv(inv), sudo=True, check=False)
        if r.ok:
            return
        now = time.monotonic()
        if now >= deadline:
            raise RemoteError(f"etcd not healthy after {timeout:.0f}s ({r.why()}); journal: {steps.journal(cxn, ETCD)}")
        if progress and now >= next_note:
            progress(f"waiting for etcd ({now - start:.0f}s): {r.why()}")
            next_note = now + 5
        steps.pause(cancel, 1)

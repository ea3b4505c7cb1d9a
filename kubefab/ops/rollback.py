"""fab rollback: on each host, the files the last run replaced go back to their previous
versions and the units that use them restart (kubefab.backups), the masters first, one at
a time, each apiserver healthy before the next, then the nodes. The inventory is not read for what to restore: the
hosts' own lists say. The next fab deploy applies the inventory again, undoing this.

Refused when the last run changed the release: binaries have no backups, so the files
put back would run beside the new release's binaries (release_refusal says what to do)."""
from __future__ import annotations

from kubefab import backups, plan as planning, skew
from kubefab.backups import Entry, RollbackPlan, parse, release_change
from kubefab.files import File
from kubefab.layout import BACKUP_DIR, CLUSTER_FILE, LAST_RUN, ROLLED_BACK
from kubefab.ops import rollback_pki
from kubefab.ops.host import HostRun
from kubefab.remote import hostfiles
from kubefab.remote.script import HostScript
from kubefab.remote.transport import Connection

from kubefab.ops.operation import Operation, Options, Step
from kubefab.report import program, say

COMPARE = HostScript("compare-backups", what="comparing backups")
PUT_BACK = HostScript("put-back", what="putting files back")

__all__ = ["Options", "Rollback"]


class Rollback(Operation):
    task = "rollback"

    def steps(self) -> list[Step]:
        return [PutBack(self)]

    def finish(self) -> int:
        if self.changed and not self.opts.dry_run:
            say(None, f"rolled back: the hosts now differ from {self.inv.path.name} ({program()} status says how); "
                      f"the next {program()} deploy applies it again, so change it first to keep this")
        return super().finish()


class PutBack(Step):
    """Each host's last run's files against their newest backups (the host's own list);
    refused when the last run changed the release; put back, the master first and its
    apiserver healthy, then the nodes; then the local PKI's certificates the hosts got
    back (kubefab.ops.rollback_pki)."""
    local = rollback_pki.LocalRestore(None)

    def plan(self) -> dict:
        op = self.op
        facts = op.each(lambda h: gather(h.cxn, op.inv.profile))
        # the newest run, rolled back or not: once a rollback put the last run's files back,
        # an older run's list on another host is no rollback's
        plans, last = {}, backups.newest(run or done for run, _, _, done, _ in facts.values())
        for name, (run, entries, compared, done, release) in facts.items():
            if run != last:  # its files were last changed by an earlier run: not this rollback's
                entries, compared = [], {}
            plans[name] = backups.plan_host(run, entries, compared, op.inv.profile.unit_order(op.inv.host(name)),
                                            done is not None and done == last, release)
        moved = {name: p.release for name, p in plans.items() if p.release}
        if moved:
            name, (before, now) = next(iter(moved.items()))
            op.fail(None, "not rolled back: the last run changed the release")
            self.plans = {}
            return {None: ["refused: " + release_refusal(name, before, now)]}
        self.plans = plans
        masters = [h for h in op.fleet.hosts if h.is_master]  # --hosts may leave it out
        record = op.each(lambda h: hostfiles.read(h.cxn, [CLUSTER_FILE])[CLUSTER_FILE], masters)
        self.local = rollback_pki.plan(op, plans, record.get(op.master.name))
        return {name: p.steps() for name, p in plans.items()}

    def show(self, plan) -> None:
        """Each host's steps, with the diffs of its non-secret files."""
        op, plans = self.op, self.plans
        if None in plan:
            say(None, plan[None][0])
            return
        texts = op.each(lambda h: diffs(h.cxn, plans[h.name]), [h for h in op.fleet.ok() if plans[h.name].changes])
        for name, p in plans.items():
            for line in p.steps():
                say(name, line)
            for diff in texts.get(name, ()):
                say(name, diff)
            if p.changes:
                op.pending[name].append(p.summary().replace("restarted", "restart"))
        for line in self.local.lines(would=op.opts.dry_run):
            say(None, line)

    def has_work(self, plan) -> bool:
        return any(p.changes for p in self.plans.values())

    def apply(self, plan) -> None:
        op = self.op
        todo = [h for h in op.fleet.ok() if h.name in self.plans and self.plans[h.name].changes]

        def put_back(h: HostRun):
            restore(h, self.plans[h.name], op.run_id, h.wait_healthy if h.host.is_master else None)
        for master in [h for h in todo if h.is_master]:  # one at a time, each healthy before the next
            op.each(put_back, [master])
        op.each(put_back, [h for h in todo if not h.is_master])
        for stem in self.local.apply(op.fleet.failed):
            say(None, f"pki: put back {stem}.crt and .key, the version the hosts have again")


def release_refusal(host: str, before: str, now: str) -> str:
    """One line: why a rollback across a release change is refused, and the way back
    that is true for these two releases (skew.refusal decides whether upgrade may
    go back)."""
    old, new = skew.stamp_version(before) or before, skew.stamp_version(now) or now
    why = (f"the last run changed the release on {host} ({old} -> {new}) and rollback puts back files, "
           f"not binaries: {new}'s binaries would run with {old}'s files; ")
    if old == new:
        return why + ("to go back, set the release settings in the inventory as they were (mirror, sums, "
                      f"component versions) and run {program()} upgrade")
    back = skew.refusal(new, old)
    if back is None:
        return why + f"to go back, set kubernetes.version to {old} and run {program()} upgrade (the skew rules allow it)"
    return why + f"{program()} upgrade cannot go back either: {back}"





def gather(cxn: Connection, profile) -> tuple[str | None, list[Entry], dict[str, str], str | None,
                                           tuple[str, str] | None]:
    """The host's last run, its files, how each compares with its backup, the run a
    rollback already put back (None: none), and whether putting them back would change
    the release stamp (release_change)."""
    texts = hostfiles.read(cxn, [LAST_RUN, ROLLED_BACK])
    run, entries = parse(texts[LAST_RUN])
    paths = [e.path for e in entries if e.replaced]
    out = COMPARE.run(cxn, BACKUP_DIR, *paths).stdout if paths else ""
    compared = {p: s for s, _, p in (line.partition("\t") for line in out.splitlines())}
    stamped = profile.stamp_file if compared.get(profile.stamp_file) == "differs" else None
    release = release_change(stamped, profile.stamp_in,
                             hostfiles.read(cxn, [stamped, f"{BACKUP_DIR}{stamped}.1"])) if stamped else None
    done = parse(texts[ROLLED_BACK])[0] or "" if run is None and texts[ROLLED_BACK] is not None else None
    return run, entries, compared, done, release


def diffs(cxn: Connection, plan: RollbackPlan) -> list[str]:
    """What putting the files back changes, as diffs; a secret only says that it changes."""
    shown = [e for e in plan.restore if not e.secret]
    texts = hostfiles.read(cxn, [p for e in shown for p in (e.path, e.backup)])
    out = []
    for e in plan.restore:
        if e.secret:
            out.append(f"secret put back: {e.path} (content not shown)\n")
            continue
        f = File(e.path, texts[e.backup] or "", int(e.mode or "644", 8))
        out.append(planning.diff(planning.Write(f, "update"), texts[e.path]))
    return out


def restore(h: HostRun, plan: RollbackPlan, run_id: str, healthy) -> None:
    """Owe the restarts, put the files back, reload systemd, restart in deploy's order."""
    h.owe(plan.restart, run_id)
    h.guard()  # a run that lost its lock writes nothing more
    args = [a for e in plan.restore for a in (e.path, e.mode, e.owner, e.group)]
    PUT_BACK.run(h.cxn, BACKUP_DIR, LAST_RUN, ROLLED_BACK, *args)
    h.note(f"put back {len(plan.restore)} files")
    if plan.reload:
        h.systemctl("daemon-reload")
    h.activate(plan.restart, healthy=healthy, marks=set(plan.restart))

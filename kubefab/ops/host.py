"""One host in one run: what an operation does there, each step a method of `HostRun`
(its connection, the inventory and the run's settings in one object, so that no step
takes half a dozen callbacks).

Bringing a host's units in line with their files is done so that a run stopped at any
point (killed, Ctrl-C, a host lost, a full disk, a timeout) leaves the next run able to
finish: the restarts a change owes are recorded on the host (OWED_DIR) before any file
changes or the download runs, and a unit's mark goes only once it restarted or started;
the download runs without holding a channel open and is awaited on the unit's journal;
restarts go in the profile's order (the store, then the apiserver, healthy, then the
rest), each noted as it happens so a recap after a failure says what was done.

Each step is as few round trips as its order allows: the marks, the files, the units
enabled (systemd reloaded only where it needs it), the download started and followed
for its first slice go in one (kubefab.remote.script.together); a unit's (re)start and
its mark's removal in one."""
from __future__ import annotations

import shlex
from dataclasses import dataclass, replace
from kubefab import facts
from kubefab.layout import (ALL_UNITS, APISERVER, CLUSTER_FILE, DOWNLOAD, DOWNLOAD_TIMEOUT, LOCK_DIR, OWED_DIR,
                            STAGE_DIR, stamp_path)
from kubefab.plan import HostPlan
from kubefab.remote import hostfiles, wait
from kubefab.remote.lease import LockLost
from kubefab.remote.script import BatchError, HostScript, together
from kubefab.remote.transport import Connection, Interrupted, RemoteError, Result
from kubefab.report import say

PROBE = HostScript("probe", what="probe")
OWE = HostScript("owe", what="recording the restarts owed")
RELOAD = HostScript("reload", what="systemctl enable/daemon-reload")
RUN_DOWNLOAD = HostScript("run-download", what="starting the download")
ACTIVATE = HostScript("activate", what="starting units", ok=(0, 4))  # 4: the lock is not the run's
DOWNLOAD_SLICE = 30.0  # seconds one round trip follows the download's journal
DOWNLOAD_LOOK = wait.Look.of_unit(DOWNLOAD)
# the first slice, in the batch that writes: its changes are said when it returns, so it is
# short, said before a lease renewal (kubefab.remote.lease) could find the lock lost meanwhile
FIRST_SLICE = wait.PROGRESS_EVERY


def _stripped(answer: Result) -> Result:
    """A batch's look part's answer as wait.look_once gives it."""
    return replace(answer, stdout=answer.stdout.strip())


def probe(cxn: Connection, inv, wanted: dict) -> facts.HostFacts:
    """Everything deploy and status compare, in one root command; on the master also the
    profile's health checks, the node list and the add-ons' live objects, so that a no-op
    run needs nothing more.
    Every unit of kubefab's is asked, the host's role's first: one its role does not have
    must not run there; and the cluster's record (kubefab.identity), on any host (one
    that was a master holds it)."""
    host = cxn.host
    own = (*inv.profile.unit_order(host), inv.profile.target(host))
    units = (*own, *(u for u in ALL_UNITS if u not in own))
    loopback = inv.profile.loopback()
    nodes = inv.profile.node_list(host) if host.is_master else None
    api = dict(healthz=inv.profile.health(host).argv, loopback=loopback.argv if loopback else (),
               lists=[nodes, *(c for _, c in inv.profile.addon_lists())]) if nodes else {}
    out = PROBE.run(cxn, *facts.probe_args(stamp_path(inv.kubernetes.install_dir), LOCK_DIR, wanted, units, **api,
                                           owed_dir=OWED_DIR, stage_dir=STAGE_DIR, cluster_file=CLUSTER_FILE))
    return facts.parse(out.stdout, wanted, nodes.url if nodes else "")


def activation(verb: str, units, clear=(), holder: str | None = None):
    """ACTIVATE's part: systemctl start or restart `units`, then the marks of `clear` removed;
    with a `holder` (the run's lock), nothing starts unless the host's lock is its (exit 4:
    hostfiles.check_lock)."""
    argv = ["systemctl", verb, *units]
    lock = (LOCK_DIR, holder) if holder else ("", "")
    return ACTIVATE.part(verb, OWED_DIR, "\n".join(clear), *lock, *units,
                         what=f"{shlex.join(argv[:3])}{' ...' if len(argv) > 3 else ''}")


@dataclass
class HostRun:
    cxn: Connection
    op: object  # the run it is part of (kubefab.ops.operation.Operation): its inventory, options, notes

    @property
    def host(self):
        return self.cxn.host

    @property
    def name(self) -> str:
        return self.cxn.host.name

    @property
    def inv(self):
        return self.op.inv

    # -- saying ----------------------------------------------------------------------
    def note(self, what: str) -> None:
        """A change made, said now and in the recap."""
        self.op.note(self.name, what)

    def notes(self, changes) -> None:
        for what in changes:
            if what:
                self.note(what)

    def say(self, text: str) -> None:
        say(self.name, text)

    # -- facts -----------------------------------------------------------------------
    def probe(self, wanted: dict) -> facts.HostFacts:
        return probe(self.cxn, self.inv, wanted)

    def journal(self, unit: str, lines: int = 8) -> str:
        """The last lines a unit logged, folded into one line for a reason."""
        r = self.cxn.run(["journalctl", "-u", unit, "-n", str(lines), "--no-pager", "-o", "cat"], sudo=True,
                         check=False)
        return " | ".join(r.stdout.strip().splitlines()[-lines:]) or "(no journal lines)"

    def guard(self) -> None:
        """Before each change: a run that lost its lock (op.lost) or was interrupted does
        nothing more here."""
        lost = getattr(self.op, "lost", None)
        if lost:
            raise RemoteError(lost)
        if self.op.fleet.cancel.is_set():
            raise Interrupted()

    def systemctl(self, *args: str) -> None:
        self.guard()
        self.cxn.run(["systemctl", *args], sudo=True)

    def kubectl(self, *args: str, stdin: bytes | None = None, timeout: float = 60, check: bool = True) -> Result:
        """The profile's kubectl on this host (the master), as root where its
        credentials are root's."""
        return self.cxn.run([*self.inv.profile.kubectl(), *args], sudo=self.inv.profile.kubectl_as_root,
                            stdin=stdin, timeout=timeout, check=check)

    # -- converging ------------------------------------------------------------------
    def owe(self, units, why: str) -> None:
        """Record, before anything changes, that `units` must restart (`why`: the run)."""
        if units:
            self.guard()
            OWE.run(self.cxn, OWED_DIR, why, *units)

    @property
    def holder(self) -> str | None:
        """The run's lock when the operation holds one (what the host's must be for a unit to
        start), else None: nothing checked."""
        return self.op.run_id if getattr(self.op, "locked", False) else None

    def lock_lost(self, e: LockLost, done=()) -> None:
        """A script found the host's lock another run's: what was `done` before it is said,
        and the whole run stops (op.lost_lock)."""
        self.notes(done)
        if hasattr(self.op, "lost_lock"):
            self.op.lost_lock(self.name, e)

    def units(self, verb: str, units, clear=()) -> None:
        """systemctl start or restart `units`; once done, the owed marks of `clear` removed
        (nothing, LockLost, when the host's lock is not the run's)."""
        self.guard()
        part = activation(verb, units, clear, holder=self.holder)
        try:
            hostfiles.check_lock(self.cxn, ACTIVATE.run(self.cxn, *part.args, what=part.what))
        except LockLost as e:
            self.lock_lost(e)
            raise

    def write(self, plan: HostPlan, start=(), clear=()) -> None:
        """In one round trip: the restarts owed recorded, the files put in place
        (kubernetes.backups of each; only while the host's lock is the run's), the units
        enabled, systemd reloaded where it needs it, the download started, `start`
        started (the owed marks of `clear` removed then), the download followed for
        FIRST_SLICE seconds; then awaited further if it is not done. Each noted as
        done."""
        files = [w.file for w in plan.writes]
        parts, notes, stdin, install_at = [], [], None, None
        if plan.owe:
            parts.append(OWE.part(OWED_DIR, self.op.run_record, *plan.owe))
            notes.append(None)
        if files:
            part, stdin = hostfiles.install_part(files, run=self.op.run_record, keep=self.inv.kubernetes.backups,
                                                 holder=getattr(self.op, "run_id", None))
            install_at = len(parts)
            parts.append(part)
            notes.append(f"wrote {len(files)} files")
        if plan.daemon_reload or plan.enable:
            parts.append(RELOAD.part("yes" if plan.daemon_reload else "", *plan.enable))
            notes.append("enabled " + ", ".join(plan.enable) if plan.enable else None)
        if plan.download:
            parts.append(RUN_DOWNLOAD.part(DOWNLOAD, plan.download_was, what=f"starting {DOWNLOAD}"))
            notes.append(None)
        activate_at = None
        if start:
            activate_at = len(parts)
            parts.append(activation("start", start, clear, holder=self.holder))
            notes.append("started " + ", ".join(start))
        self.guard()

        def batch(look=None):
            """The parts in one round trip, each noted once done; `look`: the download's
            first look, the batch's last part (its answer returned)."""
            sent = wait.clock_of(self.cxn).monotonic()  # an install extends the host's lease from later on
            try:
                answers = together(self.cxn, parts + ([look] if look else []), stdin=stdin,
                                   cancel=self.op.fleet.cancel) if parts or look else []
            except BatchError as e:  # what was done before the part that failed is said
                self.notes(notes[:e.done])
                raise
            at = install_at
            try:
                if install_at is not None:
                    hostfiles.check_lock(self.cxn, answers[install_at])  # exit 4 ended the batch there
                    if hasattr(self.op, "lease_extended"):  # so its renewal waits
                        self.op.lease_extended(self.name, sent)
                if activate_at is not None and activate_at < len(answers):
                    at = activate_at  # the lock lost since the install (or none there): nothing started
                    hostfiles.check_lock(self.cxn, answers[activate_at])
            except LockLost as e:  # another run holds this host's lock: the whole run stops
                self.lock_lost(e, notes[:at])
                raise
            self.notes(notes)
            return answers[-1] if look else None
        if not plan.download:
            batch()
            return
        # the batch that starts the download also follows it for its first slice: a download
        # done by then costs no round trip of its own
        self.await_download(first=lambda seconds: _stripped(batch(wait.look_part(DOWNLOAD_LOOK,
                                                                                 min(seconds, FIRST_SLICE)))))
        self.note("installed the release")

    def await_download(self, first=None) -> None:
        """The download's end, awaited on its journal, bounded twice: the unit's
        TimeoutStartSec and DOWNLOAD_TIMEOUT here (`first`: the first round trip's look,
        as wait.on_host takes it). A failed download keeps the previous binaries (the
        unit's promise)."""
        timeout = DOWNLOAD_TIMEOUT + 30
        try:
            r = wait.on_host(self.cxn, DOWNLOAD_LOOK, what=DOWNLOAD, timeout=timeout, progress=self.say,
                             cancel=self.op.fleet.cancel, slice=DOWNLOAD_SLICE, first=first)
        except wait.Timeout as e:
            raise RemoteError(f"{DOWNLOAD} still {e.last or 'running'} after {timeout:.0f}s: "
                              f"{self.journal(DOWNLOAD, 1)}") from None
        if r.stdout == "failed":
            raise RemoteError(f"{DOWNLOAD} failed: {self.journal(DOWNLOAD)}")
        self.guard()  # a download that ended after the lock was lost may be another run's

    def wait_healthy(self, interruptible: bool = True) -> str:
        """Wait on the master (as root: the check reads the admin key) until the
        profile's health check says ok, as wupiao did, bounded by the run's timeout: the
        reason then carries the apiserver's journal. Returns what was asked."""
        check = self.inv.profile.health(getattr(self.cxn, "host", None))  # this master's own
        look = wait.Look(check.argv, frozenset({"ok"}))
        timeout = self.op.opts.timeout
        try:
            wait.on_host(self.cxn, look, what=check.url, timeout=timeout,
                         progress=self.say, cancel=self.op.fleet.cancel if interruptible else None)
        except wait.Timeout as e:
            raise RemoteError(f"apiserver at {check.url} not healthy after {timeout:.0f}s (last answer: {e.last}); "
                              f"journal: {self.journal(APISERVER)}") from None
        return check.says

    def retire(self, units) -> None:
        """Stop and disable kubefab's units the host's role does not have (a role it had, a
        registration mode or network it used), before anything else changes."""
        if units:
            self.systemctl("stop", *units)
            self.systemctl("disable", "--quiet", *units)
            self.note("stopped and disabled " + ", ".join(units))

    def wait_serving(self, unit: str) -> None:
        """After `unit` (re)started: until it serves, where the profile can tell
        (inv.profile.unit_health: kubefab's etcd answers `endpoint health`), bounded by the
        run's timeout, so that what uses it next (the apiserver) finds it up."""
        argv = self.inv.profile.unit_health(unit, self.host)
        if not argv:
            return
        timeout = self.op.opts.timeout
        try:
            wait.on_host(self.cxn, wait.Look(tuple(argv), frozenset({"exit 0"}), every=0.5), what=unit,
                         timeout=timeout, progress=self.say, cancel=self.op.fleet.cancel)
        except wait.Timeout as e:
            raise RemoteError(f"{unit} not healthy after {timeout:.0f}s (last answer: {e.last}); "
                              f"journal: {self.journal(unit)}") from None

    def activate(self, restart=(), start=(), healthy=None, *, why=None, marks=()) -> None:
        """The master's order, on any host: restart the units the profile restarts first
        (kubefab's etcd, serving, then the apiserver) when in `restart`, start `start` (the
        target first), wait for `healthy()` (the apiserver), then restart the rest. Each
        noted, with why it restarts (`why`: unit -> why); a unit in `marks` has its owed
        mark cleared once done."""
        why = why or {}

        def restart_each(units, serving=False):
            for unit in units:
                self.units("restart", [unit], clear=[unit] if unit in marks else [])
                self.note(f"restarted {unit}" + (f" ({why[unit]})" if unit in why else ""))
                if serving:
                    self.wait_serving(unit)
        first = [u for u in self.inv.profile.restart_first(self.host) if u in restart]
        restart_each(first, serving=True)
        if start:
            self.units("start", start, clear=[u for u in start if u in marks])
            self.note("started " + ", ".join(start))
        if healthy:
            healthy()
        restart_each([u for u in restart if u not in first])

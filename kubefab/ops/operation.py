"""The shape every change kubefab makes has, as k0sctl's phases: an operation is an
explicit list of steps (`Operation.steps()`), each a `Step` that knows what it would do
(`plan()`, shown before anything changes, and all a dry run does) and does exactly that
(`apply()`). Steps that only read (`reads`) gather facts, in a dry run too. Here too what
the operations share: host keys checked before any write, the cluster lock (taken before
the first step with work), Ctrl-C, the recap and its re-run hint.

Each host in a run is a `HostRun` (kubefab.ops.host): a step works on it through one
object, never a bundle of callbacks. The tasks only parse flags and call `run()`."""
from __future__ import annotations

import json as jsonlib
import os
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timezone

from kubefab import report
from kubefab.model import Host, Inventory
from kubefab.ops.host import HostRun
from kubefab.remote import lease, wait
from kubefab.remote.fleet import Fleet
from kubefab.remote.transport import Connect, HostKeyError, Interrupted, RemoteError
from kubefab.report import outcome, recap, say

LOCK_RETRY = 2.0  # seconds between tries for a held lock (--wait-lock)


@dataclass(frozen=True)
class Options:
    dry_run: bool = False
    parallel: int = 10
    timeout: float = 120  # for the apiserver to be healthy and nodes to be Ready
    accept_new: bool = False
    wait_lock: bool = False
    json: bool = False  # the recap as JSON on stdout, progress on stderr
    invocation: tuple[str, ...] = ()  # the command the operator ran (program, task, flags): the re-run hint's


class Step:
    """One phase of an operation. plan() says what it would do, per host (None: the
    cluster as a whole), one line each ({} or empty lists: nothing); show() says it; apply()
    does it. A step that `reads` only gathers facts: its plan() reads, it shows nothing,
    and it runs in a dry run too."""
    reads = False

    def __init__(self, op: Operation):
        self.op = op

    def plan(self) -> dict[str | None, list[str]]:
        return {}

    def show(self, plan: dict) -> None:
        for host, lines in plan.items():
            for line in lines:
                say(host, line)
            if lines and host is not None:
                self.op.pending[host].append(self.summary(host, lines))

    def summary(self, host: str, lines: list[str]) -> str:
        """What a dry run's recap says of this step on `host`."""
        return "; ".join(lines)

    def apply(self, plan: dict) -> None:
        """Do what plan() said; called after every step's show in a real run, so a step
        with no work (has_work false: no lock taken for it) returns at once or only checks."""

    def has_work(self, plan: dict) -> bool:
        """Whether apply() changes anything (so the run takes the cluster lock first)."""
        return any(plan.values())


class Operation:
    task = ""  # the task's name, for the recap's re-run hint
    takes_hosts = True  # the task has --hosts: the re-run hint names the failed ones

    def __init__(self, inv: Inventory, hosts: list[Host], opts: Options, connect: Connect | None = None):
        self.inv, self.opts, self.master = inv, opts, inv.master
        self.fleet = Fleet(hosts, parallel=opts.parallel, accept_new=opts.accept_new, connect=connect)
        self.changed: dict[str, list[str]] = defaultdict(list)
        self.pending: dict[str, list[str]] = defaultdict(list)  # what a dry run would change, per host
        self.facts: dict = {}  # host name -> HostFacts, from the probe
        self.first: dict = {}  # host name -> what at_connect read there
        self.phase = "while connecting"  # what an interrupted host was doing, for the recap
        self.locked = False  # this run holds the cluster lock
        self.renewer: lease.Renewer | None = None  # renews its lease while it does
        self.lost: str | None = None  # why this run stopped: another run took its lock (lost_lock)
        started = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
        # 48 random bits, as uuid4().hex[:12] gave them, without uuid's imports (platform)
        self.run_id = lease.holder_for(local_user(), os.getpid(), started, os.urandom(6).hex())
        # what a host's LAST_RUN names: the run, and when, to the nanosecond, so that rollback
        # can tell the newest run apart from one that last touched another host
        self.run_record = f"{self.run_id} t={time.time_ns()}"

    def steps(self) -> list[Step]:
        """The operation, in order."""
        raise NotImplementedError

    def at_connect(self, h: HostRun) -> object:
        """A read each host does as soon as its own connection opens (kept in self.first
        by host name), so that its first step's round trip need not wait for the slowest
        host's connection: deploy's probe. None: nothing."""
        return None

    # -- hosts ---------------------------------------------------------------------------
    def on(self, cxn) -> HostRun:
        return HostRun(cxn, self)

    def each(self, fn, hosts=None, **kwargs) -> dict[str, object]:
        """fn(HostRun) on each healthy host of `hosts` (all when None), in parallel
        (kubefab.remote.fleet.Fleet.each)."""
        return self.fleet.each(lambda cxn: fn(self.on(cxn)), hosts, **kwargs)

    def fail(self, hosts, why: str) -> None:
        """Every healthy host of `hosts` (all when None) stops here, for `why`."""
        for h in self.fleet.ok(hosts):
            self.fleet.failed[h.name] = why

    def answering_master(self) -> Host:
        """Where this run runs kubectl: the first master of the inventory that this run
        reached (with several masters, one that is down leaves it to the next), else the
        first master."""
        hosts = {h.name for h in self.fleet.hosts}
        return next((m for m in self.inv.masters if m.name in hosts and m.name not in self.fleet.failed),
                    self.inv.master)

    # -- the shape -------------------------------------------------------------------------
    def run(self) -> int:
        try:
            # inside: Ctrl-C while connecting is an interrupted run too
            self.first = self.fleet.open(lambda cxn: self.at_connect(self.on(cxn)))
            return self.converge()
        except (Interrupted, KeyboardInterrupt):
            if self.lost:  # not the operator's Ctrl-C: another run holds the lock now
                self.fleet.cancel.clear()
                if self.locked:
                    self.unlock()  # the hosts whose lock is still this run's
                return self.finish()
            say(None, f"interrupted: each host stopped after its current (atomic) step; "
                      f"run {self.hint(self.rows())} again to converge")
            for h in self.fleet.ok():  # their later phases never ran
                self.fleet.failed[h.name] = f"interrupted (Ctrl-C) {self.phase}"
            self.fleet.cancel.clear()
            if self.locked:
                self.unlock()
            self.finish()
            return 130
        finally:
            self.fleet.close()

    def converge(self) -> int:
        if self.key_problems():
            return self.finish()
        self.master = self.answering_master()
        self.phase = "before any change"
        try:
            for step in self.steps():
                plan = step.plan()
                if step.reads:
                    continue
                step.show(plan)
                if self.opts.dry_run:
                    continue
                if step.has_work(plan):
                    if not self.locked and not self.lock():
                        break
                    self.phase = "before the run finished"
                step.apply(plan)
        finally:
            if self.lost:  # the cancel stopped this run's steps; its other hosts' locks go
                self.fleet.cancel.clear()
            if self.locked and not self.fleet.cancel.is_set():  # after Ctrl-C, run() unlocks
                self.unlock()
        return self.finish()

    def key_problems(self) -> bool:
        """An unknown or changed host key stops the whole run before anything is written."""
        bad = [n for n, e in self.fleet.errors.items() if isinstance(e, HostKeyError)]
        if bad:
            say(None, f"stopping before any change: host key problem on {', '.join(bad)}")
            self.fail(None, "not touched: another host's key is unknown or changed")
        return bool(bad)

    # -- the cluster lock (kubefab.remote.lease) ---------------------------------------------------
    def lock(self) -> bool:
        """Take every host's lock, or none: when a host refuses, release what this run
        took and say who holds it (waiting for it with --wait-lock, in the one wait: a try
        every LOCK_RETRY seconds, progress every 5, Ctrl-C at once). Held, the lease is
        renewed in the background until unlock()."""
        stale: dict[str, str] = {}
        clock = wait.clock_of(next(iter(self.fleet.connections.values()), None))
        refusal: list[tuple[str, lease.Held]] = []  # the last: (host, held)

        def attempt(_seconds: float) -> bool | None:
            nonlocal stale
            self.locked = True  # from the first host taken: Ctrl-C releases what was
            sent = clock.monotonic()  # each lease taken ends LEASE seconds after this at the earliest
            got = self.fleet.each(lambda cxn: lease.take(cxn, self.run_id, stale.get(cxn.host.name, "")))
            refused = {n: held for n, (held, _) in got.items() if held}
            if not refused:
                for name, (_, old) in got.items():
                    if old and old.holder not in stale.values():
                        say(name, f"took over the lock of {lease.who(old.holder)} ({old.lease()})")
                self.renewer = lease.Renewer({n: self.fleet.connections[n] for n in got},
                                             self.run_id, self.lost_lock, since=sent, clock=clock)
                self.renewer.start()
                return True
            gone = {n: lease.gone_here(held.holder) for n, held in refused.items()}
            if all(gone.values()) and not stale:  # a dead run of this machine's (SIGKILL): free at once
                stale = {n: held.holder for n, held in refused.items()}
                for holder in dict.fromkeys(stale.values()):
                    say(None, f"the lock of {lease.who(holder)} is free: {next(iter(gone.values()))}")
                return attempt(_seconds)
            self.unlock()
            name, held = next(iter(refused.items()))
            if self.opts.wait_lock and (not refusal or refusal[0][1].holder != held.holder):
                say(None, f"waiting for the lock held by {lease.who(held.holder)} (on {name}, {held.lease()})")
            refusal[:], stale = [(name, held)], {}
            return None if self.opts.wait_lock else False

        try:
            took = wait.until(attempt, what="the cluster lock", timeout=self.opts.timeout, pause=LOCK_RETRY,
                              progress=lambda text: say(None, text), cancel=self.fleet.cancel,
                              clock=clock,
                              status=lambda: f"held by {lease.who(refusal[0][1].holder)}" if refusal else "")
        except wait.Timeout:
            took = False
        if not took:
            name, held = refusal[0]
            why = f"cluster locked by {lease.who(held.holder)} (lock on {name}, {held.lease()}); " + (
                "if that run was killed, re-run once its lease expires, or wait with --wait-lock"
                if held.left is not None else f"if that run is dead: {report.program()} unlock --force")
            for h in self.fleet.ok():
                self.fleet.failed[h.name] = why
        return took

    def lost_lock(self, name: str, held) -> None:
        """Another run removed or took over this run's lock (`held`: the renewal's Held, or
        the install script's LockLost): nothing more is safe here. Every host stops before
        its next change (the cancel ends every wait within a second; the install script
        itself writes nothing under another run's lock), and the run fails naming who
        holds it now."""
        if self.lost:
            return
        why = str(lease.LockLost(name, held.holder))
        self.lost = why
        say(name, why)
        for h in self.fleet.ok():
            self.fleet.failed.setdefault(h.name, why)
        self.fleet.cancel.set()

    def lease_extended(self, name: str, since: float) -> None:
        """The install script extended `name`'s lease (under its lock, in a command sent
        at `since`): its renewal is due RENEW_AFTER seconds after that."""
        if self.renewer:
            self.renewer.extended(name, since)

    def unlock(self) -> None:
        """Stop renewing, and release this run's locks on every host, failed ones too."""
        if self.renewer:
            self.renewer.stop()
            self.renewer = None

        def release(cxn):
            try:
                lease.release(cxn, self.run_id)
            except RemoteError:
                pass  # unreachable: we never took its lock, or its lease ends on its own
        self.fleet.each(release, even_failed=True)
        self.locked = False

    # -- reporting -----------------------------------------------------------------------------
    def note(self, host: str, what: str) -> None:
        self.changed[host].append(what)
        say(host, what)

    def rerun(self, failing: list[str]) -> str:
        """The command that re-runs just the failed hosts, for the recap's last line."""
        return self.hint(failing)

    def hint(self, hosts: list[str]) -> str:
        """The operator's own command again (report.rerun_hint: the same program and
        flags, --dry-run kept, nothing added), for `hosts` where the task takes --hosts."""
        return report.rerun_hint(self.command(), self.task, hosts if self.takes_hosts else None)

    def command(self) -> tuple[str, ...]:
        """The command the operator ran (Options.invocation), else this operation's own
        as a command: the task, its arguments (`arguments()`) and --dry-run if it is one."""
        return self.opts.invocation or (report.program(), self.task, *self.arguments(),
                                        *(["--dry-run"] if self.opts.dry_run else []))

    def arguments(self) -> list[str]:
        """The task's own arguments that a re-run needs (a node's name, a file)."""
        return []

    def rows(self) -> list[str]:
        """The hosts the recap has a line for."""
        return [h.name for h in self.fleet.hosts]

    def finish(self) -> int:
        pending = self.pending if self.opts.dry_run else None
        failing = [h for h in self.rows() if h in self.fleet.failed]
        rerun = self.rerun(failing) if failing else None
        if self.opts.json:
            data = outcome(self.rows(), self.changed, self.fleet.failed, self.task, pending, rerun)
            print(jsonlib.dumps(data, indent=2))
        else:
            recap(self.rows(), self.changed, self.fleet.failed, self.task, pending=pending, rerun=rerun)
        return 1 if self.fleet.failed else 0


def local_user() -> str:
    """Who runs kubefab, for the cluster lock (lease.holder_for adds the machine)."""
    return f"{os.environ.get('USER') or os.getuid()}"

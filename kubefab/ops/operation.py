"""One shape for every change kubefab makes: gather facts, plan, show, apply, verify,
over one Fleet; a dry run stops after show. Here too what the operations share: host
keys checked before any write, the cluster lock, Ctrl-C, node registration, the recap.

deploy.py, master_restart.py and nodes_register.py fill in the phases; the tasks only
parse flags and call `run()`."""
from __future__ import annotations

import json as jsonlib
import os
import socket
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timezone

from kubefab.remote import lease
from kubefab import registration
from kubefab.ops import steps
from kubefab.remote.fleet import Fleet, Interrupted
from kubefab.layout import KUBELET
from kubefab.model import Host, Inventory
from kubefab.report import outcome, recap, say
from kubefab.remote.transport import Connect, HostKeyError, RemoteError


@dataclass(frozen=True)
class Options:
    dry_run: bool = False
    parallel: int = 10
    timeout: float = 120  # for the apiserver to be healthy and nodes to be Ready
    accept_new: bool = False
    wait_lock: bool = False
    json: bool = False  # the recap as JSON on stdout, progress on stderr


class Operation:
    task = ""  # the fab task, for the recap's re-run hint

    def __init__(self, inv: Inventory, hosts: list[Host], opts: Options, connect: Connect | None = None):
        self.inv, self.opts, self.master = inv, opts, inv.master
        self.fleet = Fleet(hosts, parallel=opts.parallel, accept_new=opts.accept_new, connect=connect)
        self.changed: dict[str, list[str]] = defaultdict(list)
        self.pending: dict[str, list[str]] = defaultdict(list)  # what a dry run would change, per host
        self.facts: dict = {}  # host name -> HostFacts, from the probe
        self.phase = "while connecting"  # what an interrupted host was doing, for the recap
        self.locked = False  # this run holds the cluster lock
        self.renewer: lease.Renewer | None = None  # renews its lease while it does
        started = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
        self.run_id = f"{local_user()} pid {os.getpid()} since {started} (run {uuid.uuid4().hex[:12]})"
        # what a host's LAST_RUN names: the run, and when, to the nanosecond, so that rollback
        # can tell the newest run apart from one that last touched another host
        self.run_record = f"{self.run_id} t={time.time_ns()}"

    # -- the phases, each operation's own ----------------------------------------------
    def gather(self) -> dict:
        return self.fleet.each(lambda cxn: steps.probe(cxn, self.inv, {}))

    def plan(self, facts: dict) -> dict:
        raise NotImplementedError

    def show(self, plans: dict) -> None:
        raise NotImplementedError

    def changes(self, plans: dict) -> bool:
        """Whether applying `plans` changes anything (and so takes the lock)."""
        return any(p.changes for p in plans.values())

    def apply(self, plans: dict) -> None:
        raise NotImplementedError

    def verify(self, plans: dict) -> None:
        pass

    # -- the shape -------------------------------------------------------------------------
    def run(self) -> int:
        try:
            self.fleet.open()  # inside: Ctrl-C while connecting is an interrupted run too
            return self.converge()
        except (Interrupted, KeyboardInterrupt):
            say(None, f"interrupted: each host stopped after its current (atomic) step; "
                      f"run fab {self.task} again to converge")
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
        self.phase = "before any change"
        self.facts = self.gather()
        plans = self.plan(self.facts)
        self.show(plans)
        if self.opts.dry_run:
            return self.finish()
        if self.changes(plans) and not self.lock():
            return self.finish()
        self.phase = "before the run finished"
        try:
            self.apply(plans)
            self.verify(plans)
        finally:
            if self.locked and not self.fleet.cancel.is_set():  # after Ctrl-C, run() unlocks
                self.unlock()
        return self.finish()

    def key_problems(self) -> bool:
        """An unknown or changed host key stops the whole run before anything is written."""
        bad = [n for n, e in self.fleet.errors.items() if isinstance(e, HostKeyError)]
        if bad:
            say(None, f"stopping before any change: host key problem on {', '.join(bad)}")
            for h in self.fleet.ok():
                self.fleet.failed[h.name] = "not touched: another host's key is unknown or changed"
        return bool(bad)

    # -- the cluster lock (kubefab.remote.lease) ---------------------------------------------------
    def lock(self) -> bool:
        """Take every host's lock, or none: when a host refuses, release what this run
        took and say who holds it (waiting for it with --wait-lock). Held, the lease is
        renewed in the background until unlock()."""
        deadline = time.monotonic() + self.opts.timeout
        while True:
            self.locked = True  # from the first host taken: Ctrl-C releases what was
            got = self.fleet.each(lambda cxn: lease.take(cxn, self.run_id))
            refused = {n: held for n, (held, _) in got.items() if held}
            if not refused:
                for name, (_, old) in got.items():
                    if old:
                        say(name, f"took over the lock of {old.holder} ({old.lease()})")
                self.renewer = lease.Renewer({n: self.fleet.connections[n] for n in got},
                                             self.run_id, self.lost_lock)
                self.renewer.start()
                return True
            self.unlock()
            name, held = next(iter(refused.items()))
            if not self.opts.wait_lock or time.monotonic() > deadline:
                why = f"cluster locked by {held.holder} (lock on {name}, {held.lease()}); " + (
                    "if that run was killed, re-run once its lease expires, or wait with --wait-lock"
                    if held.left is not None else "if that run is dead: fab unlock --force")
                for h in self.fleet.ok():
                    self.fleet.failed[h.name] = why
                return False
            say(None, f"waiting for the lock held by {held.holder} (on {name}, {held.lease()})")
            time.sleep(2)

    def lost_lock(self, name: str, held: lease.Held) -> None:
        """Another run removed or took over this run's lock: nothing more is safe here;
        every host stops after its current step, and the run fails."""
        now = "nobody" if held.holder.startswith("nobody") else held.holder
        why = f"lost the cluster lock on {name} (now held by {now}; fab unlock --force?): stopped"
        say(name, why)
        for h in self.fleet.ok():
            self.fleet.failed.setdefault(h.name, why)

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

    # -- nodes registered, labelled and Ready --------------------------------------------------
    def register(self, wanted: dict[str, dict[str, str]], note, wait=None, operator=None) -> None:
        """Registration passes on the master until every wanted node is registered,
        labelled and Ready; a node that is not by the timeout fails with why. note(cmd)
        for each kubectl command run; wait(cxn) first, for the apiserver; operator: node
        -> the labels nodes.register --label sets (recorded as the operator's)."""
        name = self.master.name
        if not wanted or name in self.fleet.failed:
            return

        def settle(cxn):
            if wait:
                wait(cxn)
            return steps.settle_nodes(cxn, self.inv, wanted, self.opts.timeout, note, self.fleet.cancel,
                                      lambda msg: say(name, msg), operator)
        results = {name: {}} if self.settled(wanted, operator) else self.fleet.each(settle, [self.master])
        pending = results.get(name) or {}
        if name in results and not pending:
            say(name, f"verified: {len(wanted)} node(s) registered, labelled, Ready")
        for node, why in pending.items():
            self.fleet.failed[node] = (f"{why} after {self.opts.timeout:.0f}s (check its kubelet: "
                                       f"journalctl -u {KUBELET})")

    def settled(self, wanted: dict, operator=None) -> bool:
        """Nothing changed in this run and the master's probe already saw every wanted
        node registered, labelled and Ready: verified without another round trip."""
        master = self.facts.get(self.master.name)
        if self.changed or not master or master.healthz != "ok" or master.nodes_json is None:
            return False
        return not registration.pending(wanted, registration.node_states(master.nodes_json), operator)

    # -- reporting -----------------------------------------------------------------------------
    def note(self, host: str, what: str) -> None:
        self.changed[host].append(what)
        say(host, what)

    def rerun(self, failing: list[str]) -> str:
        """The command that re-runs just the failed hosts, for the recap's last line."""
        return f"fab {self.task} --hosts {','.join(failing)}"

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
    """Who runs kubefab, for the cluster lock."""
    return f"{os.environ.get('USER') or os.getuid()}@{socket.gethostname()}"

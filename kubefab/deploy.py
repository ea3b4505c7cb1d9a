"""fab deploy, phase by phase: gather facts, plan, show, apply, verify.

Order as the original came up by hand: files and release on every host, then the
master, its apiserver healthy, then the nodes, then registration, then a check that
every node is registered and Ready. A failed host is reported and left out of later
phases; the others go on."""
from __future__ import annotations

import os
import socket
import time
import uuid
from collections import defaultdict
from datetime import datetime, timezone
from dataclasses import dataclass

from . import pki, plan as planning, registration, render, steps
from .fleet import Fleet, Interrupted
from .layout import APISERVER, KUBELET
from .model import Host, Inventory
from .transport import Connect, HostKeyError, RemoteError
from .report import recap, say


@dataclass(frozen=True)
class Options:
    dry_run: bool = False
    parallel: int = 10
    timeout: float = 120  # for the apiserver to be healthy and nodes to be Ready
    accept_new: bool = False
    wait_lock: bool = False


class Deploy:
    def __init__(self, inv: Inventory, targets: list[Host], opts: Options, connect: Connect | None = None):
        self.inv, self.targets, self.opts = inv, targets, opts
        self.master = inv.master
        hosts = targets if self.master in targets else [self.master, *targets]
        self.fleet = Fleet(hosts, parallel=opts.parallel, accept_new=opts.accept_new, connect=connect)
        self.changed: dict[str, list[str]] = defaultdict(list)
        self.facts: dict = {}  # host name -> HostFacts, from the probe
        self.healthy = False  # the apiserver answered /healthz ok during this run
        started = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
        self.run_id = f"{local_user()} pid {os.getpid()} since {started} (run {uuid.uuid4().hex[:12]})"
        self.pki = pki.ensure(inv)  # once per run: certificates made or renewed locally, as needed
        for what in self.pki.changes if self.pki else ():
            say(None, f"pki: {what}")

    # -- the phases ------------------------------------------------------------------
    def run(self) -> int:
        wanted = {h.name: render.render_host(self.inv, h, self.pki) for h in self.targets}
        with self.fleet:
            try:
                return self.converge(wanted)
            except (Interrupted, KeyboardInterrupt):
                say(None, "interrupted: each host stopped after its current (atomic) step; "
                          "run fab deploy again to converge")
                self.fleet.cancel.clear()
                self.unlock()
                self.finish("deploy")
                return 130

    def converge(self, wanted: dict) -> int:
        if self.key_problems():
            return self.finish("deploy")
        facts = self.facts = self.fleet.each(lambda r: steps.probe(r, self.inv, wanted.get(r.host.name, {})))
        plans = {h.name: self.plan(h, wanted[h.name], facts[h.name])
                 for h in self.fleet.ok(self.targets)}
        self.show(plans)
        if self.opts.dry_run:
            self.show_registration()
            return self.finish("deploy --dry-run")
        locked = any(p.changes for p in plans.values())
        if locked and not self.lock(facts):
            return self.finish("deploy")
        try:
            self.apply(plans)
        finally:
            if locked:
                self.unlock()
        return self.finish("deploy")

    def key_problems(self) -> bool:
        """An unknown or changed host key stops the whole run before anything is written."""
        bad = [n for n, e in self.fleet.errors.items() if isinstance(e, HostKeyError)]
        if bad:
            say(None, f"stopping before any change: host key problem on {', '.join(bad)}")
            for h in self.fleet.ok():
                self.fleet.failed[h.name] = "not touched: another host's key is unknown or changed"
        return bool(bad)

    def plan(self, host: Host, wanted: dict, facts) -> planning.HostPlan:
        return planning.plan_host(host, wanted, facts, units=render.unit_order(self.inv, host),
                                  target=render.target(host), stamp=render.release_stamp(self.inv))

    def show(self, plans: dict) -> None:
        """Each host's steps; diffs of updated files (of every file in a dry run)."""
        def old_texts(remote):
            plan = plans[remote.host.name]
            return remote.read([w.file.path for w in plan.writes
                                if w.action == "update" and not w.file.secret])
        olds = self.fleet.each(old_texts, [h for h in self.targets if h.name in plans])
        for name, plan in plans.items():
            for line in plan.steps():
                say(name, line)
            for w in plan.writes:  # a fresh host's files are long: shown in a dry run only
                if w.action != "create" or w.file.secret or self.opts.dry_run:
                    say(name, planning.diff(w, olds.get(name, {}).get(w.file.path)))

    def lock(self, facts) -> bool:
        """Take every host's lock, or say who holds one (waiting with --wait-lock)."""
        deadline = time.monotonic() + self.opts.timeout
        while True:
            held = {n: f.holder for n, f in facts.items() if f.holder}
            if not held:
                got = self.fleet.each(lambda r: steps.lock(r, self.run_id))
                held = {n: h for n, h in got.items() if h}
                if not held:
                    return True
                self.unlock()
            name, holder = next(iter(held.items()))
            if not self.opts.wait_lock or time.monotonic() > deadline:
                why = (f"cluster locked by {holder} (lock on {name}); wait with --wait-lock, "
                       f"or if that run is dead: fab unlock")
                for h in self.fleet.ok():
                    self.fleet.failed[h.name] = why
                return False
            say(None, f"waiting for the lock held by {holder} (on {name})")
            time.sleep(2)
            facts = self.fleet.each(lambda r: steps.probe(r, self.inv, {}))

    def unlock(self) -> None:
        """Release this run's locks on every host, failed ones too."""
        def release(remote):
            try:
                steps.unlock(remote, self.run_id)
            except RemoteError:
                pass  # unreachable: we never took its lock, or it is gone with the host
        self.fleet.each(release, even_failed=True)

    def apply(self, plans: dict) -> None:
        def write(remote):
            plan = plans[remote.host.name]
            steps.write(remote, plan)
            if plan.writes:
                self.note(remote.host.name, f"wrote {len(plan.writes)} files")
            if plan.download:
                self.note(remote.host.name, "installed the release")
        self.fleet.each(write, [h for h in self.targets if h.name in plans])
        if self.master.name in plans:
            self.fleet.each(lambda r: self.activate(r, plans[r.host.name]), [self.master])
        nodes = [h for h in self.targets if not h.is_master and h.name in plans]
        self.fleet.each(lambda r: self.activate(r, plans[r.host.name]), nodes)
        self.register()

    def activate(self, remote, plan: planning.HostPlan) -> None:
        """Restart what changed and start the target; on the master the apiserver first,
        and nothing else until it is healthy."""
        name, first = remote.host.name, [u for u in plan.restart if u == APISERVER]
        steps.restart(remote, first)
        if plan.start:
            steps.systemctl(remote, "start", plan.start)
        if remote.host.is_master:
            self.wait_healthy(remote, plan, lambda msg: say(name, msg))
        steps.restart(remote, [u for u in plan.restart if u not in first])
        for what in [f"restarted {u}" for u in plan.restart] + ([f"started {plan.start}"] if plan.start else []):
            self.note(name, what)

    def register(self) -> None:
        """Create (manual mode) and label the nodes with kubectl on the master, then
        wait until every node is registered and Ready."""
        if self.master.name in self.fleet.failed:
            for h in self.targets:
                self.fleet.failed.setdefault(h.name, "not registered: the master failed")
            return
        wanted = {h.name: self.inv.node_labels(h) for h in self.fleet.ok(self.targets) if not h.is_master}
        if not wanted:
            return
        name = self.master.name

        def settle(remote):
            if self.settled(wanted):
                return {}
            self.wait_healthy(remote)
            return steps.settle_nodes(remote, self.inv, wanted, self.opts.timeout,
                                      lambda what: self.note(name, what), self.fleet.cancel)
        results = self.fleet.each(settle, [self.master])
        pending = results.get(name) or {}
        if name in results and not pending:
            say(name, f"verified: {len(wanted)} node(s) registered, labelled, Ready")
        for node, why in pending.items():
            self.fleet.failed[node] = (f"{why} after {self.opts.timeout:.0f}s (check its kubelet: "
                                       f"journalctl -u {KUBELET})")

    def settled(self, wanted: dict) -> bool:
        """Nothing changed in this run and the master's probe already saw every node
        registered, labelled and Ready: verified without another round trip."""
        master = self.facts.get(self.master.name)
        if self.changed or not master or master.healthz != "ok" or master.nodes_json is None:
            return False
        states = registration.node_states(master.nodes_json)
        return not (registration.unready(wanted, states) or registration.unlabelled(wanted, states))

    def wait_healthy(self, remote, plan: planning.HostPlan | None = None, progress=None) -> None:
        """Wait for the apiserver's /healthz, once a run: not at all when the probe saw it
        healthy and nothing on the master changed since."""
        unchanged = plan is None or not plan.changes
        if self.healthy or (unchanged and self.facts[self.master.name].healthz == "ok"):
            return
        steps.wait_healthy(remote, self.inv.local_master_url, self.opts.timeout, progress, self.fleet.cancel)
        self.healthy = True

    def show_registration(self) -> None:
        """In a dry run: what registration would do, if the apiserver answers now."""
        wanted = {h.name: self.inv.node_labels(h) for h in self.targets if not h.is_master}
        master = self.facts.get(self.master.name)
        if master and master.nodes_json is not None:  # the probe asked the apiserver already
            todo, _ = steps.label_nodes(self.fleet.remotes[self.master.name], self.inv, wanted,
                                        dry_run=True, nodes_json=master.nodes_json)
        else:
            todo = ["register the nodes once the apiserver is up"]
        for what in todo:
            say(self.master.name, what)

    # -- reporting ---------------------------------------------------------------
    def note(self, host: str, what: str) -> None:
        self.changed[host].append(what)
        say(host, what)

    def finish(self, task: str) -> int:
        names = [h.name for h in self.fleet.hosts]
        recap(names, self.changed, self.fleet.failed, task.split()[0])
        return 1 if self.fleet.failed else 0


def local_user() -> str:
    """Who runs kubefab, for the cluster lock."""
    return f"{os.environ.get('USER') or os.getuid()}@{socket.gethostname()}"

"""fab upgrade: a rolling upgrade to the inventory's kubernetes.version, on deploy's
shape (facts, plan, show, apply, verify) with its own apply:

1. refuse, before anything changes, what the version-skew rules forbid (kubefab.skew);
2. the master: files and release, etcd (when kubefab runs it), the apiserver, /healthz
   and /version at the new release, then the controller-manager and scheduler;
3. the nodes in batches (--batch N or P%): cordon (marked as kubefab's), drain
   (bounded), files and release, restarts, Ready at the new kubelet version, uncordon.
   The first batch that fails stops the run; its node is named, the others are
   untouched and keep serving. A re-run skips the nodes already at the new version and
   uncordons those kubefab left cordoned.

Why not in deploy: deploy converges every host at once and restarts nodes in place;
an upgrade must order the hosts, drain them and stop at a failed batch. Deploy's
phases are reused (the plan per host is the same)."""
from __future__ import annotations

import dataclasses
import json
import time

from kubefab.ops import converge, steps
from kubefab import rollout, skew
from kubefab.ops.deploy import Deploy
from kubefab.layout import DRAIN_TIMEOUT, ETCD, KUBELET
from kubefab.model import Host, Inventory
from kubefab.ops.operation import Options
from kubefab.report import say
from kubefab.remote.transport import Connect, RemoteError


class Upgrade(Deploy):
    task = "upgrade"
    render_at_start = False  # the PKI and files wait for the skew check (gather), so that a
    # refused upgrade changes nothing, the local PKI included

    def __init__(self, inv: Inventory, targets: list[Host], opts: Options, batch: str = "1",
                 drain_timeout: float = DRAIN_TIMEOUT, connect: Connect | None = None):
        nodes = [h for h in targets if not h.is_master]
        super().__init__(inv, [inv.master, *nodes], opts, connect)  # the control plane first
        self.batch, self.drain_timeout, self.version = batch, drain_timeout, inv.kubernetes.version
        self.running: str | None = None  # the master's installed release before this run
        self.refused: str | None = None  # why the skew rules forbid this upgrade
        self.todo: list[list[str]] = []  # batches of nodes still to upgrade
        self.release: list[str] = []  # nodes at the new version that kubefab left cordoned

    def gather(self) -> dict:
        """Releases and Node versions first (a probe without files); then, when the skew
        rules allow the upgrade, deploy's probe against the new release's files."""
        facts = self.fleet.each(lambda cxn: steps.probe(cxn, self.inv, {}))
        master = facts.get(self.master.name)
        if master is None:
            self.refused = "the master could not be probed"
            return facts
        self.running = skew.stamp_version(master.stamp)
        views = rollout.node_views(master.nodes_json) if master.nodes_json else {}
        self.refused = skew.refusal(self.running or "", self.version,
                                    {n: v.version for n, v in views.items() if v.version},
                                    {n: c for n, f in facts.items()
                                     for c in [skew.stamp_containerd(f.stamp)] if c and n != self.master.name})
        if self.refused:
            return facts
        self.render(self.fleet.ok(self.targets))
        return super().gather()

    # -- plan ----------------------------------------------------------------------------
    def version_refusal(self, facts: dict) -> None:
        return None  # changing the version is what an upgrade does (skew-checked in gather)

    def plan(self, facts: dict) -> dict:
        if self.refused:
            say(None, f"refused: {self.refused}")
            for h in self.fleet.ok():
                self.fleet.failed[h.name] = f"refused: {self.refused}"
            return {}
        plans = super().plan(facts)
        master = facts[self.master.name]
        views = rollout.node_views(master.nodes_json) if master.nodes_json else {}
        nodes = [h for h in self.targets if not h.is_master]
        todo = []
        for h in nodes:
            if h.name not in plans:
                continue
            done = not plans[h.name].changes and rollout.at(views.get(h.name), self.version)
            if done and views[h.name].ours:
                self.release.append(h.name)
            elif not done:
                todo.append(h.name)
        self.todo = rollout.batches(todo, self.batch) if todo else []
        return plans

    def changes(self, plans: dict) -> bool:
        master = plans.get(self.master.name)
        return bool(self.todo or self.release or (master and master.changes))

    def show(self, plans: dict) -> None:
        super().show(plans)
        if not plans:
            return
        say(None, f"upgrade {self.running} -> {self.version}: the master first, then "
                  f"{sum(map(len, self.todo))} node(s) in {len(self.todo)} batch(es) of {self.batch}")
        master = plans[self.master.name]
        say(None, f"  master {self.master.name}: " + (self.host_steps(self.master, master) if master.changes
                                                      else f"already at {self.version}"))
        for name in self.release:
            say(None, f"  {name}: at {self.version}, cordoned by kubefab: uncordon")
        for i, batch in enumerate(self.todo, 1):
            for name in batch:
                say(None, f"  batch {i}/{len(self.todo)} {name}: cordon, drain (at most "
                          f"{self.drain_timeout:.0f}s), " + self.host_steps(self.inv.host(name), plans[name])
                          + f", wait Ready at {self.version}, uncordon")
        if self.opts.dry_run:
            for name in [n for b in self.todo for n in b] + self.release:
                if not self.pending.get(name):
                    self.pending[name].append(f"upgrade to {self.version}")

    def host_steps(self, host: Host, plan) -> str:
        """What a host downloads and restarts, in one line."""
        out = [f"download {self.inv.profile.downloads(host)}"] if plan.download else []
        restarts = [*plan.restart, *plan.start[1:]]
        return ", ".join(out + ([f"restart {', '.join(restarts)}"] if restarts else []) or ["no changes"])

    # -- apply ---------------------------------------------------------------------------
    def apply(self, plans: dict) -> None:
        name = self.master.name
        if not plans:  # refused
            return
        if plans[name].changes:
            self.fleet.each(lambda cxn: self.upgrade_master(cxn, plans[name]), [self.master])
        if name not in self.fleet.failed:
            self.fleet.each(self.check_version, [self.master])
        if name in self.fleet.failed:
            for h in self.targets[1:]:
                self.fleet.failed.setdefault(h.name, "not upgraded: the master failed")
            return
        kubectl, master = steps.kubectl(self.inv), self.fleet.connections[name]
        for node in self.release:
            self.on_master(node, lambda: self.kubectl_step(master, node, rollout.uncordon(kubectl, node)))
        for i, batch in enumerate(self.todo, 1):
            say(None, f"batch {i}/{len(self.todo)}: {', '.join(batch)}")
            self.upgrade_batch(master, batch, plans)
            failed = [n for n in batch if n in self.fleet.failed]
            if failed:
                rest = [n for b in self.todo[i:] for n in b]
                for n in rest:
                    self.fleet.failed[n] = (f"not upgraded: batch {i} failed ({', '.join(failed)}); "
                                            f"fix it and run fab upgrade again")
                say(None, f"stopped at batch {i}/{len(self.todo)}: {', '.join(failed)} failed; "
                          f"{len(rest)} node(s) not touched")
                return

    def upgrade_master(self, cxn, plan) -> None:
        """Files and release, then etcd before the apiserver (kubefab's own etcd, modern
        profile), then deploy's order: the apiserver, /healthz, the rest."""
        name = cxn.host.name
        converge.write(cxn, plan, self.run_record, lambda what: self.note(name, what),
                       lambda msg: say(name, msg), self.fleet.cancel, self.inv.kubernetes.backups)
        etcd = tuple(u for u in plan.restart if u == ETCD)
        if etcd:
            converge.activate(cxn, etcd, note=lambda what: self.note(name, what), marks=set(plan.owe))
        self.activate(cxn, dataclasses.replace(plan, restart=tuple(u for u in plan.restart if u not in etcd)))

    def check_version(self, cxn) -> None:
        """The apiserver answers /version with the new release."""
        check = self.inv.profile.health()
        url = check.url.rsplit("/", 1)[0] + "/version"
        r = cxn.run([*check.argv[:-1], url], sudo=True, check=False)
        try:
            got = json.loads(r.stdout).get("gitVersion")
        except ValueError:
            got = None
        if got != self.version:
            raise RemoteError(f"the apiserver at {url} reports {got or r.why()}, not {self.version}")
        say(cxn.host.name, f"verified: apiserver {got} healthy")

    def upgrade_batch(self, master, batch: list[str], plans: dict) -> None:
        kubectl = steps.kubectl(self.inv)
        client = rollout.client_version(master.run([*kubectl, "version", "--client"], check=False,
                                                   sudo=steps.as_root(self.inv)).stdout)
        views = rollout.node_views(steps.get_nodes(master, self.inv))
        cordoned = []
        for node in batch:
            view = views.get(node)
            if view is None:  # not registered yet: nothing runs there to drain
                continue
            if not view.unschedulable:
                if not self.on_master(node, lambda: self.kubectl_step(master, node, rollout.cordon(kubectl, node,
                                                                                         self.run_id))):
                    continue
            if view.ours or not view.unschedulable:
                cordoned.append(node)
            drain = rollout.drain(kubectl, node, client, self.drain_timeout)
            if drain and not self.on_master(node, lambda: self.kubectl_step(master, node, drain, self.drain_timeout + 30)):
                if node in cordoned:  # nothing changed on it: back in service, as it was
                    self.on_master(node, lambda: self.kubectl_step(master, node, rollout.uncordon(kubectl, node)))
        hosts = [self.inv.host(n) for n in batch if n not in self.fleet.failed]
        self.fleet.each(lambda cxn: self.upgrade_node(cxn, plans[cxn.host.name]), hosts)
        for node in self.wait_ready(master, [h.name for h in self.fleet.ok(hosts)]):
            if node in cordoned:
                self.on_master(node, lambda: self.kubectl_step(master, node, rollout.uncordon(kubectl, node)))

    def upgrade_node(self, cxn, plan) -> None:
        name = cxn.host.name
        converge.write(cxn, plan, self.run_record, lambda what: self.note(name, what),
                       lambda msg: say(name, msg), self.fleet.cancel, self.inv.kubernetes.backups)
        try:
            self.activate(cxn, plan)
        except RemoteError as e:  # the new kubelet's own words say why
            raise RemoteError(f"{e}; kubelet journal: {steps.journal(cxn, KUBELET, 3)}") from None

    def wait_ready(self, master, nodes: list[str]) -> list[str]:
        """Poll the Nodes until each is Ready at the new version (progress every 5 s);
        returns those that are; the others fail, with what their Node says and the
        kubelet's journal."""
        if not nodes:
            return []
        start = time.monotonic()
        next_note = start + 5
        while True:
            views = rollout.node_views(steps.get_nodes(master, self.inv))
            late = [n for n in nodes if not rollout.at(views.get(n), self.version)]
            now = time.monotonic()
            if not late or now - start >= self.opts.timeout:
                break
            if now >= next_note:
                say(None, f"waiting for {', '.join(late)} to be Ready at {self.version} "
                          f"({now - start:.0f}s of {self.opts.timeout:.0f}s)")
                next_note = now + 5
            steps.pause(self.fleet.cancel, 1)
        for n in late:
            view = views.get(n)
            seen = "not registered" if view is None else \
                f"kubelet {view.version or 'unknown'}, {'Ready' if view.ready else 'not Ready'}"
            journal = steps.journal(self.fleet.connections[n], KUBELET)
            self.fleet.failed[n] = (f"not Ready at {self.version} after {self.opts.timeout:.0f}s ({seen}); "
                                    f"kubelet journal: {journal}")
        ready = [n for n in nodes if n not in late]
        for n in ready:
            self.note(n, f"Ready at {self.version}")
        return ready

    # -- helpers -------------------------------------------------------------------------
    def kubectl_step(self, master, node: str, cmd, timeout: float = 60) -> None:
        r = master.run(cmd.argv, stdin=cmd.stdin, check=False, timeout=timeout, sudo=steps.as_root(self.inv))
        if not r.ok:
            raise RemoteError(f"{cmd.says}: {r.why()}")
        self.note(node, cmd.done)

    def on_master(self, node: str, step) -> bool:
        """A kubectl step on the master for `node`: its failure is the node's."""
        try:
            step()
            return True
        except RemoteError as e:
            self.fleet.failed.setdefault(node, str(e))
            return False

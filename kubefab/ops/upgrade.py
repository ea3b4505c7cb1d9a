"""kubefab upgrade: a rolling upgrade to the inventory's kubernetes.version, as its steps
(Upgrade.steps):

1. the releases and Node versions probed, and what the version-skew rules forbid
   refused before anything changes (kubefab.skew), the local PKI included;
2. the master: files and release, etcd (when kubefab runs it), the apiserver, healthy
   and answering /version with the new release, then the controller-manager and scheduler;
3. nodes kubefab left cordoned at the new version uncordoned;
4. the nodes in batches (--batch N or P%), a step each: cordon (marked as kubefab's),
   drain (bounded), files and release, restarts, Ready at the new kubelet version,
   uncordon. The first batch that fails stops the run; its node is named, the others are
   untouched and keep serving. A re-run skips the nodes already at the new version;
5. the profile's add-ons at the new minor's versions (kubefab.ops.addons).

Each step's plan is what a dry run shows and what its apply does. Why not in deploy:
deploy converges every host at once and restarts nodes in place; an upgrade must order
the hosts, drain them and stop at a failed batch. The plan per host is deploy's."""
from __future__ import annotations

import dataclasses
import json

from kubefab import drift, plan as planning, render, rollout, skew
from kubefab.layout import DRAIN_TIMEOUT, ETCD, KUBELET
from kubefab.model import Host, Inventory
from kubefab.ops.guard import CheckIdentity, IssuePki, Keys
from kubefab.ops.host import HostRun
from kubefab.ops.operation import Operation, Options, Step
from kubefab.ops.addons import Addons
from kubefab.ops.steps import Apiserver, Probe, get_nodes
from kubefab.remote import hostfiles, wait
from kubefab.remote.transport import Connect, RemoteError
from kubefab.report import program, say


class Upgrade(Operation):
    task = "upgrade"

    def __init__(self, inv: Inventory, targets: list[Host], opts: Options, batch: str = "1",
                 drain_timeout: float = DRAIN_TIMEOUT, connect: Connect | None = None):
        nodes = [h for h in targets if not h.is_master]
        super().__init__(inv, [inv.master, *nodes], opts, connect)  # the control plane first
        self.targets = [inv.master, *nodes]
        self.batch, self.drain_timeout, self.version = batch, drain_timeout, inv.kubernetes.version
        self.running: str | None = None  # the master's installed release before this run
        self.refused: str | None = None  # why the skew rules forbid this upgrade
        self.todo: list[list[str]] = []  # batches of nodes still to upgrade
        self.release: list[str] = []  # nodes at the new version that kubefab left cordoned
        self.plans: dict[str, planning.HostPlan] = {}
        self.wanted: dict = {}
        self.stopped = False  # a batch failed: the later ones are not touched
        self.apiserver = Apiserver(self)
        self.keys = Keys(inv)  # read only until IssuePki

    def steps(self):
        """A generator: the later steps exist once the earlier ones know the batches."""
        yield Probe(self)
        yield CheckIdentity(self, self.keys)
        if self.master.name in self.fleet.failed:
            return
        yield CheckSkew(self)
        if self.refused:
            return
        yield IssuePki(self, self.keys)  # a real run only, once the identity matched
        self.render()  # the files only for an upgrade the skew rules allow
        yield Probe(self, lambda h: self.wanted.get(h.name, {}), self.targets)
        yield PlanUpgrade(self)
        yield UpgradeMaster(self)
        yield Uncordon(self)
        for i, batch in enumerate(self.todo, 1):
            yield Batch(self, i, batch)
        yield Addons(self)  # the add-ons' versions follow the minor (CoreDNS as kubeadm pins it)

    def render(self) -> None:
        """Each host's files from the local PKI: as made by IssuePki, or as it is (a dry run)."""
        self.wanted = {h.name: render.render_host(self.inv, h, self.keys.pki) for h in self.fleet.ok(self.targets)}

    def host_steps(self, host: Host) -> str:
        """What a host downloads and restarts, in one line."""
        p = self.plans[host.name]
        out = [f"download {self.inv.profile.downloads(host)}"] if p.download else []
        restarts = [*p.restart, *p.start[1:]]
        return ", ".join(out + ([f"restart {', '.join(restarts)}"] if restarts else []) or ["no changes"])

    def show_host(self, name: str) -> None:
        """A host's plan and the diffs of its updated files, as deploy shows them."""
        p = self.plans[name]
        olds = self.each(lambda h: hostfiles.read(h.cxn, [w.file.path for w in p.writes
                                                          if w.action == "update" and not w.file.secret]),
                         [p.host]) if p.writes else {}
        for line in p.steps():
            say(name, line)
        sources = self.inv.profile.download_sources(p.host) if p.download else None
        if sources:  # what the download checks against
            say(name, sources)
        for w in p.writes:
            if w.action != "create" or w.file.secret or self.opts.dry_run:
                say(name, planning.diff(w, olds.get(name, {}).get(w.file.path)))

    def kubectl_step(self, master: HostRun, node: str, cmd, timeout: float = 60) -> bool:
        """A kubectl command on the master for `node`: its failure is the node's."""
        r = master.cxn.run(cmd.argv, stdin=cmd.stdin, check=False, timeout=timeout,
                           sudo=self.inv.profile.kubectl_as_root)
        if not r.ok:
            self.fleet.failed.setdefault(node, f"{cmd.says}: {r.why()}")
            return False
        self.note(node, cmd.done)
        return True

    def master_run(self) -> HostRun:
        return self.on(self.fleet.connections[self.master.name])


class CheckSkew(Step):
    """The running versions (the master's release, the kubelets', the nodes' containerd)
    against the wanted one: a refusal says the path to take, before anything changes."""

    def plan(self) -> dict:
        op = self.op
        master = op.facts.get(op.master.name)
        if master is None:
            op.refused = "the master could not be probed"
        else:
            op.running = skew.stamp_version(master.stamp)
            views = rollout.node_views(master.nodes_json) if master.nodes_json else {}
            op.refused = skew.refusal(op.running or "", op.version, {n: v.version for n, v in views.items() if v.version},
                                      {n: c for n, f in op.facts.items()
                                       for c in [skew.stamp_containerd(f.stamp)] if c and n != op.master.name})
        if op.refused:
            op.fail(None, f"refused: {op.refused}")
            return {None: [f"refused: {op.refused}"]}
        return {}

    def has_work(self, plan) -> bool:
        return False


class PlanUpgrade(Step):
    """Each host's plan (deploy's), the nodes still to upgrade in batches, and the
    outline: the master first, then the batches."""

    def plan(self) -> dict:
        op = self.op
        master = op.facts.get(op.master.name)
        op.plans = {h.name: planning.plan_host(h, op.wanted[h.name], op.facts[h.name],
                                               units=op.inv.profile.unit_order(h), target=op.inv.profile.target(h),
                                               stamp=op.inv.profile.release_stamp(),
                                               node_missing=drift.missing_node(op.inv, h, master))
                    for h in op.fleet.ok(op.targets)}
        views = rollout.node_views(master.nodes_json) if master and master.nodes_json else {}
        todo = []
        for h in op.targets[1:]:
            if h.name not in op.plans:
                continue
            done = not op.plans[h.name].changes and rollout.at(views.get(h.name), op.version)
            if done and views[h.name].ours:
                op.release.append(h.name)
            elif not done:
                todo.append(h.name)
        op.todo = rollout.batches(todo, op.batch) if todo else []
        return {None: [f"upgrade {op.running} -> {op.version}: the master first, then "
                       f"{sum(map(len, op.todo))} node(s) in {len(op.todo)} batch(es) of {op.batch}"]}

    def has_work(self, plan) -> bool:
        return False


class UpgradeMaster(Step):
    """Files and release, then etcd before the apiserver (kubefab's own), then deploy's
    order: the apiserver, healthy, the rest; then /version says the new release."""

    def plan(self) -> dict:
        op = self.op
        p = op.plans.get(op.master.name)
        if p is None:
            return {}
        return {None: [f"  master {op.master.name}: "
                       + (op.host_steps(op.master) if p.changes else f"already at {op.version}")]}

    def has_work(self, plan) -> bool:
        p = self.op.plans.get(self.op.master.name)
        return bool(p and p.changes)

    def show(self, plan) -> None:
        if self.has_work(plan):
            self.op.show_host(self.op.master.name)
            self.op.pending[self.op.master.name].append(self.op.plans[self.op.master.name].summary())
        super().show(plan)

    def apply(self, plan) -> None:
        op, name = self.op, self.op.master.name
        if self.has_work(plan):
            op.each(self.upgrade, [op.master])
        if name not in op.fleet.failed:
            op.each(self.check_version, [op.master])
        if name in op.fleet.failed:
            for h in op.targets[1:]:
                op.fleet.failed.setdefault(h.name, "not upgraded: the master failed")

    def upgrade(self, h: HostRun) -> None:
        p = self.op.plans[h.name]
        h.write(p)
        etcd = tuple(u for u in p.restart if u == ETCD)
        if etcd:
            h.activate(etcd, marks=set(p.owe))
        rest = dataclasses.replace(p, restart=tuple(u for u in p.restart if u not in etcd))
        h.activate(rest.restart, rest.start, lambda: self.op.apiserver.wait_healthy(h, rest.changes),
                   why=rest.why, marks={*rest.marks, *rest.owe})

    def check_version(self, h: HostRun) -> None:
        """The apiserver answers /version with the new release."""
        version, check = self.op.version, self.op.inv.profile.health()
        url = check.url.rsplit("/", 1)[0] + "/version"
        r = h.cxn.run([*check.argv[:-1], url], sudo=True, check=False)
        try:
            got = json.loads(r.stdout).get("gitVersion")
        except ValueError:
            got = None
        if got != version:
            raise RemoteError(f"the apiserver at {url} reports {got or r.why()}, not {version}")
        h.say(f"verified: apiserver {got} healthy")


class Uncordon(Step):
    """Nodes at the new version that kubefab cordoned (a run stopped after their
    upgrade): back in service."""

    def plan(self) -> dict:
        return {None: [f"  {name}: at {self.op.version}, cordoned by kubefab: uncordon" for name in self.op.release]}

    def summary(self, host, lines) -> str:
        return f"upgrade to {self.op.version}"

    def show(self, plan) -> None:
        super().show(plan)
        for name in self.op.release:
            self.op.pending[name].append(f"upgrade to {self.op.version}")

    def apply(self, plan) -> None:
        op = self.op
        if not op.release or op.master.name in op.fleet.failed:
            return
        master, kubectl = op.master_run(), op.inv.profile.kubectl()
        for node in op.release:
            op.kubectl_step(master, node, rollout.uncordon(kubectl, node))


class Batch(Step):
    """Batch i of the nodes: cordon (marked as kubefab's), drain, files and release,
    restarts, Ready at the new version, uncordon. When one fails, the batches after it
    are not touched."""

    def __init__(self, op: Upgrade, i: int, nodes: list[str]):
        super().__init__(op)
        self.i, self.nodes = i, nodes

    def plan(self) -> dict:
        op = self.op
        return {None: [f"  batch {self.i}/{len(op.todo)} {name}: cordon, drain (at most {op.drain_timeout:.0f}s), "
                       f"{op.host_steps(op.inv.host(name))}, wait Ready at {op.version}, uncordon"
                       for name in self.nodes if name in op.plans]}

    def show(self, plan) -> None:
        op = self.op
        super().show(plan)
        for name in self.nodes:
            if name in op.plans and op.plans[name].changes:
                op.show_host(name)
            if op.opts.dry_run:
                op.pending[name].append(op.plans[name].summary() if op.plans[name].changes
                                        else f"upgrade to {op.version}")

    def apply(self, plan) -> None:
        op = self.op
        if op.master.name in op.fleet.failed or op.stopped:
            return  # an earlier batch failed: this one's nodes were said not upgraded then
        say(None, f"batch {self.i}/{len(op.todo)}: {', '.join(self.nodes)}")
        self.upgrade(op.master_run())
        failed = [n for n in self.nodes if n in op.fleet.failed]
        if failed:
            op.stopped = True
            rest = [n for b in op.todo[self.i:] for n in b]
            for n in rest:
                op.fleet.failed[n] = (f"not upgraded: batch {self.i} failed ({', '.join(failed)}); "
                                      f"fix it and run {program()} upgrade again")
            say(None, f"stopped at batch {self.i}/{len(op.todo)}: {', '.join(failed)} failed; "
                      f"{len(rest)} node(s) not touched")

    def upgrade(self, master: HostRun) -> None:
        op, kubectl = self.op, self.op.inv.profile.kubectl()
        client = rollout.client_version(master.kubectl("version", "--client", check=False).stdout)
        views = rollout.node_views(get_nodes(master))
        cordoned = []
        for node in self.nodes:
            view = views.get(node)
            if view is None:  # not registered yet: nothing runs there to drain
                continue
            if not view.unschedulable and not op.kubectl_step(master, node, rollout.cordon(kubectl, node, op.run_id)):
                continue
            if view.ours or not view.unschedulable:
                cordoned.append(node)
            drain = rollout.drain(kubectl, node, client, op.drain_timeout)
            if drain and not op.kubectl_step(master, node, drain, op.drain_timeout + 30):
                if node in cordoned:  # nothing changed on it: back in service, as it was
                    op.kubectl_step(master, node, rollout.uncordon(kubectl, node))
        hosts = [op.inv.host(n) for n in self.nodes if n not in op.fleet.failed]
        op.each(self.upgrade_node, hosts)
        for node in self.wait_ready(master, [h.name for h in op.fleet.ok(hosts)]):
            if node in cordoned:
                op.kubectl_step(master, node, rollout.uncordon(kubectl, node))

    def upgrade_node(self, h: HostRun) -> None:
        p = self.op.plans[h.name]
        h.write(p)
        try:
            h.activate(p.restart, p.start, why=p.why, marks={*p.marks, *p.owe})
        except RemoteError as e:  # the new kubelet's own words say why
            raise RemoteError(f"{e}; kubelet journal: {h.journal(KUBELET, 3)}") from None

    def wait_ready(self, master: HostRun, nodes: list[str]) -> list[str]:
        """The Nodes until each is Ready at the new version (progress every 5 s);
        returns those that are; the others fail, with what their Node says and the
        kubelet's journal."""
        op = self.op
        if not nodes:
            return []
        seen: dict = {}

        def poll(_seconds):
            seen.update(rollout.node_views(get_nodes(master)))
            return True if not self.late(nodes, seen) else None
        try:
            wait.until(poll, what=f"{', '.join(nodes)} to be Ready at {op.version}", timeout=op.opts.timeout,
                       progress=lambda text: say(None, text), cancel=op.fleet.cancel, clock=wait.clock_of(master.cxn),
                       status=lambda: ", ".join(self.late(nodes, seen)), pause=1)
        except wait.Timeout:
            pass
        for n in self.late(nodes, seen):
            view = seen.get(n)
            state = "not registered" if view is None else \
                f"kubelet {view.version or 'unknown'}, {'Ready' if view.ready else 'not Ready'}"
            journal = op.on(op.fleet.connections[n]).journal(KUBELET)
            op.fleet.failed[n] = (f"not Ready at {op.version} after {op.opts.timeout:.0f}s ({state}); "
                                  f"kubelet journal: {journal}")
        ready = [n for n in nodes if n not in self.late(nodes, seen)]
        for n in ready:
            op.note(n, f"Ready at {op.version}")
        return ready

    def late(self, nodes, views) -> list[str]:
        return [n for n in nodes if not rollout.at(views.get(n), self.op.version)]

"""kubefab deploy, as its steps (Deploy.steps): the hosts probed; the cluster's identity
and the settings it cannot change compared with its record, and a version change on a
running cluster refused (that is upgrade's), both before any change; the hosts it would
change checked (preflight: a host that fails is left out); the local PKI made or renewed
(a real run only, once the plan was shown); every host converged; the profile's objects
applied; the nodes registered, labelled and Ready; the cluster add-ons applied.

Converging is a pipeline, in the order the original came up by hand: every host writes
its files and runs its download at once; the master starts as soon as its own are in
place, and each node once the apiserver is healthy and its own download is done. A
node's files that name the master (its kubeconfigs' server, its register script) are
written only then: a node is never pointed at a master that did not answer as this
cluster's in this run. A failed host is reported and left out of later steps; the others
go on; a node whose master failed is not started."""
from __future__ import annotations

from contextlib import nullcontext

from kubefab import drift, plan as planning, registration, render, report, skew, versions
from kubefab.model import Host, Inventory
from kubefab.ops.guard import CheckIdentity, IssuePki, Keys
from kubefab.ops.host import HostRun
from kubefab.ops.operation import Operation, Options, Step
from kubefab.ops.addons import Addons
from kubefab.ops.deploy_masters import KeepQuorum, Turns
from kubefab.ops.packages import BalancerPackage
from kubefab.ops.preflight import Preflight
from kubefab.ops.steps import Apiserver, Probe, RegisterNodes, commands
from kubefab.remote import hostfiles
from kubefab.remote.fleet import Gate
from kubefab.remote.transport import Connect, RemoteError
from kubefab.report import say

__all__ = ["Deploy", "Options"]


class Deploy(Operation):
    task = "deploy"

    def __init__(self, inv: Inventory, targets: list[Host], opts: Options, connect: Connect | None = None,
                 ignore_preflight: tuple[str, ...] = ()):
        # every master always connected: one waits for the apiserver and registers nodes, a
        # joining one joins etcd through another
        others = [m for m in inv.masters if m not in targets]
        super().__init__(inv, [*others, *targets], opts, connect)
        self.targets = targets
        self.apiserver = Apiserver(self)
        self.version_refused: str | None = None
        self.refused: str | None = None  # the first difference from the cluster's record
        self.plans: dict[str, planning.HostPlan] = {}
        self.keys = Keys(inv)  # read only until IssuePki
        self.wanted = {}
        self.ignore_preflight = ignore_preflight  # --ignore-preflight's check names
        self.render()

    def render(self) -> None:
        """Each target's files from the local PKI as it is (kubefab.pki.load until IssuePki
        made it), the master's with the cluster's record."""
        self.wanted = {h.name: render.render_host(self.inv, h, self.keys.pki) for h in self.targets}
        record = self.keys.record()
        for m in self.inv.masters:  # the cluster's record on each master
            if m.name in self.wanted:
                self.wanted[m.name] = {**self.wanted[m.name], record.path: record}

    def steps(self) -> list[Step]:
        return [Probe(self, lambda h: self.wanted.get(h.name, {}), at_connect=True), CheckIdentity(self, self.keys),
                KeepQuorum(self), KeepVersion(self),
                Preflight(self, self.ignore_preflight, lambda h: bool(self.host_plan(h).changes)), BalancerPackage(self),
                IssuePki(self, self.keys, self.render), ConvergeHosts(self),
                RegisterNodes(self, self.wanted_nodes(), self.ready), Addons(self)]

    def at_connect(self, h: HostRun):
        """The probe, as soon as the host's connection opens (Probe takes its facts)."""
        return h.probe(self.wanted.get(h.name, {}))

    def host_plan(self, h: Host) -> planning.HostPlan:
        """What converging `h` takes, from its probe's facts."""
        master = self.facts.get(self.master.name)
        return planning.plan_host(h, self.wanted[h.name], self.facts[h.name], units=self.inv.profile.unit_order(h),
                                  target=self.inv.profile.target(h), stamp=self.inv.profile.release_stamp(),
                                  node_missing=drift.missing_node(self.inv, h, master))

    def wanted_nodes(self) -> dict[str, dict[str, str]]:
        return {h.name: self.inv.node_labels(h) for h in self.targets if not h.is_master}

    def rerun(self, failing: list[str]) -> str:
        """After a refused version change: the same command as upgrade (its flags that
        upgrade takes too; --dry-run kept), for the whole cluster."""
        if self.refused:  # the inventory must change first; then the same command
            return report.rerun_hint(self.command(), self.task, None)
        if not self.version_refused:
            return super().rerun(failing)
        program, _, *words = self.command()
        return report.rerun_hint((program, "upgrade", *report.without(words, ("--parallel", "--hosts"))), "upgrade",
                                 None)

    def ready(self, h: HostRun) -> None:
        self.apiserver.ready(h)


class KeepVersion(Step):
    """A running cluster (the master has a release) changes version only through
    upgrade, which orders, drains and checks skew; deploy refuses before any change,
    naming the first host (master first) whose installed release is not the inventory's.
    A master without a release (fresh, or a first deploy stopped before) is no running
    cluster."""

    def plan(self) -> dict:
        op = self.op
        if op.refused or op.master.name in op.fleet.failed:
            return {}
        refused = op.version_refused = self.refusal()
        if refused:
            op.fail(None, "not touched: deploy refused a kubernetes.version change")
            return {None: [f"refused: {refused}"]}
        return {}

    def has_work(self, plan) -> bool:
        return False

    def refusal(self) -> str | None:
        op, want = self.op, self.op.inv.kubernetes.version
        master = op.facts.get(op.master.name)
        if master is None or skew.stamp_version(master.stamp) is None:
            return None
        for h in [op.master, *op.targets]:
            have = skew.stamp_version(op.facts[h.name].stamp) if h.name in op.facts else None
            if have and have != want and versions.parse(have):  # an unreadable stamp: reinstalled
                where = "the cluster runs" if h.is_master else f"node {h.name} runs"
                return (f"kubernetes.version is {want} in {op.inv.path.name}, {where} {have}: run "
                        f"`{report.program()} upgrade` to roll it (control plane first, nodes in batches)")
        return None


class ConvergeHosts(Step):
    """Every target host's files, release and units as the inventory wants
    (kubefab.plan.plan_host from the probe's facts): its steps shown with the diffs of
    updated files (of every file in a dry run), then the pipeline."""

    def plan(self) -> dict:
        op = self.op
        if op.version_refused or op.refused or op.master.name in op.fleet.failed:
            return {}
        op.plans = {h.name: op.host_plan(h) for h in op.fleet.ok(op.targets)}
        return {name: p.steps() if p.changes else [] for name, p in op.plans.items()}

    def has_work(self, plan) -> bool:
        return any(p.changes for p in self.op.plans.values())

    def show(self, plan) -> None:
        op = self.op
        if not op.plans:
            return
        olds = op.each(lambda h: hostfiles.read(h.cxn, [w.file.path for w in op.plans[h.name].writes
                                                         if w.action == "update" and not w.file.secret]),
                       self.planned())
        for name, p in op.plans.items():
            for line in p.steps():
                say(name, line)
            sources = op.inv.profile.download_sources(p.host) if p.download else None
            if sources:  # what the download checks against
                say(name, sources)
            for w in p.writes:  # a fresh host's files are long: shown in a dry run only
                if w.action != "create" or w.file.secret or op.opts.dry_run:
                    say(name, planning.diff(w, olds.get(name, {}).get(w.file.path)))
            if p.changes:
                op.pending[name].append(p.summary())
        self.show_registration()

    def planned(self) -> list[Host]:
        return [h for h in self.op.targets if h.name in self.op.plans]

    def show_registration(self) -> None:
        """What the master's node list says about the nodes: labels nodes.register set
        that hosts.yaml does not give (kept, said with how to make them part of the
        inventory) and Nodes the inventory does not name, as status does; in a dry run also
        what registration would do and what status would report (a lock held, staged leftovers)."""
        op = self.op
        master = op.facts.get(op.master.name)
        states = registration.node_states(master.nodes_json) if master and master.nodes_json is not None else None
        wanted = op.wanted_nodes()
        for line in registration.operator_labels(wanted, states) if states is not None else ():
            say(op.master.name, line)
        for line in drift.stray_nodes(op.inv, states) if states is not None else ():
            say(op.master.name, line)  # as status and the dry run say it
        if not op.opts.dry_run:
            return
        todo = ([cmd.says for cmd in commands(op.inv, wanted, master.nodes_json)] if states is not None
                else ["register the nodes once the apiserver is up"])
        for what in todo:
            say(op.master.name, what)
            if states is not None:
                op.pending[op.master.name].append(what)
        for name, f in op.facts.items():
            for line in drift.state_problems(f):
                say(name, line)

    def apply(self, plan) -> None:
        """One path per host, all in parallel: each master writes (its files, its
        download), then takes its turn (kubefab.ops.deploy_masters.Turns: one master at
        a time where a restart is involved), joins etcd if it is no member yet, starts or
        restarts and waits for its apiserver; the first one healthy opens the gate (a
        master that is no target only answers healthy), then applies the profile's
        objects while the nodes start. A node
        writes what does not name the master (its download does not wait for anyone),
        waits at the gate, then writes what names the master and starts. --parallel
        bounds the hosts at work: a host that waits gives its slot back (Fleet.idle) to
        the master or the next node's download, and takes one again before it goes on."""
        op = self.op
        if not self.has_work(plan):
            return
        plans, gate = op.plans, Gate(f"an apiserver ({', '.join(m.name for m in op.inv.masters)})")
        masters = [m for m in op.inv.masters if m.name in op.fleet.connections and m.name not in op.fleet.failed
                   and (m.name in plans or m.name not in {t.name for t in op.targets})]
        turns = Turns(op, masters, plans, gate)
        failed = "the master failed" if len(op.inv.masters) == 1 else "no master's apiserver answered"

        def path(h: HostRun):
            p = plans.get(h.name)
            if h.host.is_master:
                turns.master_path(h, p, self)
                return
            first, later = planning.split_master_files(op.inv, p)
            self.write(h, first)
            if not (p.restart or p.start or later):
                return  # nothing to start nor to point at the master: no reason to wait
            # no slot held while it waits (other hosts work); kept when there is no wait
            with nullcontext() if gate.decided else op.fleet.idle():
                opened = gate.wait(op.fleet.cancel, h.say)
            if not opened:
                raise RemoteError(f"not started: {failed}" + (
                    f" (its {len(later.writes)} files that name the master not written)" if later else ""))
            if later and p.start and not p.restart:  # a fresh node: its start in the same round trip
                h.write(later, start=p.start, clear=[u for u in p.start if u in {*p.marks, *p.owe}])
                return
            if later:
                h.write(later)
            self.activate(h, p)
        hosts = [*(m for m in turns.order if m.name not in plans), *self.planned()]
        op.each(path, sorted(hosts, key=lambda host: not host.is_master))
        if not turns.any_healthy:
            for host in op.targets:
                op.fleet.failed.setdefault(host.name, f"not registered: {failed}")

    def write(self, h: HostRun, p: planning.HostPlan) -> None:
        """Units its role does not have stopped first, then the plan's writes (HostRun.write)."""
        h.retire(p.retire)
        if p.leftovers:  # taking the lock removed them
            h.note(f"removed {len(p.leftovers)} leftover upload(s)")
        h.write(p)

    def activate(self, h: HostRun, p: planning.HostPlan, answered=None) -> None:
        """Restart what changed and start the target; on the master the apiserver first,
        and nothing else until it is healthy (answered(): the nodes may start, while the
        master applies the profile's objects and restarts the rest)."""
        def healthy():
            self.op.apiserver.wait_healthy(h, p.changes, answered)
        h.activate(p.restart, p.start, healthy if h.host.is_master else None, why=p.why, marks={*p.marks, *p.owe})


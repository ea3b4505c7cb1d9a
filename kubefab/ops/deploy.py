"""fab deploy, phase by phase: gather facts, plan, show, apply, verify.

Order as the original came up by hand, as a pipeline: every host writes its files and
runs its download at once; the master starts as soon as its own are in place, and each
node once the apiserver is healthy and its own download is done; then registration, then
a check that every node is registered and Ready. A failed host is reported and left out
of later phases; the others go on; a node whose master failed is not started."""
from __future__ import annotations

from contextlib import nullcontext

from kubefab.ops import converge, steps
from kubefab import drift, pki, plan as planning, registration, render, skew, versions
from kubefab.remote import hostfiles
from kubefab.remote.fleet import Gate
from kubefab.model import Host, Inventory
from kubefab.ops.operation import Operation, Options
from kubefab.report import say
from kubefab.remote.transport import Connect, RemoteError

__all__ = ["Deploy", "Options"]


class Deploy(Operation):
    task = "deploy"
    version_refused: str | None = None  # why this run refused a kubernetes.version change
    render_at_start = True  # the PKI and files at once (Upgrade: after its skew check)

    def __init__(self, inv: Inventory, targets: list[Host], opts: Options, connect: Connect | None = None):
        master = inv.master  # always connected: it waits for the apiserver and registers nodes
        super().__init__(inv, targets if master in targets else [master, *targets], opts, connect)
        self.targets = targets
        self.healthy = False  # the apiserver answered /healthz ok during this run
        self.applied = False  # the profile's objects (inv.profile.manifests) were applied during this run
        self.pki, self.wanted = None, {}
        if self.render_at_start:
            self.render(targets)

    def render(self, hosts: list[Host]) -> None:
        """Once per run: certificates made or renewed locally, as needed; each host's files."""
        self.pki = pki.ensure(self.inv)
        for what in self.pki.changes if self.pki else ():
            say(None, f"pki: {what}")
        self.wanted = {h.name: render.render_host(self.inv, h, self.pki) for h in hosts}

    # -- the phases ------------------------------------------------------------------
    def gather(self) -> dict:
        return self.fleet.each(lambda cxn: steps.probe(cxn, self.inv, self.wanted.get(cxn.host.name, {})))

    def plan(self, facts: dict) -> dict[str, planning.HostPlan]:
        refused = self.version_refused = self.version_refusal(facts)
        if refused:
            say(None, f"refused: {refused}")
            for h in self.fleet.ok():
                self.fleet.failed[h.name] = "not touched: deploy refused a kubernetes.version change"
            return {}
        master = facts.get(self.master.name)
        return {h.name: planning.plan_host(h, self.wanted[h.name], facts[h.name],
                                           units=self.inv.profile.unit_order(h), target=self.inv.profile.target(h),
                                           stamp=self.inv.profile.release_stamp(),
                                           node_missing=drift.missing_node(self.inv, h, master))
                for h in self.fleet.ok(self.targets)}

    def version_refusal(self, facts: dict) -> str | None:
        """A running cluster (the master has a release) changes version only through
        fab upgrade, which orders, drains and checks skew; deploy refuses, naming the
        first host (master first) whose installed release is not the inventory's. A master
        without a release (fresh, or a first deploy stopped before) is no running cluster."""
        want = self.inv.kubernetes.version
        master = facts.get(self.master.name)
        if master is None or skew.stamp_version(master.stamp) is None:
            return None
        for h in [self.master, *self.targets]:
            have = skew.stamp_version(facts[h.name].stamp) if h.name in facts else None
            if have and have != want and versions.parse(have):  # an unreadable stamp: reinstalled
                where = "the cluster runs" if h.is_master else f"node {h.name} runs"
                return (f"kubernetes.version is {want} in {self.inv.path.name}, {where} {have}: run `fab upgrade` "
                        f"to roll it (control plane first, nodes in batches)")
        return None

    def rerun(self, failing: list[str]) -> str:
        return "fab upgrade" if self.version_refused else super().rerun(failing)

    def show(self, plans: dict) -> None:
        """Each host's steps; diffs of updated files (of every file in a dry run)."""
        if not plans and self.fleet.failed and not self.fleet.ok():
            return  # refused, or nothing reachable: nothing to show
        def old_texts(cxn):
            plan = plans[cxn.host.name]
            return hostfiles.read(cxn, [w.file.path for w in plan.writes
                             if w.action == "update" and not w.file.secret])
        olds = self.fleet.each(old_texts, self.planned(plans))
        for name, plan in plans.items():
            for line in plan.steps():
                say(name, line)
            sources = self.inv.profile.download_sources(plan.host) if plan.download else None
            if sources:  # what the download checks against
                say(name, sources)
            for w in plan.writes:  # a fresh host's files are long: shown in a dry run only
                if w.action != "create" or w.file.secret or self.opts.dry_run:
                    say(name, planning.diff(w, olds.get(name, {}).get(w.file.path)))
            if plan.changes:
                self.pending[name].append(plan.summary())
        self.show_operator_labels()
        if self.opts.dry_run:
            self.show_registration()
            self.show_state()

    def apply(self, plans: dict) -> None:
        """One path per host, all in parallel: the master writes, starts and waits for its
        apiserver (and RBAC), then opens the gate; a node writes (its download does not
        wait for anyone), waits at the gate, then starts. --parallel bounds the hosts at
        work: a node at the gate gives its slot back (Fleet.idle) to the master or the
        next node's download, and takes one again before it starts."""
        gate = Gate(f"the apiserver on {self.master.name}")
        if self.master.name in self.fleet.failed:
            gate.fail()
        elif self.master.name not in plans:  # not a target: nodes start as they did alone
            gate.open()

        def path(cxn):
            name, master = cxn.host.name, cxn.host.is_master
            try:
                self.write(cxn, plans[name])
                if master:
                    self.activate(cxn, plans[name], gate.open)
                    gate.open()  # open since it was healthy: no way out of here leaves nodes waiting
                    return
                if not (plans[name].restart or plans[name].start):
                    return  # nothing to start: no reason to wait
                # no slot held while it waits (other hosts work); kept when there is no wait
                with nullcontext() if gate.decided else self.fleet.idle():
                    opened = gate.wait(self.fleet.cancel, lambda m: say(name, m))
                if not opened:
                    raise RemoteError("not started: the master failed")
                self.activate(cxn, plans[name])
            except BaseException:
                if master:  # whatever stopped it: the nodes must not wait for it
                    gate.fail()
                raise
        self.fleet.each(path, sorted(self.planned(plans), key=lambda h: not h.is_master))

    def verify(self, plans: dict) -> None:
        """Nodes registered (manual mode), labelled, and Ready."""
        if self.master.name in self.fleet.failed:
            for h in self.targets:
                self.fleet.failed.setdefault(h.name, "not registered: the master failed")
            return
        wanted = {h.name: self.inv.node_labels(h) for h in self.fleet.ok(self.targets) if not h.is_master}
        self.register(wanted, lambda cmd: self.note(self.master.name, cmd.says), self.ready)

    # -- helpers ---------------------------------------------------------------------
    def planned(self, plans: dict) -> list[Host]:
        return [h for h in self.targets if h.name in plans]

    def write(self, cxn, plan: planning.HostPlan) -> None:
        """Restarts owed recorded, files in place, units enabled, the release installed."""
        name = cxn.host.name
        if plan.leftovers:  # taking the lock removed them
            self.note(name, f"removed {len(plan.leftovers)} leftover upload(s)")
        converge.write(cxn, plan, self.run_record, lambda what: self.note(name, what),
                       lambda msg: say(name, msg), self.fleet.cancel, self.inv.kubernetes.backups)

    def activate(self, cxn, plan: planning.HostPlan, ready=None) -> None:
        """Restart what changed and start the target; on the master the apiserver first,
        and nothing else until it is healthy (then ready(): the nodes may start)."""
        name = cxn.host.name

        def healthy():
            self.wait_healthy(cxn, plan, lambda msg: say(name, msg))
            if ready:
                ready()
        converge.activate(cxn, plan.restart, plan.start, healthy if cxn.host.is_master else None,
                          note=lambda what: self.note(name, what), why=plan.why,
                          marks={*plan.marks, *plan.owe})

    def wait_healthy(self, cxn, plan: planning.HostPlan | None = None, progress=None) -> None:
        """Wait for the apiserver's /healthz, once a run: not at all when the probe saw it
        healthy and nothing on the master changed since."""
        unchanged = plan is None or not plan.changes
        if self.healthy or (unchanged and self.facts[self.master.name].healthz == "ok"):
            return
        steps.wait_healthy(cxn, self.inv, self.opts.timeout, progress, self.fleet.cancel)
        self.healthy = True
        self.apply_manifests(cxn)  # the apiserver (re)started or was down

    def ready(self, cxn) -> None:
        """Before a registration pass: the apiserver healthy and the profile's objects
        applied, so that a run stopped in between applies them the next time its nodes are
        not all settled. A run with nothing to do skips both."""
        self.wait_healthy(cxn)
        self.apply_manifests(cxn)

    def apply_manifests(self, cxn) -> None:
        """The profile's objects with the admin's kubectl, once a run (idempotent: noted
        only when kubectl created or changed something)."""
        if self.applied:
            return
        applied = steps.apply_manifests(cxn, self.inv)
        self.applied = True
        if applied:
            self.note(self.master.name, f"applied kubefab's objects ({applied})")

    def show_registration(self) -> None:
        """In a dry run: what registration would do, if the apiserver answers now."""
        wanted = {h.name: self.inv.node_labels(h) for h in self.targets if not h.is_master}
        master = self.facts.get(self.master.name)
        if master and master.nodes_json is not None:  # the probe asked the apiserver already
            todo = [cmd.says for cmd in steps.registration_commands(self.inv, wanted, master.nodes_json)]
        else:
            todo = ["register the nodes once the apiserver is up"]
        for what in todo:
            say(self.master.name, what)
            if not what.startswith("register the nodes once"):
                self.pending[self.master.name].append(what)

    def show_operator_labels(self) -> None:
        """Labels nodes.register --label set that hosts.yaml does not give: kept, and said
        once a run with how to make them part of the inventory."""
        master = self.facts.get(self.master.name)
        if master and master.nodes_json is not None:
            wanted = {h.name: self.inv.node_labels(h) for h in self.targets if not h.is_master}
            for line in registration.operator_labels(wanted, registration.node_states(master.nodes_json)):
                say(self.master.name, line)

    def show_state(self) -> None:
        """In a dry run: what status would also report and deploy leaves alone: a lock
        held, staged leftovers, Nodes the inventory does not name."""
        for name, f in self.facts.items():
            for line in drift.state_problems(f):
                say(name, line)
        master = self.facts.get(self.master.name)
        if master and master.nodes_json is not None:
            for line in drift.stray_nodes(self.inv, registration.node_states(master.nodes_json)):
                say(self.master.name, line)

"""The steps several operations share: probing the hosts, applying the profile's
objects once the apiserver is ready, and nodes registered, labelled and Ready (deploy
and nodes.register)."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from kubefab import registration
from kubefab.layout import KUBELET
from kubefab.model import MANUAL, Inventory
from kubefab.ops import admin
from kubefab.ops.host import HostRun
from kubefab.ops.operation import Step
from kubefab.remote import wait
from kubefab.remote.transport import RemoteError
from kubefab.report import say

# kubectl commands at once on the master, each on its own channel of the one SSH
# connection (OpenSSH allows 10 by default: MaxSessions)
KUBECTL_AT_ONCE = 6
SETTLE_POLL = 0.5  # seconds between the master's looks at the nodes (a kubectl get each)


class Probe(Step):
    """Every host's facts in one root command each (HostRun.probe), against the files
    `wanted(host)` names ({} for none): kept as op.facts. With `at_connect`, those the
    operation probed as each connection opened (Operation.at_connect: the same probe,
    then) are taken as they are."""
    reads = True

    def __init__(self, op, wanted=lambda host: {}, hosts=None, at_connect: bool = False):
        super().__init__(op)
        self.wanted, self.hosts, self.at_connect = wanted, hosts, at_connect

    def plan(self) -> dict:
        op = self.op
        probed = {n: f for n, f in op.first.items() if self.at_connect and n not in op.fleet.failed}
        asked = op.each(lambda h: h.probe(self.wanted(h.host)), [h for h in op.fleet.ok(self.hosts)
                                                                  if h.name not in probed])
        op.facts = {h.name: {**probed, **asked}[h.name] for h in op.fleet.ok(self.hosts)}
        return {}


# -- the profile's objects ------------------------------------------------------------------

def apply_manifests(h: HostRun) -> str | None:
    """The profile's objects (inv.profile.manifests()), applied with the admin's kubectl
    on the master; idempotent. kubectl's words when it changed something, None when all
    was in place (or there are none). --validate=false: the objects are kubefab's own,
    and the check would fetch the OpenAPI documents first."""
    manifests = h.inv.profile.manifests()
    if not manifests:
        return None
    # the first thing a run asks as the admin: where RBAC binds the admin, a refusal
    # makes kubefab bind it (kubefab.ops.admin) and ask again
    r = admin.as_admin(h, lambda: h.kubectl("apply", "--validate=false", "-f", "-", stdin=manifests.encode(),
                                            check=False))
    if not r.ok:
        raise RemoteError(f"kubectl apply of kubefab's objects failed: {r.why()}")
    changed = [line for line in r.stdout.strip().splitlines() if not line.endswith(" unchanged")]
    return "; ".join(changed) or None


class Apiserver:
    """The masters' apiservers in one run: each awaited once, and the profile's objects
    applied once, after one (re)started or when it was down (deploy, upgrade)."""

    def __init__(self, op):
        self.op = op
        self.answered: set[str] = set()  # the masters whose apiserver answered healthy during this run
        self.applied = False  # the profile's objects were applied during this run

    @property
    def healthy(self) -> bool:
        return bool(self.answered)

    def wait_healthy(self, h: HostRun, changed: bool = True, answered=None) -> None:
        """Not at all when the probe saw it healthy and nothing on that master changed since.
        answered(): once it answers, before the profile's objects (deploy opens the nodes'
        gate there: a node needs the apiserver, not kubefab's objects)."""
        facts = self.op.facts.get(h.name)
        if h.name in self.answered or (not changed and facts is not None and facts.healthz == "ok"):
            if answered:
                answered()
            return
        h.wait_healthy()
        self.answered.add(h.name)
        if answered:
            answered()
        self.apply_manifests(h)  # the apiserver (re)started or was down

    def ready(self, h: HostRun) -> None:
        """Before a registration pass: healthy and the objects applied, so that a run
        stopped in between applies them the next time its nodes are not all settled. A
        run with nothing to do skips both."""
        self.wait_healthy(h, changed=False)
        self.apply_manifests(h)

    def apply_manifests(self, h: HostRun) -> None:
        """Idempotent: noted only when kubectl created or changed something."""
        if self.applied:
            return
        applied = apply_manifests(h)
        self.applied = True
        if applied:
            h.note(f"applied kubefab's objects ({applied})")


# -- registration ------------------------------------------------------------------------

def commands(inv: Inventory, wanted: dict, nodes_json: str, operator: dict | None = None) -> list[registration.Command]:
    """What makes the wanted nodes registered (manual mode) and labelled, given the
    master's `kubectl get nodes -o json` (operator: node -> nodes.register's --label)."""
    return registration.plan_registration(inv.profile.kubectl(), wanted, registration.node_states(nodes_json),
                                          create=inv.kubernetes.registration == MANUAL, operator=operator,
                                          kubelet=lambda name: inv.profile.registered(inv.host(name)))


def get_nodes(h: HostRun) -> str:
    return h.kubectl("get", "nodes", "-o", "json").stdout


def run_commands(h: HostRun, cmds) -> None:
    """Registration's kubectl commands on the master, KUBECTL_AT_ONCE at a time: one
    node's in their order (its labels, then their record), different nodes' side by side,
    as is the create of the missing nodes (no other command names them). Each kubectl is a
    process and a request or two: a 20-node cluster's first deploy ran 19 in a row, 3.6 s.
    Every group runs; the first failure, in the commands' order, is raised."""
    groups: dict[tuple, list] = {}
    for cmd in cmds:
        groups.setdefault(cmd.nodes, []).append(cmd)
    if not groups:
        return

    def in_order(group):
        for cmd in group:
            r = h.cxn.run(cmd.argv, stdin=cmd.stdin, sudo=h.inv.profile.kubectl_as_root, check=False)
            if not (r.ok or "AlreadyExists" in r.stderr):  # a node's register unit may win a race
                raise RemoteError(f"{cmd.says}: {r.why()}")
    with ThreadPoolExecutor(max_workers=min(KUBECTL_AT_ONCE, len(groups))) as pool:
        futures = [pool.submit(in_order, group) for group in groups.values()]
    for future in futures:
        future.result()


def settle(h: HostRun, wanted: dict, done, operator: dict | None = None) -> dict[str, str]:
    """Registration passes on the master (create the missing nodes in manual mode, set
    the labels that differ: done(cmd) for each) until every wanted node is registered,
    labelled and Ready, bounded by the run's timeout; the nodes that are not, with why."""
    inv = h.inv
    state = {"pending": {}, "first": True}

    def poll(_seconds: float):
        nodes_json = get_nodes(h)
        cmds = commands(inv, wanted, nodes_json, operator)
        run_commands(h, cmds)
        for cmd in cmds:
            done(cmd)
        states = registration.node_states(get_nodes(h)) if cmds else registration.node_states(nodes_json)
        state["pending"] = registration.pending(wanted, states, operator)
        return {} if not state["pending"] else None

    def status() -> str:
        pending = state["pending"]
        return f"{len(pending)} node(s): " + ", ".join(f"{n} {why}" for n, why in sorted(pending.items()))
    try:
        return wait.until(poll, what="the nodes", timeout=h.op.opts.timeout, progress=h.say,
                          cancel=h.op.fleet.cancel, clock=wait.clock_of(h.cxn), status=status, pause=SETTLE_POLL)
    except wait.Timeout:
        return state["pending"]


class RegisterNodes(Step):
    """Nodes registered (manual mode), labelled and Ready, through kubectl on the master:
    `wanted` node -> its labels; operator: node -> the labels nodes.register --label sets
    (recorded as the operator's); ready(h) first (the apiserver healthy). A run with
    nothing to do, whose probe saw every node as wanted, needs no round trip more."""

    def __init__(self, op, wanted: dict, ready=None, operator=None, done=None,
                 master_failed: str | None = "not registered: the master failed"):
        super().__init__(op)
        self.wanted, self.ready, self.operator, self.master_failed = wanted, ready, operator, master_failed
        self.done = done or (lambda cmd: op.note(op.master.name, cmd.says))

    def plan(self) -> dict:
        return {}  # what it does shows in the steps before (a dry run: deploy's registration lines)

    def has_work(self, plan) -> bool:
        """Only a run that changed something, or whose probe saw a node not as wanted, may
        register or label: a no-op run takes no lock for it."""
        return not self.settled(self.wanted)

    def show(self, plan) -> None:
        pass

    def apply(self, plan) -> None:
        op, name = self.op, self.op.master.name
        if name in op.fleet.failed:
            for node in self.wanted if self.master_failed else ():
                op.fleet.failed.setdefault(node, self.master_failed)
            return
        wanted = {n: labels for n, labels in self.wanted.items() if n not in op.fleet.failed}
        if not wanted:
            return

        def register(h: HostRun):
            if self.ready:
                self.ready(h)
            return settle(h, wanted, self.done, self.operator)
        results = {name: {}} if self.settled(wanted) else op.each(register, [op.master])
        pending = results.get(name) or {}
        if name in results and not pending:
            say(name, f"verified: {len(wanted)} node(s) registered, labelled, Ready")
        for node, why in pending.items():
            op.fleet.failed[node] = f"{why} after {op.opts.timeout:.0f}s (check its kubelet: journalctl -u {KUBELET})"

    def settled(self, wanted: dict) -> bool:
        """Nothing changed in this run and the master's probe already saw every wanted
        node registered, labelled and Ready: verified without another round trip."""
        master = self.op.facts.get(self.op.master.name)
        if self.op.changed or not master or master.healthz != "ok" or master.nodes_json is None:
            return False
        return not registration.pending(wanted, registration.node_states(master.nodes_json), self.operator)

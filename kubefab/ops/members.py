"""etcd's membership, as a run with several masters changes it (kubeadm's stacked etcd,
docs/KUBERNETES.md §20): the first master's member bootstraps the cluster (its rendered
environment file says new, itself alone); every further master joins through a member
that is up: `member add --learner` (a learner does not count for quorum: adding it never
stops writes), the ETCD_* lines it prints as the new member's environment file, its etcd
started, then promoted once it has caught up with the leader. A master that leaves is
removed (`member remove`) while the others are reachable, and only when quorum stays
(kubefab.quorum). Every etcdctl runs as root on a master, against that master's member."""
from __future__ import annotations

import re
import time

from kubefab import quorum
from kubefab.files import File
from kubefab.layout import ETCD
from kubefab.profiles.modern import etcd, paths
from kubefab.profiles.modern.units import etcd_peer_url
from kubefab.remote import hostfiles, wait
from kubefab.remote.transport import RemoteError, Result

PROMOTE_EVERY = 1.0  # seconds between promotes while the learner catches up
ADDED = re.compile(r"Member\s+([0-9a-f]+)\s+added", re.I)


def etcdctl(h, argv: list[str]) -> Result:
    return h.cxn.run(argv, sudo=True, check=False, timeout=30)


def members(h) -> list[etcd.Member]:
    """The members as the member on `h` (a master) lists them; RemoteError if it cannot."""
    r = etcdctl(h, etcd.members_argv(h.inv, h.host))
    if not r.ok:
        raise RemoteError(f"etcd member list on {h.name}: {r.why()}")
    return etcd.parse_members(r.stdout)


def member_of(listed: list[etcd.Member], inv, master) -> etcd.Member | None:
    """A master's member: by its name, else (added, not started yet) by its peer URL."""
    peer = etcd_peer_url(inv, master)
    return next((m for m in listed if m.name == master.name), None) or \
        next((m for m in listed if peer in m.peer_urls), None)


def is_voter(listed: list[etcd.Member], inv, master) -> bool:
    m = member_of(listed, inv, master)
    return bool(m and m.started and not m.learner)


def join(h, via) -> None:
    """Make `h`'s master a voting member through `via` (a master whose member is up):
    added as a learner (or found added by a run that stopped), its environment file
    written, its etcd started on a fresh data dir, promoted once in sync. Noted."""
    inv = h.inv
    listed = members(via)
    mine = member_of(listed, inv, h.host)
    if mine and mine.started and not mine.learner:
        return
    if mine is None:
        r = add(h, via)
        env, added = etcd.joining_env(r.stdout), ADDED.search(r.stdout)
        if "ETCD_INITIAL_CLUSTER" not in env or not added:
            raise RemoteError(f"etcd member add {h.name} (on {via.name}) printed no ETCD_INITIAL_CLUSTER: "
                              f"{r.stdout.strip()[:200]!r}")
        member_id, cluster = added[1], env["ETCD_INITIAL_CLUSTER"]
        h.note(f"etcd: added as a learner member (via {via.name})")
    else:  # added, or started as a learner, by a run that stopped: the cluster as listed
        member_id = mine.id
        cluster = ",".join(f"{m.name or h.name}={m.peer_urls[0]}" for m in listed if m.peer_urls)
    if not mine or not mine.started:
        start(h, cluster)
    promote(h, via, member_id)


def add(h, via) -> Result:
    """`member add --learner` (reconfigure: again while etcd says the cluster is unhealthy)."""
    argv = etcd.add_learner_argv(h.inv, h.name, etcd_peer_url(h.inv, h.host), via.host)
    return reconfigure(via, argv, f"etcd member add {h.name} (on {via.name})")


def reconfigure(via, argv: list[str], what: str) -> Result:
    """A membership change, again while etcd says the cluster is unhealthy: with its
    strict reconfiguration check (on by default) the leader changes members only once
    connected to every voting member for 5 s (etcd 3.4 server.go, mayAddMember and
    mayRemoveMember), which a member promoted or started just now is not yet. Bounded by
    the run's timeout."""
    last = {"said": ""}

    def poll(_seconds: float):
        r = etcdctl(via, argv)
        if r.ok:
            return r
        if "unhealthy cluster" not in r.stderr:
            raise RemoteError(f"{what}: {r.why()}")
        last["said"] = "etcdserver: unhealthy cluster"
        return None
    try:
        return wait.until(poll, what=what, timeout=via.op.opts.timeout, progress=via.say,
                          cancel=via.op.fleet.cancel, clock=wait.clock_of(via.cxn),
                          status=lambda: last["said"], pause=PROMOTE_EVERY)
    except wait.Timeout as e:
        raise RemoteError(f"{what}: {e.last} after {via.op.opts.timeout:.0f}s") from None


def start(h, cluster: str) -> None:
    """The joining member's first start: its environment file, a data dir of its own
    (one left from an earlier membership is moved aside: etcd would start as that old
    member), then the unit."""
    h.guard()
    hostfiles.install(h.cxn, [File(paths.ETCD_ENV, etcd.first_start_env(cluster, "existing"), 0o600)],
                      run=h.op.run_record, keep=h.inv.kubernetes.backups, holder=getattr(h.op, "run_id", None))
    h.cxn.run(["systemctl", "stop", ETCD], sudo=True)
    if h.cxn.run(["test", "-d", f"{paths.ETCD_DATA}/member"], sudo=True, check=False).ok:
        aside = paths.ETCD_DATA_BEFORE_JOIN.format(stamp=time.strftime("%Y%m%d-%H%M%S"))
        h.cxn.run(["mv", paths.ETCD_DATA, aside], sudo=True)
        h.note(f"moved an earlier member's data aside to {aside}")
    h.systemctl("start", ETCD)
    h.note(f"started {ETCD} (joining: state existing)")


def promote(h, via, member_id: str) -> None:
    """Promote the learner once it has caught up (etcd refuses before), bounded by the
    run's timeout."""
    last = {"said": ""}

    def poll(_seconds: float):
        r = etcdctl(via, etcd.promote_argv(h.inv, member_id, via.host))
        said = (r.stderr or r.stdout).strip()
        if r.ok or "not a learner" in said:
            return True
        last["said"] = said.splitlines()[-1] if said else f"exit {r.exit_code}"
        return None
    try:
        wait.until(poll, what=f"etcd member {h.name} to catch up", timeout=h.op.opts.timeout, progress=h.say,
                   cancel=h.op.fleet.cancel, clock=wait.clock_of(h.cxn), status=lambda: last["said"],
                   pause=PROMOTE_EVERY)
    except wait.Timeout as e:
        raise RemoteError(f"etcd learner {h.name} not promoted after {h.op.opts.timeout:.0f}s ({e.last}); "
                          f"journal: {h.journal(ETCD)}") from None
    h.note("etcd: promoted to a voting member")
    h.wait_serving(ETCD)


def leave(via, inv, master, listed: list[etcd.Member], healthy: int) -> str | None:
    """Remove `master`'s member through `via`; the refusal (one line) when quorum would
    not stay, None once removed or when it is no member."""
    mine = member_of(listed, inv, master)
    if mine is None:
        return None
    voters = [m for m in listed if not m.learner]
    why = quorum.refusal(len(voters), healthy, leaving=0 if mine.learner else 1,
                         what=f"removing {master.name}'s etcd member")
    if why:
        return why
    reconfigure(via, etcd.remove_argv(inv, mine.id, via.host), f"etcd member remove {master.name} (on {via.name})")
    return None

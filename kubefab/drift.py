"""Drift: how one host differs from what the inventory wants, computed in one place.
plan.py turns it into steps, status.py into problem lines, so `fab deploy --dry-run`
and `fab status` cannot disagree about what is out of place. Pure: wanted files and
probed facts in, plain data out."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from kubefab import registration
from kubefab.facts import FileFact, HostFacts
from kubefab.layout import ALL_UNITS, KUBELET, ONESHOTS, STAGE_DIR
from kubefab.model import SELF

UNKNOWN = "unknown"  # a file's content, when the local PKI lacks what it holds
MISSING, DIFFERS = "missing", "differs"
OWED = "owed by an earlier run"  # a restart recorded under OWED_DIR and not yet done


@dataclass(frozen=True)
class Drift:
    files: dict[str, tuple[str, ...]]  # path -> what differs (MISSING, DIFFERS, UNKNOWN, mode, owner)
    release: str | None = None  # None: as wanted; "none" (none installed) or DIFFERS
    disabled: dict[str, str] = field(default_factory=dict)  # unit -> UnitFileState ("": no unit file)
    inactive: dict[str, str] = field(default_factory=dict)  # unit -> ActiveState, units and target
    reload: bool = False  # systemd still runs an older copy of a unit file
    owed: dict[str, str] = field(default_factory=dict)  # unit -> why a restart is owed, files aside
    strays: dict[str, str] = field(default_factory=dict)  # kubefab's unit the host's role has not -> its state


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def file_drift(f, have: FileFact | None) -> tuple[str, ...]:
    """How the host's copy differs from File `f` (): as wanted. Secrets too are
    compared by digest only; content None (unknown locally) is UNKNOWN, not DIFFERS."""
    if have is None:
        return (MISSING,)
    out = [UNKNOWN] if f.content is None else [DIFFERS] if have.sha256 != digest(f.content) else []
    if have.mode != f.mode:
        out.append(f"mode {have.mode:04o}, wanted {f.mode:04o}")
    if (have.owner, have.group) != (f.owner, f.group):
        out.append(f"owner {have.owner}:{have.group}, wanted {f.owner}:{f.group}")
    return tuple(out)


def host_drift(wanted: dict, facts: HostFacts, *, units: tuple[str, ...], target: str, stamp: str,
               node_missing: str | None = None) -> Drift:
    """wanted: {path: File}; units: the host's services in start order (no target);
    node_missing: why the kubelet owes a restart (missing_node()), or None."""
    every = (*units, target)
    states = {u: facts.units.get(u) for u in every}
    owed = {u: OWED for u in units if u in facts.owed and u not in ONESHOTS}
    if node_missing and states.get(KUBELET) and states[KUBELET].is_active:
        owed.setdefault(KUBELET, node_missing)
    return Drift(
        files={p: file_drift(f, facts.files.get(p)) for p, f in wanted.items()},
        release=None if facts.stamp == stamp else "none" if facts.stamp is None else DIFFERS,
        disabled={u: s.enabled if s else "" for u, s in states.items() if not s or s.enabled != "enabled"},
        inactive={u: s.active if s else UNKNOWN for u, s in states.items() if not s or not s.is_active},
        reload=any(s and s.needs_reload for s in states.values()),
        owed=owed,
        strays=strays(facts, every),
    )


def strays(facts: HostFacts, own: tuple[str, ...]) -> dict[str, str]:
    """kubefab's units that are enabled or running on a host whose role does not have them
    (a role it had, a registration mode or pod network it used): unit -> "enabled",
    "active" or both, as the probe saw them."""
    out = {}
    for u in ALL_UNITS:
        f = facts.units.get(u)
        if u in own or f is None:
            continue
        state = [s for s, on in (("enabled", f.enabled.startswith("enabled")), (f.active, f.is_active)) if on]
        if state:
            out[u] = ", ".join(state)
    return out


def missing_node(inv, host, master: HostFacts | None) -> str | None:
    """With self registration, a node the master's probe did not list (it was deleted
    by hand, say): its kubelet registers again only when restarted. None when the
    node is listed, registration is manual, or the node list is unknown."""
    if inv.kubernetes.registration != SELF or host.is_master or not master or master.nodes_json is None:
        return None
    if host.name in registration.node_states(master.nodes_json):
        return None
    return f"Node {host.name} missing from the cluster"


def state_problems(facts: HostFacts) -> list[str]:
    """kubefab's own state on a host that is out of place: a lock held, staged uploads
    an interrupted run left (deploy leaves both; status and the dry run say them)."""
    from kubefab.remote.lease import who  # pure: the holder's text, shown
    out = [f"kubefab lock held by {who(facts.holder)}; if that run is dead: fab unlock"] if facts.holder else []
    return out + [f"leftover {STAGE_DIR}/{entry} (from an interrupted upload)" for entry in facts.leftovers]


def stray_nodes(inv, states: dict) -> list[str]:
    """Nodes in the cluster that the inventory does not name (deploy never deletes one)."""
    names = {h.name for h in inv.hosts}
    return [f"node {n} is in the cluster but not in hosts.yaml; remove it with: kubectl delete node {n}"
            for n in sorted(states) if n not in names]

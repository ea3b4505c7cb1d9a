"""kubefab unlock: remove the cluster lock a killed run left on each host (a lock whose
lease still runs only with --force, which makes that run stop and fail)."""
from __future__ import annotations

from kubefab.model import Host
from kubefab.remote import lease
from kubefab.remote.fleet import Fleet
from kubefab.remote.transport import Connect
from kubefab.report import say


def run(hosts: list[Host], *, force: bool = False, accept_new: bool = False, connect: Connect | None = None) -> int:
    """One line per host; 1 when a host failed or a live lock was refused."""
    with Fleet(hosts, accept_new=accept_new, connect=connect) as fleet:
        found = fleet.each(lambda cxn: lease.remove(cxn, force))
    refused = False
    for h in fleet.hosts:
        if h.name in fleet.failed:
            say(h.name, f"failed: {fleet.failed[h.name]}")
            continue
        state, held = found[h.name]
        refused |= state == "held"
        say(h.name, unlocked(state, held))
    return 1 if fleet.failed or refused else 0


def unlocked(state: str, held) -> str:
    """What unlock did on a host, in one line."""
    if state == "none":
        return "no lock"
    if state == "removed":
        forced = " (forced)" if held.alive and held.left is not None else ""
        return f"removed the lock of {lease.who(held.holder)} ({held.lease()}){forced}"
    holder = lease.who(held.holder)
    return (f"refused: locked by {holder} ({held.lease()}); its run renews the lease while it "
            f"runs: wait for it, or --force" if held.left is not None else
            f"refused: locked by {holder} ({held.lease()}); if that run is dead: --force")

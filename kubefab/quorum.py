"""etcd's quorum, as the decisions of an HA control plane need it (pure): how many
members must stay up, and whether a step that stops, removes or adds a member keeps the
cluster writable. Raft needs a majority of the members: ⌊n/2⌋+1."""
from __future__ import annotations


def quorum(members: int) -> int:
    """The members that must be up for etcd to accept writes."""
    return members // 2 + 1


def tolerates(members: int) -> int:
    """How many members may be down at once."""
    return members - quorum(members)


def refusal(members: int, healthy: int, *, down: int = 0, leaving: int = 0, joining: int = 0,
            what: str = "") -> str | None:
    """Why a step would lose quorum, in one line; None when it keeps it.
    members: etcd's member count now; healthy: those answering now; down: members the
    step stops for a while (a restart); leaving: members the step removes; joining:
    members the step adds (each counts as a member before it is up)."""
    after = members - leaving + joining
    up_during = healthy - down - leaving
    need = quorum(after)
    if up_during < need:
        step = f"{what}: " if what else ""
        return (f"{step}etcd would lose quorum: {up_during} of {after} member(s) up during it, {need} needed "
                f"({healthy} of {members} healthy now); bring the down member(s) back first")
    return None

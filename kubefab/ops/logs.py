"""kubefab logs: the journals of kubefab's units, host-prefixed on the terminal, or one file
per host and unit for a support bundle. Reads only (no lock). The units are each
host's own (its profile's units and target), so a profile's units come with it."""
from __future__ import annotations

from pathlib import Path

from kubefab import render
from kubefab.model import Host, Inventory
from kubefab.remote.fleet import Fleet
from kubefab.remote.transport import Connection, RemoteError
from kubefab.report import say


def units(inv: Inventory, host: Host, only=None) -> tuple[str, ...]:
    """`host`'s units in start order, the target first; `only`: names to keep (a unit
    name, or its short form: `kubelet` for kubernetes.kubelet.service)."""
    every = (inv.profile.target(host), *inv.profile.unit_order(host))
    return tuple(u for u in every if only is None or any(matches(u, name) for name in only))


def matches(unit: str, name: str) -> bool:
    return name in (unit, unit.rsplit(".", 1)[0], unit.removeprefix("kubernetes.").rsplit(".", 1)[0])


def known(inv: Inventory, hosts, only) -> list[str]:
    """The names in `only` that match no unit on any of `hosts` (refused before connecting)."""
    every = {u for h in hosts for u in units(inv, h)}
    return [n for n in only or () if not any(matches(u, n) for u in every)]


def journal_argv(unit_names, since: str | None) -> list[str]:
    """journalctl for these units, merged in time order, with ISO timestamps."""
    argv = ["journalctl", "--no-pager", "-o", "short-iso"]
    for unit in unit_names:
        argv += ["-u", unit]
    return argv + (["--since", since] if since else [])


def fetch(cxn: Connection, unit_names, since: str | None) -> str:
    """The merged journal of `unit_names` on one host (root: every unit's lines)."""
    r = cxn.run(journal_argv(unit_names, since), sudo=True, check=False)
    if not r.ok:
        raise RemoteError(f"journalctl failed: {r.why()}")
    return r.stdout


def bundle(cxn: Connection, unit_names, since: str | None, out: Path) -> list[Path]:
    """One file per unit under out/<host>/<unit>.log; the files written."""
    folder = out / cxn.host.name
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for unit in unit_names:
        path = folder / f"{unit}.log"
        path.write_text(fetch(cxn, [unit], since))
        written.append(path)
    return written


def run(inv: Inventory, hosts: list[Host], *, only=None, since: str | None = None, out: Path | None = None,
        parallel: int = 10, accept_new: bool = False, connect=None) -> int:
    """Each host's journals, its lines prefixed with its name, or files in `out`; 1 when
    a host failed."""
    def read(cxn):
        mine = units(inv, cxn.host, only)
        if out:
            return [str(p) for p in bundle(cxn, mine, since, out)]
        return fetch(cxn, mine, since) if mine else ""
    with Fleet(hosts, parallel=parallel, accept_new=accept_new, connect=connect) as fleet:
        got = fleet.each(read)
    for h in hosts:
        if h.name in fleet.failed:
            say(h.name, f"failed: {fleet.failed[h.name]}")
        elif out:
            say(h.name, f"{len(got[h.name])} files in {out / h.name}")
        elif got[h.name]:
            say(h.name, got[h.name])
    return 1 if fleet.failed else 0

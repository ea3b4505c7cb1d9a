"""kubefab status: one probe per host (the master's also runs the health checks and
lists the nodes), compared with what deploy would make of the inventory
(kubefab.status, pure), and the add-ons' Deployments (kubefab.ops.addons.status).
Reads only, here and on the hosts: the local PKI as it is, nothing made or renewed, no
lock."""
from __future__ import annotations

import json

from kubefab import pki, status
from kubefab.model import Inventory
from kubefab.ops import addons
from kubefab.ops.host import probe
from kubefab.remote.fleet import Fleet
from kubefab.remote.transport import Connect


def run(inv: Inventory, *, parallel: int = 10, accept_new: bool = False, as_json: bool = False,
        connect: Connect | None = None) -> int:
    """Print the report (a table, or JSON); 1 when it names a problem."""
    wanted, pki_problems = status.wanted(inv)
    keys = pki.load(inv)[0]  # compared with the cluster's record, as deploy compares it
    with Fleet(list(inv.hosts), parallel=parallel, accept_new=accept_new, connect=connect) as fleet:
        facts = fleet.each(lambda cxn: probe(cxn, inv, wanted[cxn.host.name]))
        master = facts.get(inv.master.name)
        states = fleet.each(lambda cxn: addons.status(inv, cxn), [inv.master]) \
            if master and master.healthz == "ok" else {}
    rep = status.report(inv, wanted, facts, fleet.failed, pki_problems, keys)
    lines, problems = states.get(inv.master.name, ([], []))
    rep["addons"], rep["problems"] = lines, rep["problems"] + [f"{inv.master.name}: {p}" for p in problems]
    print(json.dumps(rep, indent=2) if as_json else status.table(rep))
    return 1 if rep["problems"] else 0

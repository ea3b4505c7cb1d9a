"""kubefab status: one probe per host (the master's also runs the health checks and
lists the nodes), compared with what deploy would make of the inventory
(kubefab.status, pure), and the add-ons' Deployments (kubefab.ops.addons.status).
Reads only, here and on the hosts: the local PKI as it is, nothing made or renewed, no
lock."""
from __future__ import annotations

import json

from kubefab import controlplane, pki, status
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
        master = inv.host(status.lister(inv, facts))
        states = fleet.each(lambda cxn: addons.status(inv, cxn), [master]) \
            if master.name in facts and facts[master.name].healthz == "ok" else {}
        several = len(inv.masters) > 1 and inv.kubernetes.managed_etcd
        cp = control_plane(inv, fleet, facts) if several else None
    rep = status.report(inv, wanted, facts, fleet.failed, pki_problems, keys)
    lines, problems = states.get(master.name, ([], []))
    rep["addons"], rep["problems"] = lines, rep["problems"] + [f"{master.name}: {p}" for p in problems]
    if cp is not None:
        rep["control_plane"], cp_problems = cp
        rep["problems"] += cp_problems
    print(json.dumps(rep, indent=2) if as_json else status.table(rep))
    return 1 if rep["problems"] else 0


def control_plane(inv: Inventory, fleet: Fleet, facts: dict) -> tuple[dict, list[str]]:
    """etcd's members, their health and leader, and the leaders' Leases, asked on the
    first master whose etcd lists its members (kubefab.controlplane reads them)."""
    from kubefab.profiles.modern import etcd  # the only profile with several masters
    unreachable = [m.name for m in inv.masters if m.name not in facts]
    for m in inv.masters:
        if m.name not in facts:
            continue
        cxn = fleet.connections[m.name]
        listed = cxn.run(etcd.members_argv(inv, m), sudo=True, check=False, timeout=15)
        if not listed.ok:
            continue
        statuses = cxn.run(etcd.status_all_argv(inv, m), sudo=True, check=False, timeout=15)
        leases = cxn.run([*inv.profile.kubectl(), "-n", "kube-system", "get", "leases", "-o", "json"],
                         sudo=inv.profile.kubectl_as_root, check=False, timeout=15)
        return controlplane.report([h.name for h in inv.masters], listed.stdout, statuses.stdout,
                                   leases.stdout if leases.ok else None, unreachable, m.name)
    return controlplane.report([h.name for h in inv.masters], None, None, None, unreachable, None)

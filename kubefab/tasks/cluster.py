"""The cluster as a whole."""
import json as jsonlib

from .flags import task
from invoke.exceptions import Exit

from kubefab import render, status as statuses, steps
from kubefab.fleet import Fleet

from .common import ACCEPT_NEW_HELP, INVENTORY_HELP, cluster_pki, inventory as load_inventory, parallel as parallel_flag


@task(help={"json": "print the report as JSON", "parallel": "hosts probed at once (default 10)",
            "accept-new-host-keys": ACCEPT_NEW_HELP, "inventory": INVENTORY_HELP})
def status(c, json=False, parallel=None, accept_new_host_keys=False, inventory=None):
    """Per host: units, release, apiserver health, node registration, readiness, labels."""
    inv, at_once = load_inventory(c, inventory), parallel_flag(c, parallel)
    keys = cluster_pki(inv)
    fleet = Fleet(list(inv.hosts), parallel=at_once,
                  accept_new=accept_new_host_keys)
    with fleet:  # one probe per host; the master's also asks /healthz and the node list
        facts = fleet.each(lambda r: steps.probe(r, inv, render.render_host(inv, r.host, keys)))
    master = facts.get(inv.master.name)
    healthy = master.healthz or None if master else None
    nodes = master.nodes_json if master else None
    rep = statuses.report(inv, facts, fleet.failed, healthy, nodes)
    print(jsonlib.dumps(rep, indent=2) if json else statuses.table(rep))
    if rep["problems"]:
        raise Exit(code=1)

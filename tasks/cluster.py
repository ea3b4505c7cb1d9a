"""The cluster as a whole."""
import json as jsonlib

from invoke import task
from invoke.exceptions import Exit

from kubefab import render, status as statuses, steps
from kubefab.fleet import Fleet

from .common import ACCEPT_NEW_HELP, cluster_pki, inventory, setting


@task(help={"json": "print the report as JSON", "parallel": "hosts probed at once (default 10)",
            "accept-new-host-keys": ACCEPT_NEW_HELP})
def status(c, json=False, parallel=0, accept_new_host_keys=False):
    """Per host: units, release, apiserver health, node registration, readiness, labels."""
    inv = inventory(c)
    keys = cluster_pki(inv)
    fleet = Fleet(list(inv.hosts), parallel=int(setting(c, "parallel", parallel)),
                  accept_new=accept_new_host_keys)
    with fleet:
        facts = fleet.each(lambda r: steps.probe(r, inv, render.render_host(inv, r.host, keys)))
        healthy = nodes = None
        if inv.master.name not in fleet.failed:
            master = fleet.remotes[inv.master.name]
            r = master.run(["curl", "-sS", "--max-time", "2", f"{inv.local_master_url}/healthz"], check=False)
            healthy = r.stdout.strip() if r.ok else None
            r = master.run([*steps.kubectl(inv), "get", "nodes", "-o", "json"], check=False)
            nodes = r.stdout if r.ok else None
    rep = statuses.report(inv, facts, fleet.failed, healthy, nodes)
    print(jsonlib.dumps(rep, indent=2) if json else statuses.table(rep))
    if rep["problems"]:
        raise Exit(code=1)

"""The cluster as a whole."""
import json as jsonlib

from .flags import task
from invoke.exceptions import Exit

from kubefab import status as statuses
from kubefab.ops import steps
from kubefab.remote.fleet import Fleet

from .common import ACCEPT_NEW_HELP, INVENTORY_HELP, inventory as load_inventory, parallel_setting, reported


@task(help={"json": "print the report as JSON", "parallel": "hosts probed at once (default 10)",
            "accept-new-host-keys": ACCEPT_NEW_HELP, "inventory": INVENTORY_HELP})
def status(c, json=False, parallel=None, accept_new_host_keys=False, inventory=None):
    """Per host: units, release, file drift, apiserver health, node registration, readiness, labels.
    Reads only: makes no certificate and writes nothing, here or on the hosts."""
    inv, at_once = load_inventory(c, inventory), parallel_setting(c, parallel)
    wanted, pki_problems = statuses.wanted(inv)  # the local PKI as it is: nothing made or renewed
    fleet = Fleet(list(inv.hosts), parallel=at_once,
                  accept_new=accept_new_host_keys)
    with reported(), fleet:  # one probe per host; the master's also runs the health checks and lists the nodes
        facts = fleet.each(lambda r: steps.probe(r, inv, wanted[r.host.name]))
    rep = statuses.report(inv, wanted, facts, fleet.failed, pki_problems)
    print(jsonlib.dumps(rep, indent=2) if json else statuses.table(rep))
    if rep["problems"]:
        raise Exit(code=1)

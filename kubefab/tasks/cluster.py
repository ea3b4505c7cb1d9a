"""The cluster as a whole."""
import json as jsonlib

from invoke import task
from invoke.exceptions import Exit

from kubefab import status as statuses, steps
from kubefab.fleet import Fleet

from .common import ACCEPT_NEW_HELP, inventory, setting


@task(help={"json": "print the report as JSON", "parallel": "hosts probed at once (default 10)",
            "accept-new-host-keys": ACCEPT_NEW_HELP})
def status(c, json=False, parallel=0, accept_new_host_keys=False):
    """Per host: units, release, file drift, apiserver health, node registration, readiness, labels.
    Reads only: makes no certificate and writes nothing, here or on the hosts."""
    inv = inventory(c)
    wanted, pki_problems = statuses.wanted(inv)  # the local PKI as it is: nothing made or renewed
    fleet = Fleet(list(inv.hosts), parallel=int(setting(c, "parallel", parallel)),
                  accept_new=accept_new_host_keys)
    with fleet:  # one probe per host; the master's also runs the health checks and lists the nodes
        facts = fleet.each(lambda r: steps.probe(r, inv, wanted[r.host.name]))
    rep = statuses.report(inv, wanted, facts, fleet.failed, pki_problems)
    print(jsonlib.dumps(rep, indent=2) if json else statuses.table(rep))
    if rep["problems"]:
        raise Exit(code=1)

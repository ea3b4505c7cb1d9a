"""Bring the cluster to what the inventory describes."""
from invoke import task
from invoke.exceptions import Exit

from kubefab import steps
from kubefab.deploy import Deploy
from kubefab.fleet import Fleet

from .common import (ACCEPT_NEW_HELP, TIMEOUT_HELP, WAIT_LOCK_HELP, inventory, options, reported, run,
                     select)


@task(help={
    "dry-run": "show the plan (files with diffs, units to restart, steps) and change nothing",
    "hosts": "only these hosts, comma-separated (default: all)",
    "parallel": "how many hosts to work on at once (default: kubefab.parallel, 10)",
    "timeout": TIMEOUT_HELP,
    "accept-new-host-keys": ACCEPT_NEW_HELP,
    "wait-lock": WAIT_LOCK_HELP,
})
def deploy(c, dry_run=False, hosts="", parallel=0, timeout=0,
           accept_new_host_keys=False, wait_lock=False):
    """Write files, install the release, start the master, then the nodes, register them."""
    inv = inventory(c)
    opts = options(c, dry_run=dry_run, parallel=parallel, timeout=timeout,
                   accept_new=accept_new_host_keys, wait_lock=wait_lock)
    run(lambda: Deploy(inv, select(inv, hosts), opts))


@task(help={"hosts": "only these hosts, comma-separated (default: all)",
            "accept-new-host-keys": ACCEPT_NEW_HELP})
def unlock(c, hosts="", accept_new_host_keys=False):
    """Remove the cluster lock a dead deploy left behind."""
    inv = inventory(c)
    with reported(), Fleet(select(inv, hosts), accept_new=accept_new_host_keys) as fleet:
        fleet.each(lambda cxn: steps.unlock(cxn))
        for name, why in fleet.failed.items():
            print(f"[{name}] {why}")
    if fleet.failed:
        raise Exit(code=1)

"""Bring the cluster to what the inventory describes."""
from invoke.exceptions import Exit

from kubefab import steps
from kubefab.deploy import Deploy
from kubefab.fleet import Fleet

from .common import (ACCEPT_NEW_HELP, HOSTS_HELP, INVENTORY_HELP, TIMEOUT_HELP, WAIT_LOCK_HELP,
                     inventory as load_inventory, options, reported, run, select)
from .flags import task


@task(help={
    "dry-run": "show the plan (files with diffs, units to restart, steps) and change nothing",
    "hosts": HOSTS_HELP,
    "parallel": "how many hosts to work on at once (default: kubefab.parallel, 10)",
    "timeout": TIMEOUT_HELP,
    "accept-new-host-keys": ACCEPT_NEW_HELP,
    "wait-lock": WAIT_LOCK_HELP,
    "inventory": INVENTORY_HELP,
    "json": "print the recap as JSON on stdout (progress goes to stderr), for pipelines",
})
def deploy(c, dry_run=False, hosts=None, parallel=None, timeout=None,
           accept_new_host_keys=False, wait_lock=False, inventory=None, json=False):
    """Write files, install the release, start the master, then the nodes, register them."""
    inv = load_inventory(c, inventory)
    opts = options(c, dry_run=dry_run, parallel=parallel, timeout=timeout,
                   accept_new=accept_new_host_keys, wait_lock=wait_lock, json=json)
    run(lambda: Deploy(inv, select(inv, hosts), opts))


@task(help={"hosts": HOSTS_HELP, "accept-new-host-keys": ACCEPT_NEW_HELP, "inventory": INVENTORY_HELP})
def unlock(c, hosts=None, accept_new_host_keys=False, inventory=None):
    """Remove the cluster lock a dead deploy left behind."""
    inv = load_inventory(c, inventory)
    with reported(), Fleet(select(inv, hosts), accept_new=accept_new_host_keys) as fleet:
        fleet.each(lambda cxn: steps.unlock(cxn))
        for name, why in fleet.failed.items():
            print(f"[{name}] {why}")
    if fleet.failed:
        raise Exit(code=1)

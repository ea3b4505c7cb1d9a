"""Bring the cluster to what the inventory describes."""
from .flags import task
from invoke.exceptions import Exit

from kubefab.deploy import Deploy, Options
from kubefab.fleet import Fleet
from kubefab.pki import PkiError
from kubefab import steps

from .common import (ACCEPT_NEW_HELP, HOSTS_HELP, INVENTORY_HELP, inventory as load_inventory,
                     parallel as parallel_flag, reported, select, timeout as timeout_flag)


@task(help={
    "dry-run": "show the plan (files with diffs, units to restart, steps) and change nothing",
    "hosts": HOSTS_HELP,
    "parallel": "how many hosts to work on at once (default: kubefab.parallel, 10)",
    "timeout": "seconds to wait for the apiserver to be healthy and nodes Ready (default: kubefab.timeout, 120)",
    "accept-new-host-keys": ACCEPT_NEW_HELP,
    "wait-lock": "wait for another deploy's cluster lock instead of refusing",
    "inventory": INVENTORY_HELP,
})
def deploy(c, dry_run=False, hosts=None, parallel=None, timeout=None,
           accept_new_host_keys=False, wait_lock=False, inventory=None):
    """Write files, install the release, start the master, then the nodes, register them."""
    inv = load_inventory(c, inventory)
    opts = Options(dry_run=dry_run, parallel=parallel_flag(c, parallel), timeout=timeout_flag(c, timeout),
                   accept_new=accept_new_host_keys, wait_lock=wait_lock)
    try:
        run = Deploy(inv, select(inv, hosts), opts)
    except PkiError as e:
        raise Exit(f"error: {e}", code=2)
    code = run.run()
    if code:
        raise Exit(code=code)


@task(help={"hosts": HOSTS_HELP, "accept-new-host-keys": ACCEPT_NEW_HELP, "inventory": INVENTORY_HELP})
def unlock(c, hosts=None, accept_new_host_keys=False, inventory=None):
    """Remove the cluster lock a dead deploy left behind."""
    inv = load_inventory(c, inventory)
    with reported(), Fleet(select(inv, hosts), accept_new=accept_new_host_keys) as fleet:
        fleet.each(lambda r: steps.unlock(r))
        for name, why in fleet.failed.items():
            print(f"[{name}] {why}")
    if fleet.failed:
        raise Exit(code=1)

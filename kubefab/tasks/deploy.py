"""Bring the cluster to what the inventory describes."""
from invoke import task
from invoke.exceptions import Exit

from kubefab.deploy import Deploy, Options
from kubefab.fleet import Fleet
from kubefab.pki import PkiError
from kubefab import steps

from .common import ACCEPT_NEW_HELP, inventory, reported, select, setting


@task(help={
    "dry-run": "show the plan (files with diffs, units to restart, steps) and change nothing",
    "hosts": "only these hosts, comma-separated (default: all)",
    "parallel": "how many hosts to work on at once (default: kubefab.parallel, 10)",
    "timeout": "seconds to wait for the apiserver to be healthy and nodes Ready (default: kubefab.timeout, 120)",
    "accept-new-host-keys": ACCEPT_NEW_HELP,
    "wait-lock": "wait for another deploy's cluster lock instead of refusing",
})
def deploy(c, dry_run=False, hosts="", parallel=0, timeout=0,
           accept_new_host_keys=False, wait_lock=False):
    """Write files, install the release, start the master, then the nodes, register them."""
    inv = inventory(c)
    opts = Options(dry_run=dry_run, parallel=int(setting(c, "parallel", parallel)),
                   timeout=float(setting(c, "timeout", timeout)),
                   accept_new=accept_new_host_keys, wait_lock=wait_lock)
    try:
        run = Deploy(inv, select(inv, hosts), opts)
    except PkiError as e:
        raise Exit(f"error: {e}", code=2)
    code = run.run()
    if code:
        raise Exit(code=code)


@task(help={"hosts": "only these hosts, comma-separated (default: all)",
            "accept-new-host-keys": ACCEPT_NEW_HELP})
def unlock(c, hosts="", accept_new_host_keys=False):
    """Remove the cluster lock a dead deploy left behind."""
    inv = inventory(c)
    with reported(), Fleet(select(inv, hosts), accept_new=accept_new_host_keys) as fleet:
        fleet.each(lambda r: steps.unlock(r))
        for name, why in fleet.failed.items():
            print(f"[{name}] {why}")
    if fleet.failed:
        raise Exit(code=1)

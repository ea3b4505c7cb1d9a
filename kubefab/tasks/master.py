"""The master: its apiserver, scheduler and controller-manager."""

from .common import (ACCEPT_NEW_HELP, ASK_SUDO_HELP, CONNECTS, INVENTORY_HELP, WAIT_LOCK_HELP,
                     inventory as load_inventory, options, run)
from .flags import task


@task(help={"dry-run": "show what would restart, in which order, and restart nothing",
            "timeout": "seconds to wait for the apiserver's /healthz (default: kubefab.timeout, 120)",
            "accept-new-host-keys": ACCEPT_NEW_HELP,
            "wait-lock": WAIT_LOCK_HELP,
            "inventory": INVENTORY_HELP,
            "ask-sudo-password": ASK_SUDO_HELP})
def restart(c, dry_run=False, timeout=None, accept_new_host_keys=False, wait_lock=False,
            inventory=None, ask_sudo_password=False):
    """Restart the apiserver, wait for /healthz, then the scheduler and controller-manager."""
    from kubefab.ops.master_restart import MasterRestart
    inv = load_inventory(c, inventory, secrets=CONNECTS, ask_sudo_password=ask_sudo_password)
    opts = options(c, "master.restart", dry_run=dry_run, timeout=timeout, accept_new=accept_new_host_keys,
                   wait_lock=wait_lock)
    run(lambda: MasterRestart(inv, opts))

"""The cluster's Secrets at rest: the key that encrypts them."""

from .common import (ACCEPT_NEW_HELP, ASK_SUDO_HELP, CONNECTS, INVENTORY_HELP, WAIT_LOCK_HELP,
                     inventory as load_inventory, options, run)
from .flags import task


@task(name="rotate-key", help={
    "dry-run": "say each stage still to do, and do nothing",
    "timeout": "seconds for the apiserver to be ready after each restart (default: kubefab.timeout, 120)",
    "accept-new-host-keys": ACCEPT_NEW_HELP,
    "wait-lock": WAIT_LOCK_HELP,
    "inventory": INVENTORY_HELP,
    "ask-sudo-password": ASK_SUDO_HELP})
def rotate_key(c, dry_run=False, timeout=None, accept_new_host_keys=False, wait_lock=False, inventory=None,
               ask_sudo_password=False):
    """A new key for the Secrets at rest: added, made first, every Secret rewritten, the old dropped."""
    from kubefab.ops.rotate_key import RotateKey
    # only the master's encryption config and record change: no file with the registry token
    inv = load_inventory(c, inventory, secrets=CONNECTS, ask_sudo_password=ask_sudo_password)
    opts = options(c, "secrets.rotate-key", dry_run=dry_run, timeout=timeout, accept_new=accept_new_host_keys,
                   wait_lock=wait_lock)
    run(lambda: RotateKey(inv, opts))

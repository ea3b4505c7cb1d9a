"""Move the running cluster to the inventory's kubernetes.version."""
from kubefab.layout import DRAIN_TIMEOUT

from .common import (ACCEPT_NEW_HELP, ASK_SUDO_HELP, INVENTORY_HELP, TIMEOUT_HELP, WAIT_LOCK_HELP,
                     inventory as load_inventory, options, run, select)
from .flags import positive, refuse, task


@task(help={
    "dry-run": "show the upgrade plan (order, batches, what each host downloads and restarts); change nothing",
    "batch": "nodes upgraded at once: a number (default 1) or a percentage of them, e.g. 25%",
    "drain-timeout": f"seconds one node's drain may take before its batch fails (default {DRAIN_TIMEOUT})",
    "hosts": "only these nodes, comma-separated (the master is always upgraded first when behind)",
    "timeout": TIMEOUT_HELP,
    "accept-new-host-keys": ACCEPT_NEW_HELP,
    "wait-lock": WAIT_LOCK_HELP,
    "inventory": INVENTORY_HELP,
    "ask-sudo-password": ASK_SUDO_HELP,
    "json": "print the recap as JSON on stdout (progress goes to stderr), for pipelines",
})
def upgrade(c, dry_run=False, batch="1", drain_timeout=None, hosts=None, timeout=None,
            accept_new_host_keys=False, wait_lock=False, inventory=None, ask_sudo_password=False, json=False):
    """Upgrade to kubernetes.version: the master, then the nodes in batches (cordon, drain, restart, uncordon)."""
    from kubefab import rollout
    from kubefab.ops.upgrade import Upgrade
    why = rollout.batch_spec(str(batch))
    if why:
        refuse("batch", str(batch), why)
    drain = float(positive("drain-timeout", drain_timeout, DRAIN_TIMEOUT, "seconds"))
    inv = load_inventory(c, inventory, ask_sudo_password=ask_sudo_password)
    opts = options(c, "upgrade", dry_run=dry_run, timeout=timeout, accept_new=accept_new_host_keys,
                   wait_lock=wait_lock, json=json)
    run(lambda: Upgrade(inv, select(inv, hosts), opts, str(batch), drain))

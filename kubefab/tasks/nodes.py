"""The nodes: their registration with the master, their labels, their removal."""
from .flags import refuse, task

from kubefab.validate import Invalid, label_key, label_value

from .common import (ACCEPT_NEW_HELP, ASK_SUDO_HELP, CONNECTS, INVENTORY_HELP, WAIT_LOCK_HELP,
                     inventory as load_inventory, options, run, select)


def parse_labels(given) -> dict[str, str]:
    """`production` means environment=production, as the original's third argument;
    `key=value` sets any label (an empty value is Kubernetes' own: `key=`). Nothing at
    all is no label: refused, never `environment=`. Checked before anything is sent."""
    labels = {}
    for item in given or []:
        if not item.strip():
            refuse("label", item, "wants key=value, or a bare value for environment=")
        key, sep, value = item.partition("=")
        key, value = (key, value) if sep else ("environment", item)
        try:
            labels[label_key(key)] = label_value(value)
        except Invalid as e:
            refuse("label", item, str(e))
    return labels


@task(iterable=["label"], help={
    "label": "a label for every node: key=value, or a bare value for environment= (repeatable); "
             "recorded as the operator's: deploy keeps it and says it is not in hosts.yaml",
    "hosts": "only these nodes, comma-separated (default: all)",
    "dry-run": "show the kubectl commands and run none",
    "timeout": "seconds to wait for the nodes to be Ready (default: kubefab.timeout, 120)",
    "accept-new-host-keys": ACCEPT_NEW_HELP,
    "wait-lock": WAIT_LOCK_HELP,
    "inventory": INVENTORY_HELP,
    "ask-sudo-password": ASK_SUDO_HELP,
})
def register(c, label=None, hosts=None, dry_run=False, timeout=None, accept_new_host_keys=False,
             wait_lock=False, inventory=None, ask_sudo_password=False):
    """Register the nodes with kubectl on the master (manual mode), set their labels, check they are Ready."""
    from kubefab.ops.nodes_register import NodesRegister
    inv = load_inventory(c, inventory, secrets=CONNECTS, ask_sudo_password=ask_sudo_password)
    labels = parse_labels(label)
    opts = options(c, "nodes.register", dry_run=dry_run, timeout=timeout, accept_new=accept_new_host_keys,
                   wait_lock=wait_lock)
    run(lambda: NodesRegister(inv, select(inv, hosts), labels, opts))


@task(help={
    "name": "the node to remove (a host of the inventory, not the master)",
    "force": "when the host does not answer: drain and delete its Node anyway; the recap says what "
             "stays on the host",
    "dry-run": "show what would be drained, stopped, removed and deleted, and change nothing",
    "timeout": "seconds the drain may take (default: kubefab.timeout, 120)",
    "accept-new-host-keys": ACCEPT_NEW_HELP,
    "wait-lock": WAIT_LOCK_HELP,
    "inventory": INVENTORY_HELP,
    "ask-sudo-password": ASK_SUDO_HELP,
})
def remove(c, name, force=False, dry_run=False, timeout=None, accept_new_host_keys=False,
           wait_lock=False, inventory=None, ask_sudo_password=False):
    """Drain a node, stop and remove kubefab on it, then delete its Node."""
    from kubefab.ops.nodes_remove import NodesRemove
    inv = load_inventory(c, inventory, secrets=CONNECTS, ask_sudo_password=ask_sudo_password)
    node = select(inv, name, "name")
    if len(node) != 1 or (node[0].is_master and len(inv.masters) == 1):
        refuse("name", name, "wants one node of the inventory (not the master; fab reset takes "
                             "kubefab off any host)")
    if node[0] == inv.master:
        refuse("name", name, "is the first master: the cluster's service-account issuer and kubefab's kubectl are "
                             "there; remove another master (or make another host the first in the inventory first)")
    opts = options(c, "nodes.remove", dry_run=dry_run, timeout=timeout, accept_new=accept_new_host_keys,
                   wait_lock=wait_lock)
    run(lambda: NodesRemove(inv, node[0], opts, force=force))

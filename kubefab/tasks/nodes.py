"""The nodes: their registration with the master and their labels."""
from .flags import task
from invoke.exceptions import Exit

from kubefab import registration, steps
from kubefab.fleet import Fleet
from kubefab.validate import Invalid, label_key, label_value
from kubefab.report import recap, say

from .common import ACCEPT_NEW_HELP, INVENTORY_HELP, inventory as load_inventory, reported, select


def parse_labels(given) -> dict[str, str]:
    """`production` means environment=production, as the original's third argument;
    `key=value` sets any label. Checked before anything is sent."""
    labels = {}
    for item in given or []:
        key, sep, value = item.partition("=")
        key, value = (key, value) if sep else ("environment", item)
        try:
            labels[label_key(key)] = label_value(value)
        except Invalid as e:
            raise Exit(f"error: --label {item}: {e}", code=2)
    return labels


@task(iterable=["label"], help={
    "label": "a label for every node: key=value, or a bare value for environment= (repeatable)",
    "hosts": "only these nodes, comma-separated (default: all)",
    "dry-run": "show the kubectl commands and run none",
    "accept-new-host-keys": ACCEPT_NEW_HELP,
    "inventory": INVENTORY_HELP,
})
def register(c, label=None, hosts=None, dry_run=False, accept_new_host_keys=False, inventory=None):
    """Register the nodes with kubectl on the master (manual mode) and set their labels."""
    inv = load_inventory(c, inventory)
    extra = parse_labels(label)
    wanted = {h.name: {**inv.node_labels(h), **extra} for h in select(inv, hosts) if not h.is_master}
    master, done = inv.master.name, []

    def register_nodes(remote):
        todo, _ = steps.label_nodes(remote, inv, wanted, dry_run=dry_run)
        for what in todo:
            say(master, ("would " if dry_run else "") + what)
        done.extend([] if dry_run else todo)
        if not todo:
            say(master, "no changes: every node registered with its labels")
        if not dry_run:  # verify
            _, states = steps.label_nodes(remote, inv, wanted, dry_run=True)
            missing = {**registration.unlabelled(wanted, states),
                       **{n: "not registered" for n in wanted if n not in states}}
            for name, why in missing.items():
                say(name, why)
            if missing:
                raise steps.RemoteError(f"{len(missing)} node(s) not as wanted: {', '.join(missing)}")

    with reported(), Fleet([inv.master], accept_new=accept_new_host_keys) as fleet:
        fleet.each(register_nodes)
    recap([master], {master: done}, fleet.failed, "nodes.register")
    if fleet.failed:
        raise Exit(code=1)

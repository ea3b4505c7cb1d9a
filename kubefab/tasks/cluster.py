"""The cluster as a whole."""
from invoke.exceptions import Exit
from .common import (ACCEPT_NEW_HELP, ASK_SUDO_HELP, INVENTORY_HELP, inventory as load_inventory,
                     parallel_setting, reported)
from .flags import task


@task(help={"json": "print the report as JSON", "parallel": "hosts probed at once (default 10)",
            "accept-new-host-keys": ACCEPT_NEW_HELP, "inventory": INVENTORY_HELP,
            "ask-sudo-password": ASK_SUDO_HELP})
def status(c, json=False, parallel=None, accept_new_host_keys=False, inventory=None, ask_sudo_password=False):
    """Per host: units, release, file drift, apiserver health, node registration, readiness, labels.
    Reads only: makes no certificate and writes nothing, here or on the hosts."""
    from kubefab.ops import status as statuses
    inv, at_once = load_inventory(c, inventory, ask_sudo_password=ask_sudo_password), parallel_setting(c, parallel)
    with reported():
        code = statuses.run(inv, parallel=at_once, accept_new=accept_new_host_keys, as_json=json)
    if code:
        raise Exit(code=code)

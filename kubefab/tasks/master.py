"""The master: its apiserver, scheduler and controller-manager."""
from invoke import task
from invoke.exceptions import Exit

from kubefab import render, steps
from kubefab.fleet import Fleet
from kubefab.layout import DOWNLOAD
from kubefab.report import recap, say

from .common import ACCEPT_NEW_HELP, inventory, reported, setting


@task(help={"timeout": "seconds to wait for the apiserver's /healthz (default 120)",
            "accept-new-host-keys": ACCEPT_NEW_HELP})
def restart(c, timeout=0, accept_new_host_keys=False):
    """Restart the apiserver, wait for /healthz, then the scheduler and controller-manager."""
    inv = inventory(c)
    master, timeout = inv.master, float(setting(c, "timeout", timeout))
    apiserver, *others = [u for u in render.unit_order(inv, master) if u != DOWNLOAD]
    done = []

    def restart_master(remote):
        steps.restart(remote, [apiserver])
        steps.wait_healthy(remote, inv.local_master_url, timeout, lambda m: say(master.name, m))
        say(master.name, f"{apiserver} restarted, /healthz ok")
        steps.restart(remote, others)
        steps.systemctl(remote, "is-active", "--quiet", apiserver, *others)  # verify
        done.extend(f"restarted {u}" for u in [apiserver, *others])

    with reported(), Fleet([master], accept_new=accept_new_host_keys) as fleet:
        fleet.each(restart_master)
    recap([master.name], {master.name: done}, fleet.failed, "master.restart")
    if fleet.failed:
        raise Exit(code=1)

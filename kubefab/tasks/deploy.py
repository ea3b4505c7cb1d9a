"""Bring the cluster to what the inventory describes."""
from invoke.exceptions import Exit
from .common import (ACCEPT_NEW_HELP, ASK_SUDO_HELP, CONNECTS, HOSTS_HELP, INVENTORY_HELP, PARALLEL_HELP,
                     TIMEOUT_HELP, WAIT_LOCK_HELP, head_start, inventory as load_inventory, options, reported,
                     run, select)
from .flags import refuse, task


@task(help={
    "dry-run": "show the plan (files with diffs, units to restart, steps) and change nothing",
    "hosts": HOSTS_HELP,
    "parallel": PARALLEL_HELP,
    "timeout": TIMEOUT_HELP,
    "accept-new-host-keys": ACCEPT_NEW_HELP,
    "wait-lock": WAIT_LOCK_HELP,
    "inventory": INVENTORY_HELP,
    "ask-sudo-password": ASK_SUDO_HELP,
    "json": "print the recap as JSON on stdout (progress goes to stderr), for pipelines",
    "ignore-preflight": "waive a preflight check on every host (repeatable): its name as the failure says it "
                        "(port:10250, binary:iptables, sysctl:net.ipv4.ip_forward), a group (port) or all",
}, iterable=["ignore_preflight"])
def deploy(c, dry_run=False, hosts=None, parallel=None, timeout=None,
           accept_new_host_keys=False, wait_lock=False, inventory=None, ask_sudo_password=False, json=False,
           ignore_preflight=None):
    """Write files, install the release, start the master, then the nodes, register them."""
    inv = load_inventory(c, inventory, ask_sudo_password=ask_sudo_password)
    refusal = inv.profile.download_refusal()
    if refusal:  # the download would refuse on every host: say it once, before any connection
        raise Exit(f"error: {refusal}", code=2)
    opts = options(c, "deploy", dry_run=dry_run, parallel=parallel, timeout=timeout,
                   accept_new=accept_new_host_keys, wait_lock=wait_lock, json=json)
    waivers = []
    for name in ignore_preflight or ():
        try:
            waivers.append(inv.profile.waiver(name))
        except ValueError as e:
            refuse("ignore-preflight", name, str(e))
    targets = select(inv, hosts)
    # the hosts Deploy connects (every master, then the targets), connecting from here on
    # while the operation is imported and every target's files rendered
    connect = head_start([*(m for m in inv.masters if m not in targets), *targets], opts)
    from kubefab.ops.deploy import Deploy
    run(lambda: Deploy(inv, targets, opts, connect=connect, ignore_preflight=tuple(waivers)), connect)


@task(help={"hosts": HOSTS_HELP,
            "force": "remove a lock even while its lease runs: its run may be alive, and two runs "
                     "would then interleave (that run stops at its next renewal)",
            "accept-new-host-keys": ACCEPT_NEW_HELP, "inventory": INVENTORY_HELP,
            "ask-sudo-password": ASK_SUDO_HELP})
def unlock(c, hosts=None, force=False, accept_new_host_keys=False, inventory=None, ask_sudo_password=False):
    """Remove the cluster lock a killed run left (a lock whose lease still runs: only with --force)."""
    from kubefab.ops import unlock as unlocks
    inv = load_inventory(c, inventory, secrets=CONNECTS, ask_sudo_password=ask_sudo_password)
    with reported():
        code = unlocks.run(select(inv, hosts), force=force, accept_new=accept_new_host_keys)
    if code:
        raise Exit(code=code)

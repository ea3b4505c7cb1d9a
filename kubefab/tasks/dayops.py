"""The hosts after day one: put back the last run's files, take kubefab off, read journals."""
from invoke.exceptions import Exit
from .common import (ACCEPT_NEW_HELP, ASK_SUDO_HELP, CONNECTS, HOSTS_HELP, INVENTORY_HELP, PARALLEL_HELP,
                     TIMEOUT_HELP, WAIT_LOCK_HELP, inventory as load_inventory, options, parallel_setting,
                     reported, run, select)
from . import paths
from .flags import refuse, task


@task(help={
    "hosts": HOSTS_HELP,
    "yes": "really do it: stop and disable kubefab's units, remove every file, binary and backup it wrote",
    "dry-run": "list every unit and path that would go, and change nothing",
    "parallel": PARALLEL_HELP,
    "accept-new-host-keys": ACCEPT_NEW_HELP,
    "wait-lock": WAIT_LOCK_HELP,
    "inventory": INVENTORY_HELP,
    "ask-sudo-password": ASK_SUDO_HELP,
})
def reset(c, hosts=None, yes=False, dry_run=False, parallel=None, accept_new_host_keys=False,
          wait_lock=False, inventory=None, ask_sudo_password=False):
    """Take kubefab off hosts: units stopped and disabled, its files, binaries and backups removed."""
    from kubefab.ops.reset import Reset
    inv = load_inventory(c, inventory, secrets=CONNECTS, ask_sudo_password=ask_sudo_password)
    targets = select(inv, hosts)
    if not (yes or dry_run):
        names = ",".join(h.name for h in targets)
        raise Exit(f"error: reset removes kubefab from {names}: add --yes (or --dry-run to see what goes)",
                   code=2)
    opts = options(c, "reset", dry_run=dry_run, parallel=parallel, accept_new=accept_new_host_keys,
                   wait_lock=wait_lock)
    run(lambda: Reset(inv, targets, opts))


@task(help={
    "hosts": HOSTS_HELP,
    "dry-run": "show what would go back (diffs; a secret only by name) and what would restart, change nothing",
    "timeout": TIMEOUT_HELP,
    "parallel": PARALLEL_HELP,
    "accept-new-host-keys": ACCEPT_NEW_HELP,
    "wait-lock": WAIT_LOCK_HELP,
    "inventory": INVENTORY_HELP,
    "ask-sudo-password": ASK_SUDO_HELP,
})
def rollback(c, hosts=None, dry_run=False, timeout=None, parallel=None, accept_new_host_keys=False,
             wait_lock=False, inventory=None, ask_sudo_password=False):
    """Put back the files the last run replaced (each host's own list) and restart what uses them."""
    from kubefab.ops.rollback import Rollback
    inv = load_inventory(c, inventory, secrets=CONNECTS, ask_sudo_password=ask_sudo_password)
    targets = select(inv, hosts)
    opts = options(c, "rollback", dry_run=dry_run, parallel=parallel, timeout=timeout, accept_new=accept_new_host_keys,
                   wait_lock=wait_lock)
    run(lambda: Rollback(inv, targets, opts))


@task(iterable=["unit"], help={
    "hosts": HOSTS_HELP,
    "unit": "only this unit: its name or short form, e.g. kubelet (repeatable; default: all of kubefab's)",
    "since": "only lines since then, as journalctl --since takes it: '2026-01-02 10:00', '-1h', today",
    "out": "write DIR/<host>/<unit>.log, one file per host and unit, instead of printing",
    "parallel": "hosts read at once (default: kubefab.parallel, 10)",
    "accept-new-host-keys": ACCEPT_NEW_HELP,
    "inventory": INVENTORY_HELP,
    "ask-sudo-password": ASK_SUDO_HELP,
})
def logs(c, hosts=None, unit=None, since=None, out=None, parallel=None, accept_new_host_keys=False,
         inventory=None, ask_sudo_password=False):
    """The journals of kubefab's units, each line prefixed with its host (or files in --out DIR)."""
    from kubefab.ops import logs as journals
    inv = load_inventory(c, inventory, secrets=CONNECTS, ask_sudo_password=ask_sudo_password)
    targets, only = select(inv, hosts), unit or None
    for name in journals.known(inv, targets, only):
        refuse("unit", name, "is none of kubefab's units on these hosts, e.g. kubelet, apiserver, "
                             "kubernetes.proxy.service")
    if since is not None and not since.strip():
        refuse("since", since, "wants a time journalctl understands, e.g. -1h or '2026-01-02 10:00'")
    folder = paths.folder("out", out, out) if out is not None else None
    with reported():
        code = journals.run(inv, targets, only=only, since=since, out=folder,
                            parallel=parallel_setting(c, parallel), accept_new=accept_new_host_keys)
    if code:
        raise Exit(code=code)

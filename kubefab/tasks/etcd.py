"""The etcd kubefab runs on the master: a verified snapshot of it, and a restore."""
from pathlib import Path

from invoke.exceptions import Exit
from .common import (ACCEPT_NEW_HELP, ASK_SUDO_HELP, CONNECTS, INVENTORY_HELP, WAIT_LOCK_HELP,
                     inventory as load_inventory, options, run)
from .flags import task


def refused(inv, name: str) -> None:
    why = inv.profile.etcd_refusal(name)
    if why:
        raise Exit(f"error: {why}", code=2)


def out_path(inv, out) -> Path:
    """--out FILE (a new file), --out DIR (the default name in it), or the default name here."""
    from kubefab.ops.etcd_snapshot import default_out, stamp
    if out is None:
        return default_out(inv, stamp())
    path = Path(out)
    if path.is_dir():
        return path / default_out(inv, stamp())
    if path.exists():
        raise Exit(f"error: --out {out} exists; name a new file (a snapshot never overwrites one)", code=2)
    if not path.parent.is_dir():
        raise Exit(f"error: --out {out}: no folder {path.parent}", code=2)
    return path


@task(help={"out": "where to write it (a new file, or a folder; default: <cluster>-etcd-<UTC time>.db here)",
            "dry-run": "say what would be done, and do nothing",
            "timeout": "seconds for each wait (default: kubefab.timeout, 120)",
            "accept-new-host-keys": ACCEPT_NEW_HELP,
            "wait-lock": WAIT_LOCK_HELP,
            "inventory": INVENTORY_HELP,
            "ask-sudo-password": ASK_SUDO_HELP})
def snapshot(c, out=None, dry_run=False, timeout=None, accept_new_host_keys=False, wait_lock=False,
             inventory=None, ask_sudo_password=False):
    """A verified snapshot of kubefab's etcd on the master, written here 0600."""
    from kubefab.ops.etcd_snapshot import Snapshot
    inv = load_inventory(c, inventory, secrets=CONNECTS, ask_sudo_password=ask_sudo_password)
    refused(inv, "etcd.snapshot")
    path = out_path(inv, out)
    opts = options(c, "etcd.snapshot", dry_run=dry_run, timeout=timeout, accept_new=accept_new_host_keys, wait_lock=wait_lock)
    run(lambda: Snapshot(inv, opts, path))


@task(positional=["file"], help={
    "file": "the snapshot (from fab etcd.snapshot)",
    "yes": "really do it: stop the control plane and etcd, and replace etcd's data with the snapshot's",
    "dry-run": "say every step, and do nothing",
    "timeout": "seconds for etcd to be healthy and the apiserver ready (default: kubefab.timeout, 120)",
    "accept-new-host-keys": ACCEPT_NEW_HELP,
    "wait-lock": WAIT_LOCK_HELP,
    "inventory": INVENTORY_HELP,
    "ask-sudo-password": ASK_SUDO_HELP})
def restore(c, file=None, yes=False, dry_run=False, timeout=None, accept_new_host_keys=False, wait_lock=False,
            inventory=None, ask_sudo_password=False):
    """Put kubefab's etcd back to a snapshot, with the apiserver stopped around it."""
    from kubefab.ops.etcd_restore import Restore
    inv = load_inventory(c, inventory, secrets=CONNECTS, ask_sudo_password=ask_sudo_password)
    refused(inv, "etcd.restore")
    if not file:
        raise Exit("error: etcd.restore needs the snapshot FILE", code=2)
    try:
        data = Path(file).read_bytes()
    except OSError as e:
        raise Exit(f"error: {file}: {e.strerror}", code=2)
    if not data:
        raise Exit(f"error: {file} is empty: no etcd snapshot", code=2)
    if not (yes or dry_run):
        raise Exit(f"error: etcd.restore replaces the cluster's state with {file}'s: add --yes "
                   f"(or --dry-run to see each step)", code=2)
    opts = options(c, "etcd.restore", dry_run=dry_run, timeout=timeout, accept_new=accept_new_host_keys, wait_lock=wait_lock)
    run(lambda: Restore(inv, opts, Path(file), data))

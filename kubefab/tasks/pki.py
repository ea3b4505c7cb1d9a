"""The cluster's identity (its CA and keys in pki/), handed to another operator."""
from __future__ import annotations

import getpass
import os
import sys
from pathlib import Path

from invoke.exceptions import Exit

from . import paths
from .common import INVENTORY_HELP, inventory as load_inventory
from .flags import task

PASSPHRASE_ENV = "KUBEFAB_PKI_PASSPHRASE"
PASSPHRASE_HELP = (f"the environment variable holding the passphrase (default {PASSPHRASE_ENV}; "
                   "unset: asked at the terminal). Never on the command line")


def passphrase(variable: str | None, confirm: bool) -> str:
    """From the named variable, else asked (twice when `confirm`); never from argv."""
    from kubefab import pkiarchive
    name = variable or PASSPHRASE_ENV
    given = os.environ.get(name)
    if not given:
        if variable:
            raise Exit(f"error: --passphrase-env {name}: the variable is not set or empty", code=2)
        if not sys.stdin.isatty():
            raise Exit(f"error: no passphrase: export {PASSPHRASE_ENV}=..., or run at a terminal to be asked",
                       code=2)
        try:
            given = getpass.getpass("passphrase: ")
            if confirm and getpass.getpass("passphrase again: ") != given:
                raise Exit("error: the two passphrases differ", code=2)
        except (EOFError, KeyboardInterrupt):
            raise Exit("interrupted (Ctrl-C)", code=130) from None
    if confirm and len(given) < pkiarchive.MIN_PASSPHRASE:
        raise Exit(f"error: the passphrase has {len(given)} characters; use at least {pkiarchive.MIN_PASSPHRASE} "
                   "(the file holds the cluster's CA key)", code=2)
    return given


@task(name="export", positional=["file"], help={
    "file": "the archive to write (a new file, 0600)",
    "passphrase-env": PASSPHRASE_HELP,
    "inventory": INVENTORY_HELP})
def export(c, file=None, passphrase_env=None, inventory=None):
    """Seal pki/ (the cluster CA and every key) into FILE, encrypted with a passphrase."""
    from kubefab.ops import pki_transfer
    if not file:
        raise Exit("error: pki.export needs the FILE to write", code=2)
    inv = load_inventory(c, inventory, secrets=False)
    dest = paths.file("file", file, file)
    if dest.exists():
        paths.refuse("file", dest, "exists; name a new file (an export never overwrites one)")
    try:
        print(pki_transfer.export(inv, dest, passphrase(passphrase_env, confirm=True)))
    except pki_transfer.TransferError as e:
        raise Exit(f"error: {e}", code=2) from None


@task(name="import", positional=["file"], help={
    "file": "the archive pki.export wrote",
    "passphrase-env": PASSPHRASE_HELP,
    "inventory": INVENTORY_HELP})
def import_(c, file=None, passphrase_env=None, inventory=None):
    """Open FILE into pki/: a new PKI, or what the same one lacks; another cluster's CA is refused."""
    from kubefab import pkiarchive
    from kubefab.ops import pki_transfer
    if not file:
        raise Exit("error: pki.import needs the FILE pki.export wrote", code=2)
    inv = load_inventory(c, inventory, secrets=False)
    src = Path(file)
    try:
        pkiarchive.header(src.read_bytes(), str(src))  # before asking for a passphrase
        print(pki_transfer.import_(inv, src, passphrase(passphrase_env, confirm=False)))
    except OSError as e:
        raise Exit(f"error: {src}: {e.strerror}", code=2) from None
    except (pki_transfer.TransferError, pkiarchive.ArchiveError) as e:
        raise Exit(f"error: {e}", code=2) from None

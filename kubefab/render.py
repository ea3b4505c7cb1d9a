"""Render: (inventory, host) -> the files kubefab writes there, as `File`s, and the same
files as a #cloud-config document. Which files a host gets is its profile's
(`inv.profile.files`); here they are sorted, checked for the PKI they need, redacted
for display. Pure: nothing here talks SSH or imports fabric/invoke."""
from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from kubefab import cloudconfig
from kubefab.files import File
from kubefab.layout import UNIT_DIR
from kubefab.model import Host, Inventory

if TYPE_CHECKING:
    from kubefab.pki import Pki


def render_host(inv: Inventory, host: Host, pki: Pki | None = None) -> dict[str, File]:
    """Every file kubefab writes on `host`, by path, sorted by path. When the profile
    uses a PKI, `pki` (from `kubefab.pki.ensure(inv)`, or `.load` for a read-only look)
    supplies the certificates and keys."""
    if inv.profile.uses_pki and pki is None:
        raise ValueError(f"the {inv.profile.name} profile of {inv.kubernetes.version} needs the cluster's "
                         "PKI: pass kubefab.pki.ensure(inventory)")
    files = inv.profile.files(host, pki)
    return {f.path: f for f in sorted(files, key=lambda f: f.path)}


def redact(file: File) -> File:
    """`file` with a secret's content replaced by a placeholder; other files unchanged."""
    if not file.secret:
        return file
    return replace(file, content=f"<secret: {file.secret_note or 'not shown'}>\n")


_redact = redact  # cloud_config's keyword argument shadows it


def cloud_config(inv: Inventory, host: Host, pki: Pki | None = None, *, redact: bool = False) -> str:
    """The host's files as a #cloud-config document; `redact` hides the secrets."""
    files = list(render_host(inv, host, pki).values())
    if redact:
        files = [_redact(f) for f in files]
    units = (inv.profile.target(host), *inv.profile.unit_order(host))
    return cloudconfig.dump(files, UNIT_DIR, units=units)

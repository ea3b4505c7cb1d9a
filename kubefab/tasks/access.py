"""The operator's access to the cluster."""
from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from invoke.exceptions import Exit

from . import paths
from .common import INVENTORY_HELP, inventory as load_inventory
from .flags import task

DEFAULT_MERGE = "~/.kube/config"


@task(help={"merge": "merge into ~/.kube/config (or the first file in $KUBECONFIG) and make it current",
            "context": "the context, cluster and user name (default: the inventory's cluster name)",
            "out": "the file to write or merge into, in an existing folder (default: ./kubeconfig; "
                   "with --merge ~/.kube/config)",
            "force": "with --merge: replace a context, cluster or user of that name that belongs to "
                     "another server (the previous file is kept as a backup either way)",
            "fresh": "a new admin credential for you, issued here from the cluster's CA in pki/ "
                     "(after pki.import), instead of the shared one",
            "inventory": INVENTORY_HELP})
def kubeconfig(c, merge=False, context=None, out=None, force=False, fresh=False, inventory=None):
    """Write the cluster admin's kubeconfig, or merge it into your own (--merge --context)."""
    import yaml
    from kubefab import kubeconfig as kubeconfigs
    inv = load_inventory(c, inventory, secrets=False)
    name = context or inv.cluster
    default = _default_kubeconfig() if merge else "kubeconfig"
    target = paths.file("out", out, default, make_parents=merge and out is None)
    ours = kubeconfigs.named(_answering(inv, _fresh(inv) if fresh else _admin(inv)), name)
    existing = _read(target) if merge else None
    clash = kubeconfigs.conflicts(existing, ours)
    if clash and not force:
        raise Exit(f"error: --merge: {target} has {'; '.join(clash)}, another cluster's; choose another "
                   f"--context, or add --force to replace it", code=2)
    doc = kubeconfigs.merge(existing, ours) if merge else ours
    text = yaml.safe_dump(doc, sort_keys=False, default_flow_style=False, width=1000)
    with paths.writing("out", target):
        kept = _backup(target, text)
        _write(target, text)
    did = f"merged context {name} into" if merge else f"wrote context {name} to"
    also = f" (the previous file is {kept})" if kept else ""
    print(f"{did} {target}{also}; try: kubectl --kubeconfig {target} --context {name} get nodes")


def _answering(inv, doc: dict) -> dict:
    """Several masters and no endpoint: the kubeconfig names a master that answers now
    (said when it is not the first); none answering: the first, said too."""
    if not inv.local_balancer or "certificate-authority-data" not in doc["clusters"][0]["cluster"]:
        return doc
    from kubefab.ops import credential
    server = credential.answering_server(inv, doc)
    if server is None:
        print(f"note: no master's apiserver answers now; the kubeconfig names the first, {inv.secure_master_url}")
        return doc
    if server != inv.secure_master_url:
        print(f"note: {inv.master.name} does not answer; the kubeconfig names {server}")
    doc["clusters"][0]["cluster"]["server"] = server
    return doc


def _admin(inv) -> dict:
    import yaml
    from kubefab import pki
    plain = inv.profile.admin_kubeconfig()
    if plain is not None:
        return plain
    path = pki.pki_dir(inv) / pki.ADMIN_KUBECONFIG
    if not path.is_file():
        raise Exit(f"error: {path} does not exist yet; kubefab makes it with the cluster's "
                   f"certificates: run kubefab deploy (or kubefab render) first", code=2)
    return yaml.safe_load(path.read_text())


def _fresh(inv) -> dict:
    from kubefab.ops import credential  # only --fresh issues a certificate
    from kubefab.ops.operation import local_user
    if inv.profile.admin_kubeconfig() is not None:
        raise Exit("error: --fresh: this cluster has no TLS (kubernetes.tls: false): there is no credential "
                   "to issue", code=2)
    try:
        return credential.fresh_admin(inv, local_user())
    except credential.CredentialError as e:
        raise Exit(f"error: --fresh: {e}", code=2) from None


def _default_kubeconfig() -> str:
    listed = [p for p in os.environ.get("KUBECONFIG", "").split(os.pathsep) if p]
    return listed[0] if listed else DEFAULT_MERGE


def _read(path: Path) -> dict | None:
    import yaml
    try:
        doc = yaml.safe_load(path.read_text()) if path.exists() else None
    except (OSError, yaml.YAMLError) as e:
        raise Exit(f"error: --merge: cannot read {path} ({e}); fix it or merge into another "
                   f"file with --out", code=2) from None
    if doc is not None and not isinstance(doc, dict):
        raise Exit(f"error: --merge: {path} is not a kubeconfig (not a mapping)", code=2)
    return doc


def _backup(path: Path, text: str) -> Path | None:
    """The file as it was, beside it (0600: it may hold keys), when it changes."""
    try:
        if not path.exists() or path.read_text() == text:
            return None
    except UnicodeDecodeError:
        pass
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    kept = path.with_name(f"{path.name}.kubefab-backup-{stamp}")
    n = 1
    while kept.exists():
        n += 1
        kept = path.with_name(f"{path.name}.kubefab-backup-{stamp}-{n}")
    fd = os.open(kept, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh, open(path, "rb") as old:
        shutil.copyfileobj(old, fh)
    return kept


def _write(path: Path, text: str) -> None:
    """Atomically, 0600 from the start: it holds a private key."""
    tmp = path.with_name(f".{path.name}.kubefab-new")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.replace(tmp, path)

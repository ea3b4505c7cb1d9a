"""The operator's access to the cluster."""
from __future__ import annotations

import os
from pathlib import Path

from invoke.exceptions import Exit

from .common import INVENTORY_HELP, inventory as load_inventory
from .flags import task


@task(help={"merge": "merge into ~/.kube/config (or the first file in $KUBECONFIG) and make it current",
            "context": "the context, cluster and user name (default: the inventory's cluster name)",
            "out": "the file to write or merge into (default: ./kubeconfig; with --merge ~/.kube/config)",
            "inventory": INVENTORY_HELP})
def kubeconfig(c, merge=False, context=None, out=None, inventory=None):
    """Write the cluster admin's kubeconfig, or merge it into your own (--merge --context)."""
    import yaml
    from kubefab import kubeconfig as kubeconfigs
    inv = load_inventory(c, inventory)
    name = context or inv.cluster
    ours = kubeconfigs.named(_admin(inv), name)
    target = Path(out or (_default_kubeconfig() if merge else "kubeconfig")).expanduser()
    existing = _read(target) if merge else None
    doc = kubeconfigs.merge(existing, ours) if merge else ours
    _write(target, yaml.safe_dump(doc, sort_keys=False, default_flow_style=False, width=1000))
    did = f"merged context {name} into" if merge else f"wrote context {name} to"
    print(f"{did} {target}; try: kubectl --kubeconfig {target} --context {name} get nodes")


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


def _default_kubeconfig() -> str:
    listed = [p for p in os.environ.get("KUBECONFIG", "").split(os.pathsep) if p]
    return listed[0] if listed else "~/.kube/config"


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


def _write(path: Path, text: str) -> None:
    """Atomically, 0600 from the start: it holds a private key."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.kubefab-new")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.replace(tmp, path)

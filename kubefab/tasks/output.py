"""Files for those who look before they deploy, or provision at boot."""
from pathlib import Path

from .flags import task

from .common import INVENTORY_HELP, cluster_pki, inventory as load_inventory, select


def _files(inv, host, keys, with_secrets):
    from kubefab import render
    files = render.render_host(inv, host, keys)
    return files if with_secrets else {p: render.redact(f) for p, f in files.items()}


@task(help={"out": "folder to write into (default build/rendered)",
            "host": "only this host, comma-separated names allowed (default: all)",
            "with-secrets": "write the registry token and private keys instead of placeholders",
            "inventory": INVENTORY_HELP})
def render_files(c, out="build/rendered", host=None, with_secrets=False, inventory=None):
    """Write every host's files to OUT/<host>/<path>, as deploy would put them."""
    inv = load_inventory(c, inventory)
    hosts = select(inv, host, "host")
    keys = cluster_pki(inv)
    for h in hosts:
        files = _files(inv, h, keys, with_secrets)
        for path, f in files.items():
            target = Path(out) / h.name / path.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(f.content)
            target.chmod(f.mode if not f.secret else 0o600)
        print(f"{h.name}: {len(files)} files in {Path(out) / h.name}")


@task(help={"out": "folder to write into (default build/cloud-config)",
            "with-secrets": "write the registry token and private keys instead of placeholders",
            "inventory": INVENTORY_HELP})
def cloud_config(c, out="build/cloud-config", with_secrets=False, inventory=None):
    """Write OUT/<host>.yml: a #cloud-config with the same files and units, per host."""
    from kubefab import render
    inv = load_inventory(c, inventory)
    keys = cluster_pki(inv)
    Path(out).mkdir(parents=True, exist_ok=True)
    for h in inv.hosts:
        target = Path(out) / f"{h.name}.yml"
        target.write_text(render.cloud_config(inv, h, keys, redact=not with_secrets))
        target.chmod(0o600 if with_secrets else 0o644)
        print(f"{h.name}: {target}")

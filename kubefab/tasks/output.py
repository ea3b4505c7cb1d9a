"""Files for those who look before they deploy, or provision at boot. Without
--with-secrets no secret is read: the registry token is not asked for."""
from .flags import task

from . import paths
from .common import INVENTORY_HELP, cluster_pki, inventory as load_inventory, select


def _files(inv, host, keys, with_secrets):
    from kubefab import render
    files = render.render_host(inv, host, keys)
    return files if with_secrets else {p: render.redact(f) for p, f in files.items()}


@task(help={"out": "folder to write into (made if missing, not its parents; default build/rendered)",
            "host": "only this host, comma-separated names allowed (default: all)",
            "with-secrets": "write the registry token and private keys instead of placeholders",
            "inventory": INVENTORY_HELP})
def render_files(c, out=None, host=None, with_secrets=False, inventory=None):
    """Write every host's files to OUT/<host>/<path>, as deploy would put them."""
    inv = load_inventory(c, inventory, secrets=with_secrets)
    hosts = select(inv, host, "host")
    folder = paths.folder("out", out, "build/rendered")
    keys = cluster_pki(inv)
    for h in hosts:
        files = _files(inv, h, keys, with_secrets)
        with paths.writing("out", folder):
            for path, f in files.items():
                target = folder / h.name / path.lstrip("/")
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(f.content)
                target.chmod(f.mode if not f.secret else 0o600)
        print(f"{h.name}: {len(files)} files in {folder / h.name}")


@task(help={"out": "folder to write into (made if missing, not its parents; default build/cloud-config)",
            "with-secrets": "write the registry token and private keys instead of placeholders",
            "inventory": INVENTORY_HELP})
def cloud_config(c, out=None, with_secrets=False, inventory=None):
    """Write OUT/<host>.yml: a #cloud-config with the same files and units, per host."""
    from kubefab import render
    inv = load_inventory(c, inventory, secrets=with_secrets)
    folder = paths.folder("out", out, "build/cloud-config")
    keys = cluster_pki(inv)
    for h in inv.hosts:
        target = folder / f"{h.name}.yml"
        with paths.writing("out", folder):
            target.write_text(render.cloud_config(inv, h, keys, redact=not with_secrets))
            target.chmod(0o600 if with_secrets else 0o644)
        print(f"{h.name}: {target}")

"""A starter inventory."""
from __future__ import annotations

from invoke.exceptions import Exit

from . import paths
from .flags import task


@task(help={"version": "the Kubernetes release (default: the newest kubefab supports)",
            "hosts": "name=address of each host, comma-separated, the master first "
                     "(default: master-1=10.0.0.1,node-1=10.0.0.2,node-2=10.0.0.3, to edit)",
            "cluster": "the cluster's name (default: kubernetes)",
            "user": "the SSH user (default: core)",
            "out": "the inventory to write, a new file (default: hosts.yaml here)"})
def init(c, version=None, hosts=None, cluster="kubernetes", user="core", out=None):
    """Write a commented starter inventory (hosts.yaml) for the newest supported release."""
    from kubefab import validate as v
    from kubefab.ops import init as starter
    target = paths.file("out", out, "hosts.yaml")
    try:
        v.cluster_name(cluster)
        v.user(user)
        text = starter.starter(starter.version_of(version), starter.hosts_of(hosts), cluster, user)
        starter.write(target, text)
    except v.Invalid as e:
        raise Exit(f"error: {e}", code=2) from None
    except starter.InitError as e:
        raise Exit(f"error: {e}", code=2) from None
    print(f"wrote {target}: give its hosts their addresses, then `kubefab deploy --dry-run --inventory {target}`")

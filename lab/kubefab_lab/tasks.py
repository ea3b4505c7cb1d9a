"""The local lab: the inventory's hosts as real systemd hosts (systemd-nspawn) on 127.0.0.2..,
with etcd and the release tarball served from 127.0.0.1. Needs root."""
from __future__ import annotations

from contextlib import contextmanager

from invoke import Collection

from kubefab.tasks.flags import task
from invoke.exceptions import Exit

from kubefab_lab import Lab, LabError


@contextmanager
def _errors():
    try:
        yield
    except LabError as e:
        raise Exit(f"error: {e}", code=1) from None


@task(help={"nodes": "how many nodes besides the master (default: the inventory's own); "
                     "new ones are named after the first node, e.g. azure-prd-05",
            "inventory": "the inventory to copy (default: hosts.yaml)",
            "version": "deploy this Kubernetes release instead of the inventory's, e.g. v1.37.1 "
                       "(v1.35 and later: served as a mirror with its sums)",
            "published-sums": "with --version v1.35+: leave the sums out of build/lab/hosts.yaml; the "
                              "download takes the sum files the mirror publishes beside each download"})
def up(c, nodes=None, inventory="hosts.yaml", version=None, published_sums=False):
    """Boot a host per inventory host, start etcd and the release server, write build/lab/hosts.yaml."""
    if nodes is not None and not str(nodes).isdigit():
        raise Exit(f"error: --nodes wants a number of nodes, not {nodes!r}", code=2)
    with _errors():
        info = Lab().up(inventory, nodes=None if nodes is None else int(nodes), version=version,
                        pin_sums=not published_sums)
    width = max(len(name) for name, _ in info.hosts)
    for name, address in info.hosts:
        units = info.degraded.get(name)
        print(f"  {name:<{width}}  {address}" + (f"  degraded: {', '.join(units)}" if units else ""))
    print(f"etcd {info.etcd_url}; release {info.release_url}")  # a modern release: its mirror
    print(f"lab inventory: {info.inventory_path}; deploy to it with:\n"
          "  KUBEFAB_INVENTORY=build/lab/hosts.yaml fab deploy")


@task
def down(c):
    """Stop every lab host, etcd and the release server; remove mounts and cgroups."""
    with _errors():
        Lab().down()
    print("lab is down")


@task
def status(c):
    """Each lab host, its address and whether it runs."""
    hosts = Lab().status()
    if not hosts:
        print("no lab is up (fab lab.up starts one)")
        return
    width = max(len(h.name) for h in hosts)
    for h in hosts:
        print(f"{h.name:<{width}}  {h.address:<11}  {h.state}")


ns = Collection(up, down, status)  # `lab.*`, found by kubefab through the kubefab.tasks entry point

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


def _count(flag: str, value):
    if value is not None and not str(value).isdigit():
        raise Exit(f"error: --{flag} wants a number of hosts, not {value!r}", code=2)
    return None if value is None else int(value)


@task(help={"nodes": "how many nodes (default: the inventory's own); new ones are named after "
                     "the first node, e.g. azure-prd-05",
            "masters": "how many masters (default: the inventory's own); new ones are named after "
                       "the first master",
            "inventory": "the inventory to copy (default: hosts.yaml)",
            "version": "deploy this Kubernetes release instead of the inventory's, e.g. v1.37.1 "
                       "(v1.35 and later: served as a mirror beside every other supported release)",
            "published-sums": "with --version v1.35+ (the default): no sums in build/lab/hosts.yaml, each "
                              "download takes the sum file the mirror publishes beside it, so changing "
                              "the version alone switches releases; --no-published-sums pins this "
                              "version's sums in hosts.yaml",
            "bastion": "make this lab host the only way in: the others take SSH logins from it only "
                       "(hosts.yaml's ssh.bastion names it; ssh -F build/lab/ssh_config NAME)"})
def up(c, nodes=None, masters=None, inventory="hosts.yaml", version=None, published_sums=True,
       bastion=None):
    """Boot a host per inventory host, start etcd and the release server, write build/lab/hosts.yaml."""
    nodes, masters = _count("nodes", nodes), _count("masters", masters)
    with _errors():
        info = Lab().up(inventory, nodes=nodes, masters=masters, version=version,
                        pin_sums=not published_sums, bastion=bastion, bastion_in_inventory=bool(bastion))
    width = max(len(name) for name, _ in info.hosts)
    for name, address in info.hosts:
        units = info.degraded.get(name)
        note = "  bastion" if info.bastion and info.bastion[0] == name else ""
        print(f"  {name:<{width}}  {address}{note}" + (f"  degraded: {', '.join(units)}" if units else ""))
    print(f"etcd {info.etcd_url}; release {info.release_url}")  # a modern release: its mirror
    if info.releases:
        print(f"the mirror serves {', '.join(info.releases)}")
    print(f"ssh -F {info.ssh_config} NAME; {info.sudo_user}'s sudo password: {info.sudo_password_file}")
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


@task(positional=["name"], help={"name": "the lab host"})
def stop(c, name):
    """Halt one lab host (its address then refuses connections); `lab.start NAME` boots it again."""
    with _errors():
        Lab().stop_host(name)
    print(f"{name} is stopped")


@task(positional=["name"], help={"name": "the lab host"})
def start(c, name):
    """Boot a stopped lab host again and wait until it takes SSH logins."""
    with _errors():
        Lab().start_host(name)
    print(f"{name} is running")


ns = Collection(up, down, status, stop, start)  # `lab.*`, found by kubefab through the kubefab.tasks entry point

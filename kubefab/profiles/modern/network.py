"""The pod network kubefab renders itself (pod_network: bridge, MODERN.md §5): every
host gets a pod subnet carved from the cluster range, and routes to every other
host's subnet via that host's address. Pure.

A host's subnet is its `pod_cidr`, else the one at its position among the hosts in
the inventory (the master's included, so that a role change moves nothing): stable
from run to run as long as hosts are added at the end. Subnets that an explicit
pod_cidr takes are skipped.
"""
from __future__ import annotations

import ipaddress

from kubefab.model import Host, Inventory, once_per_inventory


class NetworkError(ValueError):
    """One line: what cannot be carved, for which host."""


@once_per_inventory
def pod_subnets(inv: Inventory) -> dict[str, str]:
    """Host name -> its pod subnet (CIDR text), in inventory order (callers only read it)."""
    k = inv.kubernetes
    cluster = ipaddress.ip_network(k.cluster_cidr)
    if k.node_cidr_prefix < cluster.prefixlen:
        raise NetworkError(f"node_cidr_prefix /{k.node_cidr_prefix} is larger than cluster_cidr {cluster}")
    pinned = {h.name: ipaddress.ip_network(h.pod_cidr) for h in inv.hosts if h.pod_cidr}
    for name, net in pinned.items():
        if not net.subnet_of(cluster):
            raise NetworkError(f"{name}: pod_cidr {net} is not inside cluster_cidr {cluster}")
        for other, theirs in pinned.items():
            if other < name and net.overlaps(theirs):
                raise NetworkError(f"{name}: pod_cidr {net} overlaps {other}'s {theirs}")
    free = (s for s in cluster.subnets(new_prefix=k.node_cidr_prefix)
            if not any(s.overlaps(p) for p in pinned.values()))
    result = {}
    for host in inv.hosts:
        if host.name in pinned:
            result[host.name] = str(pinned[host.name])
            continue
        subnet = next(free, None)
        if subnet is None:
            raise NetworkError(f"{host.name}: cluster_cidr {cluster} has no /{k.node_cidr_prefix} left; "
                               "widen cluster_cidr or raise node_cidr_prefix")
        result[host.name] = str(subnet)
    return result


def routes(inv: Inventory, host: Host) -> tuple[tuple[str, str], ...]:
    """(subnet, via address) for every other host's pod subnet."""
    subnets = pod_subnets(inv)
    return tuple((subnets[h.name], h.address) for h in inv.hosts if h.name != host.name)

"""The node-local load balancer over the masters' apiservers (several masters, no
endpoint in the inventory): what its config says, after kubespray's haproxy.cfg and
nginx.conf (docs/KUBERNETES.md §20). It listens on the node's own address at the
secure port (the lab's hosts share one network namespace: each its own address) and
passes TCP through, so TLS stays end to end between the kubelet and an apiserver; the
clients check the apiserver's certificate for SERVER_NAME (a name it carries), so no
node address joins it. Pure."""
from __future__ import annotations

from kubefab.model import Host, Inventory

SERVER_NAME = "kubernetes"  # in every apiserver certificate (kubefab.pki.apiserver_sans)
# haproxy's health checks: kubespray asks /healthz every 15 s; kubefab asks /readyz every
# second, so that a master that stops (its /readyz fails at once while it serves on for
# units.SHUTDOWN_DELAY) is out of the rotation within CHECK_EVERY * FALL, before it closes
CHECK_PATH, CHECK_EVERY, RISE, FALL = "/readyz", "1s", 2, 2


def backends(inv: Inventory) -> list[tuple[str, str, int]]:
    """(name, address, port) of every master's apiserver, in inventory order."""
    port = inv.kubernetes.apiserver.secure_port
    return [(m.name, m.address, port) for m in inv.masters]


def listen(inv: Inventory, host: Host) -> tuple[str, int]:
    """Where the balancer listens on `host`: its local address, the secure port."""
    return host.local_address, inv.kubernetes.apiserver.secure_port


def context(inv: Inventory, host: Host) -> dict:
    address, port = listen(inv, host)
    bracket = ":" in address  # IPv6 in haproxy/nginx listen lines
    return dict(listen=f"[{address}]:{port}" if bracket else f"{address}:{port}", backends=backends(inv),
                check_path=CHECK_PATH, check_every=CHECK_EVERY, rise=RISE, fall=FALL)

"""Whether the apiserver is up, asked the way nodes ask it: one curl, as root on the
master (from the probe, deploy's wait and master.restart alike).

With tls that is the secure port at the master's address, the server's certificate
checked against the cluster CA and the operator's client certificate shown (x509
authentication, as a kubelet's). The insecure port on the master's loopback serves
only the master's own processes; it is a second check, named "loopback". Without tls
the insecure port is what nodes use, checked as before TLS. The modern profile has no
insecure port: its check is /readyz on the secure port, with the modern paths of the
CA and the admin certificate. Pure: argv out."""
from __future__ import annotations

from dataclasses import dataclass

from kubefab.profiles.modern import paths as layout, render as modern
from kubefab import render
from kubefab.model import Inventory

# -S: a failure says why; --globoff: an IPv6 address in brackets is no glob range
CURL = ("curl", "-sS", "--globoff", "--max-time", "2")


@dataclass(frozen=True)
class Check:
    url: str  # the /healthz asked
    argv: tuple[str, ...]  # prints "ok" when healthy
    says: str  # what was asked, for the operator


def apiserver(inv: Inventory) -> Check:
    """/healthz on the port nodes use (/readyz in the modern profile)."""
    if inv.kubernetes.modern:
        url = modern.readyz(inv)
        tls = ("--cacert", layout.CA, "--cert", layout.ADMIN_CERT, "--key", layout.ADMIN_KEY)
        return Check(url, (*CURL, *tls, url), f"{inv.secure_master_url}, TLS, client certificate")
    if not inv.kubernetes.tls:
        url = f"{inv.local_master_url}/healthz"
        return Check(url, (*CURL, url), inv.local_master_url)
    url = f"{inv.secure_master_url}/healthz"
    tls = ("--cacert", render.CA_CERT, "--cert", render.ADMIN_CERT, "--key", render.ADMIN_KEY)
    return Check(url, (*CURL, *tls, url), f"{inv.secure_master_url}, TLS, client certificate")


def loopback(inv: Inventory) -> Check | None:
    """With tls: /healthz on the insecure port, the master's own way in; else None
    (and None in the modern profile, which has no insecure port)."""
    if not inv.kubernetes.tls or inv.kubernetes.modern:
        return None
    url = f"{inv.local_master_url}/healthz"
    return Check(url, (*CURL, url), f"loopback :{inv.kubernetes.apiserver.insecure_port}")

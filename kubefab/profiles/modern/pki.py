"""What the modern profile adds to kubefab.pki: the further certificates (controller-
manager, scheduler, the apiserver's kubelet client, kubelets that also serve, etcd's
member and client under etcd's own CA, the aggregation layer's front-proxy client under
its own CA, the super-admin), the service-account key pair, the key that encrypts
secrets at rest (secretbox; an older cluster's aescbc key is kept for reading), and the
external etcd's client files the inventory names. Only used when the inventory's
profile is modern, so the v1.0 PKI stays as it was.
"""
from __future__ import annotations

import ipaddress
from pathlib import Path

from kubefab.profiles.modern import atrest
from kubefab.pki import PkiError
from kubefab.model import Host, Inventory

SERVICE_ACCOUNTS = "service-accounts.key"
CLUSTER_ADMINS = "kubeadm:cluster-admins"  # the admin's group, bound to cluster-admin (kubeadm 1.29+)
FRONT_PROXY_CA = "front-proxy-ca"
WILDCARDS = ("0.0.0.0", "::")


def _names(host: Host, *extra_ips: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(DNS names, IPs) a host's serving certificate carries: its name, address, bind address."""
    dns, ips = [host.name], list(extra_ips)
    for value in (host.address, host.bind_address):
        if value in WILDCARDS:
            continue
        try:
            ips.append(ipaddress.ip_address(value).compressed)
        except ValueError:
            dns.append(value.lower().rstrip("."))
    return tuple(dict.fromkeys(dns)), tuple(dict.fromkeys(ips))


def kubelet_leaf(node: Host) -> dict:
    """The kubelet's certificate: its client identity (Node authorizer) and the serving
    certificate the apiserver checks against the CA (tlsCertFile)."""
    dns, ips = _names(node)
    return dict(name=f"kubelet-{node.name}", cn=f"system:node:{node.name}", orgs=("system:nodes",),
                dns=dns, ips=ips, both=True)


def leaves(inv: Inventory) -> list[dict]:
    """Leaf arguments beyond the legacy profile's."""
    out = [dict(name="kube-controller-manager", cn="system:kube-controller-manager"),
           dict(name="kube-scheduler", cn="system:kube-scheduler"),
           # bound to system:kubelet-api-admin by kubefab.profiles.modern.render.rbac_manifest
           dict(name="apiserver-kubelet-client", cn="kube-apiserver-kubelet-client"),
           # the aggregator's client to extension apiservers (kubeadm's names)
           dict(name="front-proxy-client", cn="front-proxy-client", ca=FRONT_PROXY_CA),
           dict(name="super-admin", cn="kubefab-super-admin", orgs=("system:masters",))]
    if inv.kubernetes.managed_etcd:
        for master in inv.masters:
            dns, ips = _names(master, "127.0.0.1")
            out.append(dict(name=etcd_member(inv, master), cn=f"etcd-{master.name}", dns=(*dns, "localhost"),
                            ips=ips, both=True, ca="etcd-ca"))  # serving and peer, naming its own address
        out.append(dict(name="apiserver-etcd-client", cn="kube-apiserver-etcd-client", ca="etcd-ca"))
    return out


def etcd_member(inv: Inventory, master: Host) -> str:
    """The file stem of a member's certificate in pki/: the first master's keeps the one-
    master name (etcd-server), so a cluster that grows keeps its bytes; the others' are
    etcd-server-<name>."""
    return "etcd-server" if master == inv.master else f"etcd-server-{master.name}"


# --- keys that are no certificates ---------------------------------------------------------

def ensure_secrets(inv: Inventory, folder: Path, changes: list, pairs: dict) -> dict:
    """The service-account key pair; the keys at rest (kubefab.profiles.modern.atrest:
    secretbox's made once, an older aescbc key kept for reading); the cluster CA's key (the CSR signer's);
    the external etcd client's files read into `pairs` ("etcd-client": (cert, key)) and
    its CA ("etcd-ca"). Pairs are (PEM, PEM) tuples; service_accounts' first is the
    public key."""
    from kubefab import certs  # its X.509 imports only where a PKI file is read or written
    sa = folder / SERVICE_ACCOUNTS
    if certs.load(folder / "none", sa)[1] is None:
        certs.put(sa, certs.key_pem(certs.new_key()), 0o600)
        changes.append(f"created the service-account signing key {sa}")
    certs.tighten(sa)
    out = dict(service_accounts=_service_accounts(sa), ca_key=(folder / "ca.key").read_text(),
               **atrest.ensure(folder, changes))
    out.update(_external_etcd(inv, pairs))
    return out


def load_secrets(inv: Inventory, folder: Path, problems: list, pairs: dict) -> dict:
    """ensure_secrets' read-only twin: what is there; problems for what is not."""
    from kubefab import certs
    out = {}
    sa = folder / SERVICE_ACCOUNTS
    if certs.load(folder / "none", sa)[1] is None:
        problems.append(f"{sa} missing or unreadable; fab deploy makes it")
    else:
        out["service_accounts"] = _service_accounts(sa)
    out.update(atrest.load(folder, problems))
    if (folder / "ca.key").exists():
        out["ca_key"] = (folder / "ca.key").read_text()
    try:
        out.update(_external_etcd(inv, pairs))
    except PkiError as e:  # status reports, never raises
        problems.append(str(e))
    return out


def _service_accounts(path: Path) -> tuple[str, str]:
    from cryptography.hazmat.primitives import serialization
    from kubefab import certs
    key = certs.load(path.with_name("none"), path)[1]
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return public, path.read_text()


def _external_etcd(inv: Inventory, pairs: dict) -> dict:
    client = inv.kubernetes.etcd_client
    if client is None:
        return {}
    from kubefab import certs
    try:
        texts = [p.read_text() for p in (client.ca, client.cert, client.key)]
    except OSError as e:
        raise PkiError(f"{e.filename}: {e.strerror}; kubernetes.etcd_client names it") from None
    cert, key = certs.load(client.cert, client.key)
    if cert is None or key is None or not certs.matches(cert, key):
        raise PkiError(f"{client.cert} and {client.key} are not a certificate and its key "
                          "(kubernetes.etcd_client)")
    pairs["etcd-client"] = (texts[1], texts[2])
    return {"etcd-ca": texts[0]}

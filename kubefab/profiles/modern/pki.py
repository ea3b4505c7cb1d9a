"""What the modern profile adds to kubefab.pki: the further certificates (controller-
manager, scheduler, the apiserver's kubelet client, kubelets that also serve, etcd's
member and client under etcd's own CA), the service-account key pair, the key that
encrypts secrets at rest, and the external etcd's client files the inventory names.
Only used when the inventory's profile is modern, so the v1.0 PKI stays as it was.
"""
from __future__ import annotations

import base64
import ipaddress
import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from kubefab import certs
from kubefab.pki import PkiError
from kubefab.model import Host, Inventory

SERVICE_ACCOUNTS = "service-accounts.key"
ENCRYPTION = "encryption.key"
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
           dict(name="apiserver-kubelet-client", cn="kube-apiserver-kubelet-client")]
    if inv.kubernetes.managed_etcd:
        dns, ips = _names(inv.master, "127.0.0.1")
        out += [dict(name="etcd-server", cn=f"etcd-{inv.master.name}", dns=(*dns, "localhost"), ips=ips,
                     both=True, ca="etcd-ca"),  # serving and peer
                dict(name="apiserver-etcd-client", cn="kube-apiserver-etcd-client", ca="etcd-ca")]
    return out


# --- keys that are no certificates ---------------------------------------------------------

def ensure_secrets(inv: Inventory, folder: Path, changes: list, pairs: dict) -> dict:
    """The service-account key pair and the encryption key, made once; the external
    etcd client's files read into `pairs` ("etcd-client": (cert, key)) and its CA
    ("etcd-ca"). Pairs are (PEM, PEM) tuples; service_accounts' first is the public key."""
    sa = folder / SERVICE_ACCOUNTS
    if certs.load(folder / "none", sa)[1] is None:
        certs.put(sa, certs.key_pem(certs.new_key()), 0o600)
        changes.append(f"created the service-account signing key {sa}")
    certs.tighten(sa)
    enc = folder / ENCRYPTION
    keys = encryption_keys(enc)
    if keys is None:
        if enc.exists():  # never replace it: secrets written with it would be lost
            raise PkiError(f"{enc} is not 32 bytes in base64; restore it from your backup")
        certs.put(enc, base64.b64encode(os.urandom(32)).decode() + "\n", 0o600)
        changes.append(f"created the key that encrypts secrets at rest {enc}")
        keys = encryption_keys(enc)
    certs.tighten(enc)
    out = dict(service_accounts=_service_accounts(sa), encryption_key=keys[0][1], encryption_keys=keys)
    out.update(_external_etcd(inv, pairs))
    return out


def load_secrets(inv: Inventory, folder: Path, problems: list, pairs: dict) -> dict:
    """ensure_secrets' read-only twin: what is there; problems for what is not."""
    out = {}
    sa, enc = folder / SERVICE_ACCOUNTS, folder / ENCRYPTION
    if certs.load(folder / "none", sa)[1] is None:
        problems.append(f"{sa} missing or unreadable; fab deploy makes it")
    else:
        out["service_accounts"] = _service_accounts(sa)
    keys = encryption_keys(enc)
    if keys is not None:
        out.update(encryption_key=keys[0][1], encryption_keys=keys)
    else:
        problems.append(f"{enc} missing or not 32 bytes in base64; fab deploy makes a missing one")
    try:
        out.update(_external_etcd(inv, pairs))
    except PkiError as e:  # status reports, never raises
        problems.append(str(e))
    return out


def _service_accounts(path: Path) -> tuple[str, str]:
    key = certs.load(path.with_name("none"), path)[1]
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return public, path.read_text()


FIRST_KEY = "key1"  # the name of the key a cluster starts with (the one line of an older encryption.key)


def encryption_keys(path: Path) -> tuple[tuple[str, str], ...] | None:
    """The keys that encrypt secrets at rest, in the provider's order (the first encrypts,
    every one decrypts): `NAME BASE64` per line, or the one bare key a cluster starts with
    (named FIRST_KEY). None when the file is missing or a key is not 32 bytes in base64."""
    try:
        lines = [line.split() for line in path.read_text().splitlines() if line.strip()]
    except OSError:
        return None
    keys = tuple((FIRST_KEY, w[0]) if len(w) == 1 and len(lines) == 1 else tuple(w) for w in lines)
    try:
        if not keys or any(len(k) != 2 or len(base64.b64decode(k[1], validate=True)) != 32 for k in keys):
            return None
    except ValueError:
        return None
    return keys if len({name for name, _ in keys}) == len(keys) else None


def write_encryption_keys(folder: Path, keys) -> None:
    """The keys in their order, as encryption_keys reads them (root-only, atomic)."""
    certs.put(folder / ENCRYPTION, "".join(f"{name} {secret}\n" for name, secret in keys), 0o600)


def _external_etcd(inv: Inventory, pairs: dict) -> dict:
    client = inv.kubernetes.etcd_client
    if client is None:
        return {}
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

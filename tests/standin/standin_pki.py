"""A throwaway PKI for the TLS tests, made with `cryptography`: as kubefab renders it
(EC P-256, PEM), a CA, the apiserver's serving certificate (IP SAN of the test
address), client certificates for nodes, kube-proxy and the admin, and a second,
unrelated CA with an admin certificate of its own (to be refused)."""
from __future__ import annotations

import base64
import datetime
import ipaddress
import json
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DAY = datetime.timedelta(days=1)


@dataclass(frozen=True)
class Pair:
    cert: Path
    key: Path


def _name(cn: str, orgs=()) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in orgs]
                     + [x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _write(path: Path, key, cert: x509.Certificate, pkcs8: bool) -> Pair:
    crt, pem = path.with_suffix(".crt"), path.with_suffix(".key")
    crt.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    fmt = serialization.PrivateFormat.PKCS8 if pkcs8 else serialization.PrivateFormat.TraditionalOpenSSL
    pem.write_bytes(key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption()))
    pem.chmod(0o600)
    return Pair(crt, pem)


class CA:
    def __init__(self, directory: Path, name: str):
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self.key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        ski = x509.SubjectKeyIdentifier.from_public_key(self.key.public_key())
        self.cert = (x509.CertificateBuilder().subject_name(_name(name)).issuer_name(_name(name))
                     .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
                     .not_valid_before(now - DAY).not_valid_after(now + 30 * DAY)
                     .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                     .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                                  content_commitment=False, key_encipherment=False,
                                                  data_encipherment=False, key_agreement=False,
                                                  encipher_only=False, decipher_only=False), critical=True)
                     .add_extension(ski, critical=False)
                     .sign(self.key, hashes.SHA256()))
        self.pair = _write(self.dir / "ca", self.key, self.cert, pkcs8=False)

    @property
    def crt(self) -> Path:
        return self.pair.cert

    def issue(self, file: str, cn: str, orgs=(), server_ips=(), server_dns=(), pkcs8=False) -> Pair:
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        server = bool(server_ips or server_dns)
        b = (x509.CertificateBuilder().subject_name(_name(cn, orgs)).issuer_name(self.cert.subject)
             .public_key(key.public_key()).serial_number(x509.random_serial_number())
             .not_valid_before(now - DAY).not_valid_after(now + 30 * DAY)
             .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
             .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=False, crl_sign=False,
                                          content_commitment=False, key_encipherment=False, data_encipherment=False,
                                          key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
             .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH if server
                                                   else ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
             .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                            critical=False))
        if server:
            b = b.add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address(ip)) for ip in server_ips]
                + [x509.DNSName(d) for d in server_dns]), critical=False)
        return _write(self.dir / file, key, b.sign(self.key, hashes.SHA256()), pkcs8)


@dataclass
class PKI:
    dir: Path
    ca: CA
    apiserver: Pair
    nodes: dict  # node name -> Pair
    proxy: Pair
    admin: Pair
    other_ca: CA
    other_admin: Pair  # an admin certificate from the other CA


def make_pki(directory: Path, api_addr: str, node_names=("azure-prd-02", "ded-prd-01")) -> PKI:
    ca = CA(directory / "pki", "kubefab-ca")
    other = CA(directory / "other", "someone-elses-ca")
    return PKI(
        dir=directory, ca=ca,
        apiserver=ca.issue("apiserver", "kube-apiserver", server_ips=[api_addr], server_dns=["kubernetes"], pkcs8=True),
        nodes={n: ca.issue(f"node-{n}", f"system:node:{n}", ["system:nodes"]) for n in node_names},
        proxy=ca.issue("proxy", "system:kube-proxy", pkcs8=True),
        admin=ca.issue("admin", "kubefab-admin", ["system:masters"]),
        other_ca=other,
        other_admin=other.issue("admin", "kubefab-admin", ["system:masters"]))


def write_kubeconfig(path: Path, server: str, ca: Path | None, client: Pair | None, user: str = "user",
                     embed: bool = False, token: str | None = None) -> Path:
    """A kubeconfig as kubefab renders one: file paths, or (embed) the `-data` forms.
    (kubectl prompts for a username when a kubeconfig has no credentials at all; a
    token the apiserver does not know makes a certificate-less kubectl that does not.)"""
    def b64(p: Path) -> str:
        return base64.b64encode(p.read_bytes()).decode()

    cluster = {"server": server}
    if ca is not None:
        cluster["certificate-authority-data" if embed else "certificate-authority"] = b64(ca) if embed else str(ca)
    creds = {}
    if client is not None:
        if embed:
            creds = {"client-certificate-data": b64(client.cert), "client-key-data": b64(client.key)}
        else:
            creds = {"client-certificate": str(client.cert), "client-key": str(client.key)}
    if token is not None:
        creds["token"] = token
    lines = ["apiVersion: v1", "kind: Config", "clusters:", "- name: production", "  cluster:"]
    lines += [f"    {k}: {json.dumps(v)}" for k, v in cluster.items()]
    lines += ["contexts:", f"- name: {user}@production", "  context:", "    cluster: production", f"    user: {user}",
              f"current-context: {user}@production", "users:", f"- name: {user}"]
    lines += ["  user:"] + [f"    {k}: {json.dumps(v)}" for k, v in creds.items()] if creds else ["  user: {}"]
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o600)
    return path

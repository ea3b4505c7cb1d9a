"""The X.509 and key mechanics behind kubefab.pki, and its private files.

EC P-256 keys; CA and leaf certificates built and signed with `cryptography`; reading
them back and comparing them; PEM text; files written atomically with a given mode and
folders kept 0700. No policy here: what to make and when to renew is kubefab.pki's.
Imports neither fabric nor invoke.
"""
from __future__ import annotations

import datetime as dt
import ipaddress
import os
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


# --- building -----------------------------------------------------------------------------

def new_key() -> ec.EllipticCurvePrivateKey:
    """A fresh EC P-256 private key."""
    return ec.generate_private_key(ec.SECP256R1())


def make_ca(cn: str, key, now: dt.datetime, not_after: dt.datetime) -> x509.Certificate:
    """A self-signed CA certificate for `key`, named `cn`: it signs certificates and CRLs only."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    return (builder(name, name, key.public_key(), now, not_after)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False,
                                         encipher_only=False, decipher_only=False), critical=True)
            .sign(key, hashes.SHA256()))


def issue(key, ca_key, ca: x509.Certificate, now: dt.datetime, not_after: dt.datetime, *, cn: str,
          orgs: tuple[str, ...] = (), dns: tuple[str, ...] = (), ips: tuple[str, ...] = (),
          server: bool = False, both: bool = False) -> x509.Certificate:
    """A leaf certificate for `key`, signed by the CA: serverAuth or clientAuth (`both`:
    serverAuth and clientAuth, as an etcd member or a kubelet), SANs if any."""
    b = (builder(subject(cn, orgs), ca.subject, key.public_key(), now, not_after)
         .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
         .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                      key_encipherment=False, data_encipherment=False,
                                      key_agreement=False, key_cert_sign=False, crl_sign=False,
                                      encipher_only=False, decipher_only=False), critical=True)
         .add_extension(x509.ExtendedKeyUsage(usages(server, both)), critical=False)
         .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                        critical=False))
    if dns or ips:
        b = b.add_extension(x509.SubjectAlternativeName(sans(dns, ips)), critical=False)
    return b.sign(ca_key, hashes.SHA256())


def builder(subject: x509.Name, issuer: x509.Name, public_key, now: dt.datetime, not_after: dt.datetime):
    """A CertificateBuilder with names, key, a random serial, validity (from 5 minutes ago) and SKI."""
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(not_after)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False))


def subject(cn: str, orgs: tuple[str, ...]) -> x509.Name:
    """O=... (one per org), then CN."""
    return x509.Name([*(x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in orgs),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def sans(dns: tuple[str, ...], ips: tuple[str, ...]) -> list:
    """SubjectAlternativeName entries: DNS names, then IP addresses."""
    return [*(x509.DNSName(d) for d in dns), *(x509.IPAddress(ipaddress.ip_address(i)) for i in ips)]


def usage(server: bool):
    """The extended key usage: serverAuth, else clientAuth."""
    return ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH


def usages(server: bool, both: bool = False) -> list:
    """The extended key usages of a leaf: one of them, or both."""
    return [usage(True), usage(False)] if both else [usage(server)]


# --- reading and comparing ----------------------------------------------------------------

def cert_pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def key_pem(key) -> str:
    """SEC1 `EC PRIVATE KEY`: what every Go release since v1.0's reads."""
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption()).decode()


def load(crt: Path, key: Path):
    """(certificate, private key), each None when missing or unreadable."""
    cert = private = None
    try:
        cert = x509.load_pem_x509_certificate(crt.read_bytes())
    except (FileNotFoundError, ValueError):
        pass
    try:
        private = serialization.load_pem_private_key(key.read_bytes(), password=None)
    except (FileNotFoundError, ValueError, TypeError):
        pass
    return cert, private


def matches(cert: x509.Certificate, key) -> bool:
    """Whether `key` is the private half of the certificate's public key."""
    raw = serialization.PublicFormat.SubjectPublicKeyInfo
    return (cert.public_key().public_bytes(serialization.Encoding.DER, raw)
            == key.public_key().public_bytes(serialization.Encoding.DER, raw))


def signed_by(cert: x509.Certificate, ca: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def extension(cert: x509.Certificate, kind):
    """The value of the certificate's extension of class `kind`, or None."""
    try:
        return cert.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None


def profile(cert: x509.Certificate) -> tuple[str, tuple[str, ...]]:
    """(CN, sorted O) of a certificate's subject."""
    cn = [a.value for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    orgs = [a.value for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)]
    return (cn[0] if len(cn) == 1 else repr(cn)), tuple(sorted(orgs))


# --- private files ------------------------------------------------------------------------

def private_folder(folder: Path) -> None:
    """Make `folder` (and its parents) if needed, and keep it 0700."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    if folder.stat().st_mode & 0o777 != 0o700:
        folder.chmod(0o700)


def tighten(key: Path) -> None:
    """A key file that others could read goes back to 0600 (its content unchanged)."""
    if key.stat().st_mode & 0o077:
        key.chmod(0o600)


def put(path: Path, content: str, mode: int) -> bool:
    """Write `content` with `mode` atomically, unless the file holds it already.
    Returns whether it wrote."""
    data = content.encode()
    try:
        if path.read_bytes() == data:
            if path.stat().st_mode & 0o777 != mode:
                path.chmod(mode)
            return False
    except FileNotFoundError:
        pass
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as fh:
        os.fchmod(fh.fileno(), mode)
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return True

"""The cluster's identity handed from one operator to another: `export` seals the
files of kubernetes.pki_dir (the CA and its key, every certificate and key, the admin
kubeconfig, the secrets-at-rest key) into one encrypted file (kubefab.pkiarchive);
`import_` opens it into the other operator's pki_dir. An import never replaces a PKI:
into an empty (or missing) folder it writes everything; into one holding the same CA
it adds what is missing and keeps the rest; a folder holding another CA is refused.
Local only: no host is reached."""
from __future__ import annotations

import datetime as dt
import hashlib
import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from kubefab import certs, pkiarchive
from kubefab.model import Inventory
from kubefab.pki import pki_dir

CA = "ca.crt"
SKIP = (".", "~")  # temporary and hidden files are no part of the PKI


class TransferError(Exception):
    """Why an export or import cannot be done, in one line."""


def files_of(folder: Path) -> dict[str, tuple[bytes, int]]:
    out = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if path.is_file() and not path.is_symlink() and not any(p.startswith(SKIP) for p in rel.split("/")):
            out[rel] = (path.read_bytes(), path.stat().st_mode & 0o777)
    return out


def export(inv: Inventory, dest: Path, passphrase: str, n: int | None = None) -> str:
    """Seal pki_dir into `dest` (a new file, 0600); what it did, in one line."""
    folder = pki_dir(inv)
    files = files_of(folder) if folder.is_dir() else {}
    if CA not in files or "ca.key" not in files:
        raise TransferError(f"{folder} holds no cluster CA (ca.crt and ca.key); run kubefab deploy (or render) "
                            "first, or pki.import the cluster's")
    meta = {"cluster": inv.cluster, "created": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "ca": fingerprint(files[CA][0])}
    blob = pkiarchive.seal(files, passphrase, meta, n)
    try:
        fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise TransferError(f"{dest} exists; name a new file (an export never overwrites one)") from None
    except OSError as e:
        raise TransferError(f"cannot write {dest}: {e.strerror}") from None
    with os.fdopen(fd, "wb") as fh:
        fh.write(blob)
    return (f"sealed {len(files)} files of {folder} (cluster {inv.cluster}, CA {meta['ca']}) into {dest}; "
            f"hand it over with its passphrase by another channel")


def import_(inv: Inventory, src: Path, passphrase: str) -> str:
    """Open `src` into pki_dir, never replacing another PKI; what it did, in one line."""
    try:
        blob = src.read_bytes()
    except OSError as e:
        raise TransferError(f"cannot read {src}: {e.strerror}") from None
    meta, files = pkiarchive.unseal(blob, passphrase, str(src))
    if CA not in files:
        raise TransferError(f"{src} holds no {CA}: not a cluster's PKI")
    folder = pki_dir(inv)
    here = files_of(folder) if folder.is_dir() else {}
    theirs = fingerprint(files[CA][0])
    if here and CA not in here:
        raise TransferError(f"{folder} holds files but no {CA}; move it aside, then import again")
    if here and here[CA][0] != files[CA][0]:
        raise TransferError(f"{folder} holds another cluster CA ({fingerprint(here[CA][0])}) than {src} "
                            f"({theirs}); kubefab never replaces a PKI: move {folder} aside to import this one")
    certs.private_folder(folder)
    added = [name for name in files if name not in here]
    for name in added:
        data, mode = files[name]
        _write(folder / name, data, mode & 0o644)  # private files stay private, nothing executable
    kept = [name for name in files if name in here and here[name][0] != files[name][0]]
    same = "" if not here else f"; it already held this CA: kept its own {len(kept)} differing files" if kept \
        else "; it already held this CA"
    return (f"imported {len(added)} files of cluster {meta.get('cluster', '?')} (CA {theirs}, exported "
            f"{meta.get('created', '?')}) into {folder}{same}")


def _write(path: Path, data: bytes, mode: int) -> None:
    """A new file, atomically, with `mode` from the start."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode), "wb") as fh:
        os.fchmod(fh.fileno(), mode)
        fh.write(data)
    os.replace(tmp, path)


def fingerprint(pem: bytes) -> str:
    """The CA certificate's SHA256 fingerprint, shortened (as `openssl x509 -fingerprint -sha256`)."""
    cert = x509.load_pem_x509_certificate(pem)
    digest = hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest().upper()
    return "SHA256:" + ":".join(digest[i:i + 2] for i in range(0, 16, 2)) + "..."

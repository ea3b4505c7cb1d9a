"""A cluster's PKI as one encrypted file, to hand to another operator (`kubefab
pki.export` / `pki.import`): the files of pki/ in a tar stream, encrypted with
AES-256-GCM under a key derived from a passphrase with scrypt (cryptography's). The
file is a header line (format, cluster, when, the KDF's parameters and salt, the
nonce) and the ciphertext; the header is authenticated too, so changing either is
refused as a wrong passphrase is. Pure: bytes in, bytes out."""
from __future__ import annotations

import base64
import io
import json
import os
import tarfile

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

MAGIC = b"kubefab-pki-archive 1\n"
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2 ** 17, 8, 1  # 128 MiB, about half a second (OWASP's scrypt minimum)
MIN_PASSPHRASE = 12


class ArchiveError(Exception):
    """Not an archive, or not one this passphrase opens, in one line."""


def seal(files: dict[str, tuple[bytes, int]], passphrase: str, meta: dict, n: int | None = None) -> bytes:
    """`files` (relative name -> (bytes, mode)) encrypted under `passphrase`; `meta`
    (cluster, created) readable without it. `n`: scrypt's cost (default SCRYPT_N)."""
    n = n or SCRYPT_N
    salt, nonce = os.urandom(16), os.urandom(12)
    header = json.dumps({**meta, "kdf": {"name": "scrypt", "n": n, "r": SCRYPT_R, "p": SCRYPT_P, "salt": _b64(salt)},
                         "cipher": "AES-256-GCM", "nonce": _b64(nonce)}, sort_keys=True).encode() + b"\n"
    sealed = AESGCM(_key(passphrase, salt, n, SCRYPT_R, SCRYPT_P)).encrypt(nonce, _tar(files), MAGIC + header)
    return MAGIC + header + sealed


def header(blob: bytes, name: str = "the file") -> dict:
    """What the archive says of itself (cluster, created), without the passphrase."""
    if not blob.startswith(MAGIC):
        raise ArchiveError(f"{name} is not a kubefab PKI archive (it starts with no {MAGIC.strip().decode()!r} line)")
    line, newline, _ = blob[len(MAGIC):].partition(b"\n")
    try:
        meta = json.loads(line) if newline else None
    except ValueError:
        meta = None
    if not isinstance(meta, dict) or meta.get("cipher") != "AES-256-GCM" or "kdf" not in meta:
        raise ArchiveError(f"{name}: its header is damaged; export it again")
    return meta


def unseal(blob: bytes, passphrase: str, name: str = "the file") -> tuple[dict, dict[str, tuple[bytes, int]]]:
    """(its header, its files) or ArchiveError."""
    meta = header(blob, name)
    head = MAGIC + blob[len(MAGIC):].partition(b"\n")[0] + b"\n"
    kdf = meta["kdf"]
    try:
        key = _key(passphrase, base64.b64decode(kdf["salt"]), int(kdf["n"]), int(kdf["r"]), int(kdf["p"]))
        plain = AESGCM(key).decrypt(base64.b64decode(meta["nonce"]), blob[len(head):], head)
    except InvalidTag:
        raise ArchiveError(f"cannot open {name}: wrong passphrase, or the file was changed") from None
    except (KeyError, TypeError, ValueError) as e:
        raise ArchiveError(f"{name}: its header is damaged ({e}); export it again") from None
    return meta, _untar(plain)


def _key(passphrase: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase.encode())


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _tar(files: dict[str, tuple[bytes, int]]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz", format=tarfile.PAX_FORMAT) as tar:
        for name, (data, mode) in sorted(files.items()):
            member = tarfile.TarInfo(name)
            member.size, member.mode, member.mtime = len(data), mode & 0o777, 0
            tar.addfile(member, io.BytesIO(data))
    return out.getvalue()


def _untar(data: bytes) -> dict[str, tuple[bytes, int]]:
    files = {}
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for member in tar.getmembers():
            parts = member.name.split("/")
            if not member.isfile() or member.name.startswith("/") or ".." in parts:
                raise ArchiveError(f"the archive holds {member.name!r}, which is no file of a PKI folder")
            files[member.name] = (tar.extractfile(member).read(), member.mode & 0o777)
    return files

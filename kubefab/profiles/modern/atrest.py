"""The keys that encrypt Secrets at rest (the modern profile), in pki/:
- secretbox.key: secretbox's keys, the provider that encrypts. A cluster that never
  rotated has one bare key (named FIRST); a rotation (kubefab secrets.rotate-key) writes
  `NAME KEY` lines in the provider's order: the first encrypts, every one decrypts.
- encryption.key: an older cluster's aescbc key (kubefab before secretbox), never made:
  kept as a provider that only reads (second, after secretbox) until a rotation has
  rewritten every Secret, then removed with the rotation's old key.
Each key is 32 random bytes in base64, its file root's 0600. A key file that is there
but unreadable is never replaced: Secrets written with it would be lost."""
from __future__ import annotations

import base64
import os
from dataclasses import replace
from pathlib import Path

from kubefab.pki import Pki, PkiError

SECRETBOX = "secretbox.key"
ENCRYPTION = "encryption.key"  # aescbc's, from kubefab before secretbox: read only, never made
FIRST = "kubefab-1"  # secretbox's first key, the one bare line of a secretbox.key
AESCBC_NAME = "key1"  # the name kubefab's aescbc key always had in the encryption config


def read_keys(path: Path, first: str) -> tuple[tuple[str, str], ...] | None:
    """A key file's keys in order: one bare key (named `first`) or `NAME BASE64` lines.
    None when the file is missing, a key is not 32 bytes in base64, or two share a name."""
    try:
        lines = [line.split() for line in path.read_text().splitlines() if line.strip()]
    except OSError:
        return None
    keys = tuple((first, w[0]) if len(w) == 1 and len(lines) == 1 else tuple(w) for w in lines)
    try:
        if not keys or any(len(k) != 2 or len(base64.b64decode(k[1], validate=True)) != 32 for k in keys):
            return None
    except ValueError:
        return None
    return keys if len({name for name, _ in keys}) == len(keys) else None


def write_keys(folder: Path, keys) -> None:
    """secretbox's keys in their order, as read_keys reads them (root-only, atomic)."""
    from kubefab import certs  # its X.509 imports only where a PKI file is written
    certs.put(folder / SECRETBOX, "".join(f"{name} {secret}\n" for name, secret in keys), 0o600)


def drop_aescbc(folder: Path) -> bool:
    """The older aescbc key removed (every Secret rewritten with secretbox): whether it was there."""
    try:
        (folder / ENCRYPTION).unlink()
        return True
    except FileNotFoundError:
        return False


def fields(keys, aescbc: str | None) -> dict:
    """The Pki fields these keys fill."""
    keys = tuple(keys)
    return dict(secretbox_keys=keys, secretbox_key=keys[0][1] if keys else None, encryption_key=aescbc)


def with_keys(pki: Pki, keys, aescbc: str | None) -> Pki:
    return replace(pki, **fields(keys, aescbc))


def secretbox_keys(pki: Pki) -> tuple[tuple[str, str], ...]:
    """secretbox's keys in the provider's order (a Pki made with secretbox_key alone: that one, FIRST)."""
    return pki.secretbox_keys or (((FIRST, pki.secretbox_key),) if pki.secretbox_key else ())


def in_use(pki: Pki | None) -> tuple[tuple[str, str], ...]:
    """Every key that encrypts or decrypts Secrets, in the providers' order, named
    provider/name: what the cluster's identity fingerprints."""
    if pki is None:
        return ()
    aescbc = ((f"aescbc/{AESCBC_NAME}", pki.encryption_key),) if pki.encryption_key else ()
    return (*((f"secretbox/{name}", secret) for name, secret in secretbox_keys(pki)), *aescbc)


def ensure(folder: Path, changes: list) -> dict:
    """secretbox's key made once; the keys there read (an older aescbc key kept); both
    files tightened to 0600."""
    from kubefab import certs
    box, enc = folder / SECRETBOX, folder / ENCRYPTION
    keys, aescbc = read_keys(box, FIRST), _aescbc(enc)
    for path, found in ((box, keys), (enc, aescbc)):
        if path.exists() and found is None:
            raise PkiError(f"{path} is not 32 bytes in base64; restore it from your backup")
    if keys is None:
        certs.put(box, base64.b64encode(os.urandom(32)).decode() + "\n", 0o600)
        changes.append(f"created the key that encrypts secrets at rest {box} (secretbox)")
        keys = read_keys(box, FIRST)
    for path in (box, enc):
        if path.exists():
            certs.tighten(path)
    return fields(keys, aescbc)


def load(folder: Path, problems: list) -> dict:
    """ensure's read-only twin: the keys there; problems for what is not."""
    box, enc = folder / SECRETBOX, folder / ENCRYPTION
    keys, aescbc = read_keys(box, FIRST), _aescbc(enc)
    if keys is None:
        problems.append(f"{box} missing or not 32 bytes in base64; fab deploy makes a missing one")
    if enc.exists() and aescbc is None:
        problems.append(f"{enc} is not 32 bytes in base64; restore it from your backup")
    return fields(keys or (), aescbc)


def _aescbc(path: Path) -> str | None:
    """The older aescbc key: one bare line (as kubefab wrote it), None when missing or bad."""
    keys = read_keys(path, AESCBC_NAME)
    return keys[0][1] if keys and len(keys) == 1 and keys[0][0] == AESCBC_NAME else None

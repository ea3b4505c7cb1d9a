"""The service-account key files today's kube-apiserver reads at start (1.35+): the
signing key (`--service-account-signing-key-file`, a private key) and the
verification keys (`--service-account-key-file`, public keys, certificates or
private keys). Checked as keyutil does it, by PEM block type and base64 body: a file
that is missing or holds no such block stops the server (messages as k/k words them,
from pkg/controlplane/apiserver/options; unverified)."""
from __future__ import annotations

import base64
import binascii
import re

from . import common

PRIVATE = {"RSA PRIVATE KEY", "EC PRIVATE KEY", "PRIVATE KEY"}
PUBLIC = PRIVATE | {"PUBLIC KEY", "RSA PUBLIC KEY", "CERTIFICATE"}
BLOCK = re.compile(r"-----BEGIN ([A-Z ]+)-----\r?\n(.*?)-----END \1-----", re.S)


def pem_types(path: str) -> set[str]:
    """The types of the well-formed PEM blocks in a file; OSError when unreadable."""
    with open(path, encoding="ascii", errors="replace") as f:
        text = f.read()
    found = set()
    for kind, body in BLOCK.findall(text):
        lines = [line for line in body.splitlines() if line.strip() and ":" not in line]
        try:
            base64.b64decode("".join(lines), validate=True)
        except (binascii.Error, ValueError):
            continue
        found.add(kind)
    return found


def _why(path: str, wanted: set[str], what: str) -> str | None:
    try:
        if pem_types(path) & wanted:
            return None
    except OSError as e:
        return f"open {path}: {(e.strerror or str(e)).lower()}"
    return f"data does not contain {what}"


def check_service_account_keys(fl) -> None:
    signing = fl["service-account-signing-key-file"]
    if signing:
        why = _why(signing, PRIVATE, "a valid RSA or ECDSA private key")
        if why:
            common.command_failed(f"failed to parse service-account-issuer-key-file: {why}")
    for path in [p for p in (fl["service-account-key-file"] or "").split(",") if p] or ([signing] if signing else []):
        why = _why(path, PUBLIC, "any valid RSA or ECDSA public keys")
        if why:
            common.command_failed(f'failed to parse key file "{path}": {why}')

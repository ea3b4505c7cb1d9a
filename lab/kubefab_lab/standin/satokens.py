"""Service-account tokens, as far as the stand-ins use them: the TokenRequest
subresource (POST serviceaccounts/<name>/token) issues one, and the authenticator
takes `Authorization: Bearer <token>` as system:serviceaccount:<ns>:<name> (groups
system:serviceaccounts, system:serviceaccounts:<ns>, system:authenticated).
Difference from the real server: the token is a JWT signed with HS256 keyed by the
digest of --service-account-signing-key-file (the real one signs RS256/ES256 with that
key and verifies with --service-account-key-file); Python's standard library has no
RSA or ECDSA. Every apiserver given the same key file accepts the same tokens."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def key_from_file(path: str | None) -> bytes | None:
    if not path:
        return None
    try:
        with open(path, "rb") as f:
            return hashlib.sha256(f.read()).digest()
    except OSError:
        return None


def issue(key: bytes, issuer: str, namespace: str, name: str, uid: str, seconds: int) -> tuple[str, int]:
    now = int(time.time())
    claims = {"iss": issuer, "sub": f"system:serviceaccount:{namespace}:{name}", "aud": [issuer], "iat": now,
              "nbf": now, "exp": now + seconds,
              "kubernetes.io": {"namespace": namespace, "serviceaccount": {"name": name, "uid": uid}}}
    head = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode()) + "." + _b64(json.dumps(claims).encode())
    sig = hmac.new(key, head.encode(), hashlib.sha256).digest()
    return head + "." + _b64(sig), now + seconds


def verify(key: bytes, token: str) -> tuple[str, str] | None:
    """(namespace, name) of a valid, unexpired token; None otherwise."""
    try:
        head, payload, sig = token.split(".")
        if not hmac.compare_digest(_unb64(sig), hmac.new(key, f"{head}.{payload}".encode(), hashlib.sha256).digest()):
            return None
        claims = json.loads(_unb64(payload))
    except (ValueError, TypeError):
        return None
    if claims.get("exp", 0) < time.time():
        return None
    info = claims.get("kubernetes.io") or {}
    return info.get("namespace"), (info.get("serviceaccount") or {}).get("name")

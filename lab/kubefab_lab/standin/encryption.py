"""Encryption at rest as today's apiserver does it with --encryption-provider-config
(apiserver.config.k8s.io/v1 EncryptionConfiguration; k8s.io/apiserver
server/options/encryptionconfig/config.go, storage/value/encrypt/{aes,secretbox,identity}):
- validated as upstream (apis/apiserver/validation): one provider per list element,
  keys present, named, base64, 16/24/32 bytes for aescbc and aesgcm, 32 for secretbox;
- a value is written with the first provider of its resource's entry: prefix
  `k8s:enc:<provider>:v1:<key name>:` then, for aescbc, a 16-byte IV and the CBC
  ciphertext (PKCS#7); for aesgcm a 12-byte nonce and the ciphertext with its tag,
  the etcd key as authenticated data; for secretbox a 24-byte nonce and the box;
  identity writes the plain value;
- a value is read with whichever listed provider and key its prefix names (identity
  reads unencrypted values), so a key removed from the list makes its values
  unreadable: the read fails with the real transformer's words (a 500).
KMS providers are accepted by the schema but not emulated (refused at start)."""
from __future__ import annotations

import base64
import binascii
import os

from . import ciphers, common
from .objects import ApiError

SIZES = {"aescbc": (16, 24, 32), "aesgcm": (16, 24, 32), "secretbox": (32,)}
PREFIX = "k8s:enc:{}:v1:"


def validate(doc: dict) -> list[str]:
    errors = []
    resources = doc.get("resources") or []
    if not resources:
        return ["resources: Required value: at least one resources is required"]
    for i, entry in enumerate(resources):
        base = f"resources[{i}]"
        if not entry.get("resources"):
            errors.append(f"{base}.resources: Required value: at least one {base}.resources is required")
        if not entry.get("providers"):
            errors.append(f"{base}.providers: Required value: at least one {base}.providers is required")
        for j, provider in enumerate(entry.get("providers") or []):
            path = f"{base}.providers[{j}]"
            kinds = [k for k in ("kms", "aesgcm", "aescbc", "secretbox", "identity") if k in (provider or {})]
            if len(kinds) != 1:
                errors.append(f"{path}: Invalid value: {provider}: " + (
                    "more than one provider specified in a single element, should split into different list "
                    "elements" if kinds else "provider does not contain any of the expected providers: KMS, "
                                             "AESGCM, AESCBC, Secretbox, Identity"))
                continue
            if kinds[0] in SIZES:
                errors += _keys(provider[kinds[0]].get("keys") or [], f"{path}.{kinds[0]}.keys", SIZES[kinds[0]])
    return errors


def _keys(keys, path, sizes) -> list[str]:
    if not keys:
        return [f"{path}: Required value: at least one keys is required"]
    errors = []
    for k, key in enumerate(keys):
        if not key.get("name"):
            errors.append(f"{path}[{k}].name: Required value: name is a mandatory field for a key")
        if not key.get("secret"):
            errors.append(f"{path}[{k}].secret: Required value: secret is a mandatory field for a key")
            continue
        try:
            secret = base64.b64decode(str(key["secret"]), validate=True)
        except (binascii.Error, ValueError):
            errors.append(f'{path}[{k}].secret: Invalid value: "REDACTED": secrets must be base64 encoded')
            continue
        if len(secret) not in sizes:
            errors.append(f'{path}[{k}].secret: Invalid value: "REDACTED": secret is not of the expected length, '
                          f'got {len(secret)}, expected one of [{" ".join(map(str, sizes))}]')
    return errors


class Transformer:
    def __init__(self, doc: dict):
        self.entries = []  # ([resource patterns], [(provider, [(name, key bytes)])])
        for entry in doc.get("resources") or []:
            providers = []
            for p in entry.get("providers") or []:
                kind = next(iter(p))
                keys = [(k["name"], base64.b64decode(str(k["secret"]))) for k in (p[kind] or {}).get("keys") or []]
                providers.append((kind, keys))
            self.entries.append((list(entry.get("resources") or []), providers))

    def _providers(self, r):
        names = {f"{r.plural}.{r.group}", f"*.{r.group}", "*.*"} | ({r.plural} if not r.group else set())
        for patterns, providers in self.entries:
            if names & set(patterns):
                return providers
        return None

    def write(self, r, key: str, data: bytes) -> bytes:
        providers = self._providers(r)
        if not providers or providers[0][0] == "identity":
            return data
        kind, keys = providers[0]
        name, secret = keys[0]
        head = (PREFIX.format(kind) + name + ":").encode()
        if kind == "aescbc":
            iv = os.urandom(16)
            return head + iv + ciphers.cbc_encrypt(secret, iv, data)
        if kind == "aesgcm":
            nonce = os.urandom(12)
            return head + nonce + ciphers.gcm_seal(secret, nonce, data, key.encode())
        nonce = os.urandom(24)
        return head + nonce + ciphers.secretbox_seal(secret, nonce, data)

    def read(self, r, key: str, data: bytes) -> bytes:
        providers = self._providers(r)
        if providers is None:
            return data
        for kind, keys in providers:
            if kind == "identity":
                if not data.startswith(b"k8s:enc:"):
                    return data
                continue  # "identity transformer tried to read encrypted data": the next one may
            prefix = PREFIX.format(kind).encode()
            if not data.startswith(prefix):
                continue
            rest = data[len(prefix):]
            for name, secret in keys:
                if rest.startswith(name.encode() + b":"):
                    return self._open(kind, secret, rest[len(name) + 1:], key)
            what = "AES" if kind.startswith("aes") else "Secretbox"
            raise _unreadable(key, f"no matching key was found for the provided {what} transformer")
        raise _unreadable(key, "no matching prefix found")

    @staticmethod
    def _open(kind, secret, body, key) -> bytes:
        try:
            if kind == "aescbc":
                return ciphers.cbc_decrypt(secret, body[:16], body[16:])
            if kind == "aesgcm":
                return ciphers.gcm_open(secret, body[:12], body[12:], key.encode())
            return ciphers.secretbox_open(secret, body[:24], body[24:])
        except ValueError as e:
            raise _unreadable(key, str(e)) from None


def _unreadable(key: str, why: str) -> ApiError:
    common.error(f'"failed to decrypt" key="{key}" err="{why}"')
    return ApiError(500, "InternalError", f'Internal error occurred: unable to transform key "{key}": {why}',
                    {"causes": [{"message": f'unable to transform key "{key}": {why}'}]})


def load(doc: dict) -> Transformer:
    errors = validate(doc)
    if errors:
        text = errors[0] if len(errors) == 1 else "[" + ", ".join(errors) + "]"
        common.command_failed(f"error while parsing file: {text}")
    if any(kind == "kms" for _, providers in Transformer(doc).entries for kind, _ in providers):
        common.command_failed("kms providers are not emulated by the kubefab stand-in")
    return Transformer(doc)

"""Any resource of `registry` in etcd, one JSON value per object at
`<prefix>/<segment>/[<namespace>/]<name>`, with the metadata the real server keeps:
uid, creationTimestamp, resourceVersion (etcd's mod_revision), generation (apps:
moves when spec changes). Several apiservers on one etcd share it: every write is an
etcd transaction on the key's revision, so a concurrent writer gets a conflict, not a
lost update. Values of encrypted resources pass through the `encryption` transformer
(the etcd key is the authenticated data, as upstream)."""
from __future__ import annotations

import json
import uuid

from . import common
from .etcd import Etcd
from .objects import ApiError, already_exists, conflict, not_found
from .registry import Resource

ORDER = ("kind", "apiVersion", "metadata", "spec", "status")


class Store:
    def __init__(self, etcd: Etcd, prefix: str, transformer=None):
        self.etcd = etcd
        self.prefix = (prefix or "/registry").rstrip("/")
        self.transformer = transformer  # encryption.Transformer or None

    def key(self, r: Resource, namespace: str | None, name: str = "") -> str:
        base = f"{self.prefix}/{r.key}/"
        if r.namespaced and namespace:
            base += f"{namespace}/"
        return base + name

    # --- values ---

    def _decode(self, r: Resource, kv) -> dict:
        raw = kv.value
        if self.transformer is not None:
            raw = self.transformer.read(r, kv.key, raw)
        try:
            obj = json.loads(raw)
        except ValueError:
            raise ApiError(500, "InternalError", f"Internal error occurred: the object at {kv.key} is not JSON",
                           {}) from None
        obj["kind"], obj["apiVersion"] = r.kind, r.gv
        obj.setdefault("metadata", {})["resourceVersion"] = str(kv.mod_revision)
        return ordered(obj)

    def _encode(self, r: Resource, key: str, obj: dict) -> bytes:
        obj = dict(obj)
        meta = dict(obj.get("metadata") or {})
        meta.pop("resourceVersion", None)
        meta.pop("selfLink", None)
        obj["metadata"] = meta
        data = json.dumps(ordered(obj), separators=(",", ":")).encode()
        if self.transformer is not None:
            data = self.transformer.write(r, key, data)
        return data

    # --- reads ---

    def get(self, r: Resource, namespace: str | None, name: str) -> dict:
        kv, _ = self.etcd.get(self.key(r, namespace, name))
        if kv is None:
            raise not_found(r.qualified(), name)
        return self._decode(r, kv)

    def find(self, r: Resource, namespace: str | None, name: str) -> dict | None:
        try:
            return self.get(r, namespace, name)
        except ApiError as e:
            if e.code == 404:
                return None
            raise

    def list(self, r: Resource, namespace: str | None = None) -> tuple[list[dict], int]:
        kvs, rev = self.etcd.list(self.key(r, namespace))
        return [self._decode(r, kv) for kv in kvs], rev

    # --- writes ---

    def create(self, r: Resource, obj: dict, dry_run: bool = False) -> dict:
        meta = obj.setdefault("metadata", {})
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + uuid.uuid4().hex[:5]
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = common.rfc3339()
        for drop in ("resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink"):
            meta.pop(drop, None)
        if r.generation:
            meta["generation"] = 1
        else:
            meta.pop("generation", None)
        obj["kind"], obj["apiVersion"] = r.kind, r.gv
        key = self.key(r, meta.get("namespace"), meta["name"])
        if dry_run:
            if self.etcd.get(key)[0] is not None:
                raise already_exists(r.qualified(), meta["name"])
            return ordered(obj)
        if self.etcd.create(key, self._encode(r, key, obj)) is None:
            raise already_exists(r.qualified(), meta["name"])
        return self.get(r, meta.get("namespace"), meta["name"])

    def update(self, r: Resource, namespace: str | None, name: str, change, dry_run: bool = False) -> dict:
        """change(current copy) -> the new object; retried while another writer wins."""
        key = self.key(r, namespace, name)
        for _ in range(20):
            kv, _ = self.etcd.get(key)
            if kv is None:
                raise not_found(r.qualified(), name)
            current = self._decode(r, kv)
            new = change(json.loads(json.dumps(current)))
            keep_identity(r, current, new)
            if _same(new, current):
                return current  # a no-op write keeps the resourceVersion, as the real server's does
            if r.generation and new.get("spec") != current.get("spec"):
                new["metadata"]["generation"] = int(current["metadata"].get("generation") or 1) + 1
            if dry_run:
                return ordered(new)
            if self.etcd.update(key, self._encode(r, key, new), kv.mod_revision) is not None:
                return self.get(r, namespace, name)
        raise conflict(r.qualified(), name)

    def delete(self, r: Resource, namespace: str | None, name: str, dry_run: bool = False) -> dict:
        key = self.key(r, namespace, name)
        kv, _ = self.etcd.get(key)
        if kv is None:
            raise not_found(r.qualified(), name)
        obj = self._decode(r, kv)
        if not dry_run and self.etcd.delete(key, kv.mod_revision) is None:
            raise conflict(r.qualified(), name)
        return obj


def keep_identity(r: Resource, current: dict, new: dict) -> None:
    """What an update cannot change: name, namespace, uid, creationTimestamp, generation."""
    meta = new.setdefault("metadata", {})
    old = current["metadata"]
    for field in ("name", "namespace", "uid", "creationTimestamp", "generation"):
        if field in old:
            meta[field] = old[field]
        else:
            meta.pop(field, None)
    meta["resourceVersion"] = old["resourceVersion"]
    new["kind"], new["apiVersion"] = r.kind, r.gv


def _same(a: dict, b: dict) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def ordered(obj: dict) -> dict:
    """kind, apiVersion, metadata, spec, status first, as the real server writes them."""
    out = {k: obj[k] for k in ORDER if k in obj}
    out.update({k: v for k, v in obj.items() if k not in out})
    return out

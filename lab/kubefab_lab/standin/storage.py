"""Nodes in etcd, one JSON value per key, with the metadata the real server keeps
(uid, creationTimestamp, resourceVersion from etcd's mod_revision)."""
from __future__ import annotations

import json
import uuid

from . import common
from .etcd import Etcd
from .objects import already_exists, conflict, not_found


def now_rfc3339() -> str:
    return common.rfc3339()


class Nodes:
    """Nodes in etcd, one JSON value per key `<prefix>/minions/<name>`."""

    resource, kind = "nodes", "Node"

    def __init__(self, etcd: Etcd, prefix: str, version: tuple[int, int, int]):
        self.etcd, self.version = etcd, version
        self.prefix = prefix.rstrip("/") + "/minions/"

    def key(self, name: str) -> str:
        return self.prefix + name

    def _decode(self, kv) -> dict:
        try:
            obj = json.loads(kv.value)
        except ValueError:
            obj = None
        if not isinstance(obj, dict):
            obj = {}
        obj["kind"], obj["apiVersion"] = self.kind, "v1"
        meta = obj.setdefault("metadata", {})
        meta.setdefault("name", kv.key[len(self.prefix):])
        meta["resourceVersion"] = str(kv.mod_revision)
        if self.version < (1, 20):
            meta["selfLink"] = f"/api/v1/nodes/{meta.get('name', '')}"
        return _ordered(obj)

    @staticmethod
    def _encode(obj: dict) -> bytes:
        obj = dict(obj)
        meta = dict(obj.get("metadata") or {})
        meta.pop("resourceVersion", None)
        meta.pop("selfLink", None)
        obj["metadata"] = meta
        return json.dumps(obj, separators=(",", ":")).encode()

    def get(self, name: str) -> dict:
        kv, _ = self.etcd.get(self.key(name))
        if kv is None:
            raise not_found(self.resource, name)
        return self._decode(kv)

    def list(self) -> tuple[list[dict], int]:
        kvs, rev = self.etcd.list(self.prefix)
        return [self._decode(kv) for kv in kvs], rev

    def list_kvs(self):
        return self.etcd.list(self.prefix)

    def create(self, obj: dict, dry_run=False) -> dict:
        meta = obj["metadata"]
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = now_rfc3339()
        meta.pop("resourceVersion", None)
        for drop in ("deletionTimestamp", "deletionGracePeriodSeconds", "generation", "managedFields"):
            meta.pop(drop, None)
        obj.setdefault("spec", {})
        status = obj.setdefault("status", {})
        status.setdefault("daemonEndpoints", {"kubeletEndpoint": {"Port": 0}})
        status.setdefault("nodeInfo", {k: "" for k in (
            "machineID", "systemUUID", "bootID", "kernelVersion", "osImage", "containerRuntimeVersion",
            "kubeletVersion", "kubeProxyVersion", "operatingSystem", "architecture")})
        if dry_run:
            if self.etcd.get(self.key(meta["name"]))[0] is not None:
                raise already_exists(self.resource, meta["name"])
            return _ordered(obj)
        rev = self.etcd.create(self.key(meta["name"]), self._encode(obj))
        if rev is None:
            raise already_exists(self.resource, meta["name"])
        return self.get(meta["name"])

    def update(self, name: str, change, dry_run=False) -> dict:
        """change(current) -> new object; retried on a concurrent write."""
        for _ in range(20):
            kv, _ = self.etcd.get(self.key(name))
            if kv is None:
                raise not_found(self.resource, name)
            current = self._decode(kv)
            new = change(json.loads(json.dumps(current)))
            new["metadata"]["uid"] = current["metadata"].get("uid")
            new["metadata"]["creationTimestamp"] = current["metadata"].get("creationTimestamp")
            new["metadata"]["name"] = name
            new["kind"], new["apiVersion"] = self.kind, "v1"
            if dry_run:
                return _ordered(new)
            if self._encode(new) == self._encode(current):
                return current  # a no-op update keeps the resourceVersion, as the real one does
            if self.etcd.update(self.key(name), self._encode(new), kv.mod_revision) is not None:
                return self.get(name)
        raise conflict(self.resource, name)

    def delete(self, name: str, dry_run=False) -> dict:
        kv, _ = self.etcd.get(self.key(name))
        if kv is None:
            raise not_found(self.resource, name)
        obj = self._decode(kv)
        if not dry_run and self.etcd.delete(self.key(name), kv.mod_revision) is None:
            raise conflict(self.resource, name)
        return obj


def _ordered(obj: dict) -> dict:
    """kind, apiVersion, metadata, spec, status first, as the real server writes them."""
    out = {k: obj[k] for k in ("kind", "apiVersion", "metadata", "spec", "status") if k in obj}
    out.update({k: v for k, v in obj.items() if k not in out})
    return out

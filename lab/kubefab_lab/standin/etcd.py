"""A small etcd v3 client over etcd's JSON gateway (etcd 3.4: POST /v3/kv/...).

Keys and values travel base64-encoded; int64 fields come back as strings and fields
at their zero value are left out (proto3 JSON), hence the `.get(..., 0)`s.
The real apiserver speaks gRPC and (from 1.6) stores protobuf; the stand-in stores
the JSON of each object, under the same keys (`/registry/minions/<name>` for nodes).
"""
from __future__ import annotations

import base64
import json
import ssl
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass


class EtcdError(Exception):
    """No etcd server answered, or one answered with an error."""


@dataclass(frozen=True)
class KV:
    key: str
    value: bytes
    create_revision: int
    mod_revision: int
    version: int


def _b64(s: str | bytes) -> str:
    return base64.b64encode(s.encode() if isinstance(s, str) else s).decode()


def _kv(item: dict) -> KV:
    return KV(base64.b64decode(item["key"]).decode(), base64.b64decode(item.get("value", "")),
              int(item.get("create_revision", 0)), int(item.get("mod_revision", 0)),
              int(item.get("version", 0)))


def prefix_end(prefix: str) -> str:
    """The range_end that makes a range over every key starting with prefix."""
    b = bytearray(prefix.encode())
    for i in range(len(b) - 1, -1, -1):
        if b[i] < 0xFF:
            b[i] += 1
            return bytes(b[: i + 1]).decode("latin-1")
    return "\0"


class Etcd:
    def __init__(self, servers: list[str], cafile=None, certfile=None, keyfile=None, timeout=5.0):
        self.servers = [s.rstrip("/") for s in servers if s.strip()]
        self.timeout = timeout
        self._current = 0
        self._lock = threading.Lock()
        self._ctx = None
        if any(s.startswith("https://") for s in self.servers):
            self._ctx = ssl.create_default_context(cafile=cafile)
            if certfile:
                self._ctx.load_cert_chain(certfile, keyfile)

    def _post(self, path: str, body: dict, timeout: float | None = None) -> dict:
        """POST to the current server; on a connection failure try the others in turn."""
        errors = []
        with self._lock:
            start = self._current
        n = len(self.servers)
        for k in range(n):
            idx = (start + k) % n
            url = self.servers[idx] + path
            req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                         headers={"Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(req, timeout=timeout or self.timeout, context=self._ctx) as r:
                    data = json.loads(r.read() or b"{}")
            except urllib.error.HTTPError as e:
                detail = e.read().decode(errors="replace")
                raise EtcdError(f"etcd {self.servers[idx]}: HTTP {e.code}: {detail.strip()}") from None
            except (OSError, ValueError) as e:
                errors.append(f"{self.servers[idx]}: {getattr(e, 'reason', e)}")
                continue
            with self._lock:
                self._current = idx
            return data
        raise EtcdError("no etcd server answered: " + "; ".join(errors))

    # --- the calls the apiserver needs ---

    def ping(self, timeout: float = 2.0) -> str:
        """Which server answers a v3 range; EtcdError if none does."""
        self._post("/v3/kv/range", {"key": _b64("/"), "limit": 1, "keys_only": True}, timeout)
        return self.servers[self._current]

    def get(self, key: str) -> tuple[KV | None, int]:
        data = self._post("/v3/kv/range", {"key": _b64(key)})
        kvs = data.get("kvs") or []
        return (_kv(kvs[0]) if kvs else None), int(data.get("header", {}).get("revision", 0))

    def list(self, prefix: str) -> tuple[list[KV], int]:
        data = self._post("/v3/kv/range", {"key": _b64(prefix), "range_end": _b64(prefix_end(prefix).encode("latin-1"))})
        return [_kv(x) for x in data.get("kvs") or []], int(data.get("header", {}).get("revision", 0))

    def create(self, key: str, value: bytes) -> int | None:
        """Put key only if absent: its new mod_revision, or None if it exists."""
        data = self._post("/v3/kv/txn", {
            "compare": [{"key": _b64(key), "result": "EQUAL", "target": "CREATE", "create_revision": "0"}],
            "success": [{"request_put": {"key": _b64(key), "value": _b64(value)}}],
        })
        if not data.get("succeeded"):
            return None
        return int(data.get("header", {}).get("revision", 0))

    def update(self, key: str, value: bytes, mod_revision: int) -> int | None:
        """Put key only if it is still at mod_revision: its new mod_revision, or None."""
        data = self._post("/v3/kv/txn", {
            "compare": [{"key": _b64(key), "result": "EQUAL", "target": "MOD", "mod_revision": str(mod_revision)}],
            "success": [{"request_put": {"key": _b64(key), "value": _b64(value)}}],
        })
        if not data.get("succeeded"):
            return None
        return int(data.get("header", {}).get("revision", 0))

    def delete(self, key: str, mod_revision: int | None = None) -> int | None:
        """Delete key (if still at mod_revision, when given): the new revision, or None."""
        compare = []
        if mod_revision is not None:
            compare = [{"key": _b64(key), "result": "EQUAL", "target": "MOD", "mod_revision": str(mod_revision)}]
        data = self._post("/v3/kv/txn", {
            "compare": compare,
            "success": [{"request_delete_range": {"key": _b64(key)}}],
        })
        if not data.get("succeeded"):
            return None
        deleted = (data.get("responses") or [{}])[0].get("response_delete_range", {}).get("deleted", 0)
        return int(data.get("header", {}).get("revision", 0)) if int(deleted) else None

    def lease_grant(self, ttl: int) -> int:
        """A new etcd lease of ttl seconds: its ID."""
        return int(self._post("/v3/lease/grant", {"TTL": ttl}).get("ID", 0))

    def put(self, key: str, value: bytes, lease: int = 0) -> int:
        """Put unconditionally (attached to an etcd lease when given): the new revision."""
        body = {"key": _b64(key), "value": _b64(value)}
        if lease:
            body["lease"] = str(lease)
        return int(self._post("/v3/kv/put", body).get("header", {}).get("revision", 0))

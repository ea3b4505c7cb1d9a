"""A small typed-ish client over `client.request` for the stand-in controllers:
JSON in and out, an ApiCallError carrying the Status message on a refusal."""
from __future__ import annotations

import json

from . import client


class ApiCallError(Exception):
    def __init__(self, code: int, message: str):
        super().__init__(f"HTTP {code}: {message}")
        self.code = code


class Api:
    def __init__(self, ep):
        self.ep = ep

    def call(self, method: str, path: str, body=None, ctype="application/json", ok=(200, 201)):
        code, raw = client.request(self.ep, method, path, body, ctype)
        if code not in ok:
            raise ApiCallError(code, client.status_message(raw))
        return json.loads(raw) if raw else {}

    def items(self, path: str) -> list[dict]:
        return self.call("GET", path).get("items") or []

    def get(self, path: str) -> dict | None:
        code, raw = client.request(self.ep, "GET", path)
        if code == 404:
            return None
        if code != 200:
            raise ApiCallError(code, client.status_message(raw))
        return json.loads(raw)

    def create(self, path: str, obj: dict) -> dict:
        return self.call("POST", path, obj)

    def put(self, path: str, obj: dict) -> dict:
        return self.call("PUT", path, obj)

    def patch(self, path: str, patch: dict, kind="application/strategic-merge-patch+json") -> dict:
        return self.call("PATCH", path, patch, kind)

    def merge_patch(self, path: str, patch: dict) -> dict:
        return self.call("PATCH", path, patch, "application/merge-patch+json")

    def delete(self, path: str, body: dict | None = None) -> None:
        self.call("DELETE", path, body, ok=(200, 202, 404))


def ready(obj: dict) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (obj.get("status") or {}).get("conditions") or [])


def owned_by(obj: dict, owner: dict) -> bool:
    uid = owner["metadata"]["uid"]
    return any(r.get("uid") == uid and r.get("controller") for r in obj["metadata"].get("ownerReferences") or [])


def owner_ref(owner: dict) -> dict:
    return {"apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": owner["metadata"]["name"],
            "uid": owner["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}

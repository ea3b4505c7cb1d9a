"""rbac.authorization.k8s.io/v1 ClusterRoleBindings on today's apiserver (1.35+), as
far as `kubectl apply` needs them: discovery, get, list, create, patch, delete, kept in
etcd as JSON under <prefix>/clusterrolebindings/<name>. They are stored, not enforced:
`authz` still decides with its built-in roles (kubefab binds the apiserver's kubelet
client, which only the kubelet API would check, and no stand-in kubelet serves it)."""
from __future__ import annotations

import json
import uuid

from .objects import already_exists, bad_request, conflict, merge_patch, method_not_allowed, not_found, \
    strategic_merge_patch

GROUP, GV = "rbac.authorization.k8s.io", "rbac.authorization.k8s.io/v1"
KIND, RESOURCE = "ClusterRoleBinding", "clusterrolebindings"
GROUP_ENTRY = {"name": GROUP, "versions": [{"groupVersion": GV, "version": "v1"}],
               "preferredVersion": {"groupVersion": GV, "version": "v1"}}
RESOURCES = {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": GV, "resources": [
    {"name": RESOURCE, "singularName": "clusterrolebinding", "namespaced": False, "kind": KIND,
     "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]}]}
PREFIX = f"/apis/{GV}/{RESOURCE}"


class RbacRoutes:
    """Handler methods (a mixin of `handler.Handler`)."""

    def _rbac_route(self, method: str, path: str) -> bool:
        if path == f"/apis/{GROUP}" and method in ("GET", "HEAD"):
            self._json(200, {"kind": "APIGroup", "apiVersion": "v1", **GROUP_ENTRY})
        elif path == f"/apis/{GV}" and method in ("GET", "HEAD"):
            self._json(200, RESOURCES)
        elif path == PREFIX:
            self._crb_collection(method)
        elif path.startswith(PREFIX + "/") and "/" not in path[len(PREFIX) + 1:]:
            self._crb(method, path[len(PREFIX) + 1:])
        else:
            return False
        return True

    def _crb_key(self, name: str = "") -> str:
        return f"{(self.srv.fl['etcd-prefix'] or '/registry').rstrip('/')}/{RESOURCE}/{name}"

    def _crb_decode(self, kv) -> dict:
        obj = json.loads(kv.value)
        obj["metadata"]["resourceVersion"] = str(kv.mod_revision)
        return obj

    def _crb_collection(self, method: str):
        if method in ("GET", "HEAD"):
            kvs, rev = self.srv.etcd.list(self._crb_key())
            return self._json(200, {"kind": KIND + "List", "apiVersion": GV,
                                    "metadata": {"resourceVersion": str(rev)},
                                    "items": [self._crb_decode(kv) for kv in kvs]})
        if method != "POST":
            raise method_not_allowed()
        obj = self._read_object()
        if not isinstance(obj, dict) or obj.get("kind") != KIND or obj.get("apiVersion") != GV:
            raise bad_request(f"the object provided is unrecognized (must be of type {KIND})")
        meta = obj.setdefault("metadata", {})
        name = meta.get("name") or ""
        if not name:
            raise bad_request(f'{KIND}.{GROUP} "" is invalid: metadata.name: Required value: name or '
                              "generateName is required")
        meta.update(uid=str(uuid.uuid4()), creationTimestamp=self._now())
        meta.pop("resourceVersion", None)
        if self.query.get("dryRun") != "All" and self.srv.etcd.create(self._crb_key(name),
                                                                       json.dumps(obj).encode()) is None:
            raise already_exists(RESOURCE, name)
        self._json(201, self._crb_get(name) if self.query.get("dryRun") != "All" else obj)

    def _crb_get(self, name: str) -> dict:
        kv, _ = self.srv.etcd.get(self._crb_key(name))
        if kv is None:
            raise not_found(RESOURCE, name)
        return self._crb_decode(kv)

    def _crb(self, method: str, name: str):
        if method in ("GET", "HEAD"):
            return self._json(200, self._crb_get(name))
        if method == "DELETE":
            obj = self._crb_get(name)
            self.srv.etcd.delete(self._crb_key(name), int(obj["metadata"]["resourceVersion"]))
            return self._json(200, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                                    "details": {"name": name, "group": GROUP, "kind": RESOURCE}})
        if method != "PATCH":
            raise method_not_allowed()
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        patch = self._read_object()
        current = self._crb_get(name)
        rev = int(current["metadata"]["resourceVersion"])
        new = merge_patch(current, patch) if ctype == "application/merge-patch+json" \
            else strategic_merge_patch(current, patch)
        new["metadata"].update(name=name, uid=current["metadata"].get("uid"))
        new["metadata"].pop("resourceVersion", None)
        if self.query.get("dryRun") != "All":
            if self.srv.etcd.update(self._crb_key(name), json.dumps(new).encode(), rev) is None:
                raise conflict(RESOURCE, name)
            new = self._crb_get(name)
        self._json(200, new)

    @staticmethod
    def _now() -> str:
        from .common import rfc3339
        return rfc3339()

"""Pods over HTTP, as far as `kubectl create`, `get` and `drain` use them: create, get,
list (all namespaces or one; label and field selectors, spec.nodeName among them),
delete, and the eviction subresource (policy/v1beta1 from 1.4, policy/v1 from 1.22,
which discovery announces on `pods/eviction`). The stand-in runs no containers: a pod
is a stored object placed on a node by spec.nodeName (no scheduler binds it), and an
eviction or delete removes it at once (no kubelet to wait for)."""
from __future__ import annotations

import uuid

from .objects import (NO_RESOURCE, ApiError, already_exists, bad_request, field_match, human_duration, label_match,
                      method_not_allowed, not_found, parse_field_selector, parse_label_selector, parse_time, table,
                      validate_meta)
from .documents import eviction_version
from .storage import Nodes, now_rfc3339

POD_FIELDS = {"metadata.name", "metadata.namespace", "spec.nodeName", "spec.restartPolicy",
              "spec.schedulerName", "spec.serviceAccountName", "status.phase", "status.podIP"}
POD_COLUMNS = [
    ("Name", "string", "name", 0, "Name must be unique within a namespace."),
    ("Status", "string", "", 0, "The aggregate status of the containers in this pod."),
    ("Age", "string", "", 0, "CreationTimestamp is a timestamp representing the server time when this object was created."),
    ("Node", "string", "", 1, "Specifies the node on which the pod is scheduled."),
]


class Pods(Nodes):
    """Pods in etcd at `<prefix>/pods/<namespace>/<name>`, nodes' metadata rules."""

    resource, kind = "pods", "Pod"

    def __init__(self, etcd, prefix: str, version):
        super().__init__(etcd, prefix, version)
        self.prefix = prefix.rstrip("/") + "/pods/"

    def _decode(self, kv) -> dict:
        obj = super()._decode(kv)
        meta = obj["metadata"]
        if self.version < (1, 20):
            meta["selfLink"] = f"/api/v1/namespaces/{meta.get('namespace')}/pods/{meta.get('name')}"
        return obj

    def get(self, key: str) -> dict:
        return _named(lambda: super(Pods, self).get(key), key)

    def delete(self, key: str, dry_run=False) -> dict:
        return _named(lambda: super(Pods, self).delete(key, dry_run), key)

    def create(self, obj: dict, dry_run=False) -> dict:
        meta = obj["metadata"]
        meta.update(uid=str(uuid.uuid4()), creationTimestamp=now_rfc3339())
        meta.pop("resourceVersion", None)
        obj["status"] = {"phase": "Pending"}  # no kubelet starts its containers
        key = f"{meta['namespace']}/{meta['name']}"
        if dry_run:
            return obj
        if self.etcd.create(self.key(key), self._encode(obj)) is None:
            raise already_exists(self.resource, meta["name"])
        return self.get(key)


def _named(step, key: str):
    """A 404 names the pod as the real server does: by name, not namespace/name."""
    try:
        return step()
    except ApiError as e:
        if e.code == 404:
            raise not_found("pods", key.split("/", 1)[1]) from None
        raise


def pod_row(pod: dict, now: float) -> list:
    created = parse_time(pod["metadata"].get("creationTimestamp", ""))
    return [pod["metadata"]["name"], (pod.get("status") or {}).get("phase", ""),
            human_duration(now - created) if created is not None else "<unknown>",
            (pod.get("spec") or {}).get("nodeName") or "<none>"]


class PodRoutes:
    """Handler methods (a mixin of `handler.Handler`)."""

    def _pods(self, method: str, namespace: str | None, name: str | None, sub: str | None):
        pods = self.srv.pods
        if name is None:
            if method in ("GET", "HEAD"):
                return self._list_pods(namespace)
            if method == "POST" and namespace:
                return self._create_pod(namespace)
            raise method_not_allowed()
        if not namespace:
            raise NO_RESOURCE
        key = f"{namespace}/{name}"
        if sub == "eviction":
            if method != "POST" or eviction_version(self.srv.v) is None:
                raise NO_RESOURCE if eviction_version(self.srv.v) is None else method_not_allowed()
            return self._evict(key)
        if sub:
            raise NO_RESOURCE
        if method in ("GET", "HEAD"):
            return self._json(200, pods.get(key))
        if method == "DELETE":
            return self._json(200, pods.delete(key, self.query.get("dryRun") == "All"))
        raise method_not_allowed()

    def _create_pod(self, namespace: str):
        obj = self._read_object()
        if not isinstance(obj, dict) or obj.get("kind") != "Pod" or obj.get("apiVersion") != "v1":
            raise bad_request("the object provided is unrecognized (must be of type Pod)")
        meta = obj.setdefault("metadata", {})
        if meta.get("namespace", namespace) != namespace:
            raise bad_request("the namespace of the provided object does not match the namespace sent on the request")
        meta["namespace"] = namespace
        validate_meta("Pod", obj)
        obj = {k: x for k, x in obj.items() if k in ("apiVersion", "kind", "metadata", "spec")}
        self._json(201, self.srv.pods.create(obj, self.query.get("dryRun") == "All"))

    def _evict(self, key: str):
        body = self._read_object()
        group = f"policy/{eviction_version(self.srv.v)}"
        if not isinstance(body, dict) or body.get("kind") != "Eviction":
            raise bad_request("the object provided is unrecognized (must be of type Eviction)")
        if body.get("apiVersion") not in (group, "policy/v1beta1"):
            raise bad_request(f"no kind \"Eviction\" is registered for version \"{body.get('apiVersion')}\"")
        self.srv.pods.delete(key)  # no PodDisruptionBudgets: always allowed
        self._json(201, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201})

    def _list_pods(self, namespace: str | None):
        labels = parse_label_selector(self.query.get("labelSelector", ""))
        fields = parse_field_selector(self.query.get("fieldSelector", ""), POD_FIELDS)
        items, rev = self.srv.pods.list()
        items = [p for p in items if (namespace is None or p["metadata"].get("namespace") == namespace)
                 and label_match(labels, p["metadata"].get("labels") or {}) and field_match(fields, p)]
        if self.query.get("watch") in ("true", "1"):
            raise ApiError(405, "MethodNotAllowed", "the stand-in does not watch pods", {})
        tv = self._table_version()
        if tv:
            return self._json(200, table(POD_COLUMNS, items, pod_row, str(rev), tv,
                                         self.query.get("includeObject", "Metadata")))
        self._json(200, {"kind": "PodList", "apiVersion": "v1", "metadata": {"resourceVersion": str(rev)},
                         "items": [{k: x for k, x in p.items() if k not in ("kind", "apiVersion")} for p in items]})


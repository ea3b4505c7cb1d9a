"""The apiserver's fixed documents: the built-in namespaces, /version, discovery, and
OpenAPI (what the real kubectl asks for):
- before 1.7 there is no OpenAPI at all (the real server answered 404 with its list of
  paths; /swagger-2.0.0.pb-v1 and /openapi/v2 did not exist), so kubectl >= 1.22's
  default `--validate=strict` fails on `create`/`apply`/`replace` ("failed to download
  openapi") exactly as against the real server: use `--validate=false`.
- from 1.7 a minimal OpenAPI v3 (JSON) says PATCH on nodes takes `fieldValidation`, so
  kubectl hands validation to the server, which rejects unknown fields when asked for
  Strict. (The real 1.7-1.26 servers served a protobuf OpenAPI v2 that kubectl
  validated against on the client; the outcome for a bad object is the same: refused.)
"""
from __future__ import annotations

import json
import uuid

from . import common


def namespaces(version) -> list[dict]:
    names = ["default", "kube-system"] + (["kube-public"] if version >= (1, 6) else []) \
        + (["kube-node-lease"] if version >= (1, 14) else [])
    return [{"kind": "Namespace", "apiVersion": "v1",
             "metadata": {"name": n, "uid": str(uuid.uuid5(uuid.NAMESPACE_URL, "ns/" + n)),
                          "resourceVersion": "1", "creationTimestamp": START_TIME},
             "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}} for n in names]


START_TIME = common.rfc3339()


def version_info(version: str) -> dict:
    major, minor, _ = common.parse_version(version)
    commit = uuid.uuid5(uuid.NAMESPACE_URL, "kubefab-standin/" + version).hex
    return {"major": str(major), "minor": str(minor), "gitVersion": version,
            "gitCommit": (commit + commit)[:40], "gitTreeState": "clean",
            "buildDate": "1970-01-01T00:00:00Z", "goVersion": "go1.x (kubefab stand-in)",
            "compiler": "gc", "platform": "linux/amd64"}


def api_resources(v=(1, 0, 0)) -> dict:
    """/api/v1's resources; pods/eviction names its policy group version, which is how
    kubectl drain decides to evict (and with which version) rather than delete."""
    verbs = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
    resources = [
        {"name": "namespaces", "singularName": "namespace", "namespaced": False, "kind": "Namespace",
         "verbs": ["get", "list"], "shortNames": ["ns"]},
        {"name": "nodes", "singularName": "node", "namespaced": False, "kind": "Node",
         "verbs": verbs, "shortNames": ["no"]},
        {"name": "nodes/status", "singularName": "", "namespaced": False, "kind": "Node",
         "verbs": ["get", "patch", "update"]},
        {"name": "pods", "singularName": "pod", "namespaced": True, "kind": "Pod",
         "verbs": ["create", "delete", "get", "list"], "shortNames": ["po"], "categories": ["all"]},
        {"name": "events", "singularName": "event", "namespaced": True, "kind": "Event",
         "verbs": ["get", "list", "watch"], "shortNames": ["ev"]},
    ]
    policy = eviction_version(v)
    if policy:
        resources.insert(4, {"name": "pods/eviction", "singularName": "", "namespaced": True, "group": "policy",
                             "version": policy, "kind": "Eviction", "verbs": ["create"]})
    return {"kind": "APIResourceList", "groupVersion": "v1", "resources": resources}


def eviction_version(v) -> str | None:
    """The policy group version of the Eviction subresource (None before 1.4)."""
    return None if v < (1, 4) else "v1beta1" if v < (1, 22) else "v1"


def openapi_v3_root() -> dict:
    return {"paths": {"api/v1": {"serverRelativeURL": "/openapi/v3/api/v1?hash=" + OPENAPI_HASH}}}


def openapi_v3_api_v1() -> dict:
    """Just enough OpenAPI v3 for kubectl: PATCH on nodes takes fieldValidation."""
    gvk = {"group": "", "version": "v1", "kind": "Node"}
    params = [{"name": n, "in": "query", "schema": {"type": "string"}}
              for n in ("dryRun", "fieldManager", "fieldValidation", "force")]
    op = {"operationId": "patchCoreV1Node", "parameters": params,
          "x-kubernetes-action": "patch", "x-kubernetes-group-version-kind": gvk,
          "responses": {"200": {"description": "OK"}}}
    node_schema = {"type": "object", "x-kubernetes-group-version-kind": [gvk],
                   "properties": {k: {"type": "object" if k in ("metadata", "spec", "status") else "string"}
                                  for k in ("apiVersion", "kind", "metadata", "spec", "status")}}
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "kubefab stand-in"},
            "paths": {"/api/v1/nodes/{name}": {"patch": op},
                      "/api/v1/nodes/{name}/status": {"patch": {**op, "operationId": "patchCoreV1NodeStatus"}}},
            "components": {"schemas": {"io.k8s.api.core.v1.Node": node_schema}}}


OPENAPI_HASH = uuid.uuid5(uuid.NAMESPACE_URL, json.dumps(openapi_v3_api_v1(), sort_keys=True)).hex.upper()

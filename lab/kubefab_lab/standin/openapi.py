"""OpenAPI v3 as far as the real kubectl uses it: /openapi/v3 lists a document per
group version, and each document has a PATCH operation per resource tagged with its
group-version-kind (x-kubernetes-group-version-kind) and taking the fieldValidation
query parameter. kubectl's default --validate=strict reads that to hand validation to
the server (QueryParamVerifierV3), which then refuses unknown fields (`fieldcheck`).
The operations carry no request body schema, so `kubectl apply` builds its strategic
merge patches from its compiled-in types, as it does for any server without one.
Schemas are not served: `kubectl explain` finds nothing."""
from __future__ import annotations

import hashlib
import json

from . import registry

PARAMS = [{"name": n, "in": "query", "schema": {"type": "string", "uniqueItems": True}}
          for n in ("dryRun", "fieldManager", "fieldValidation", "force", "pretty")]


def _gv_path(group: str) -> str:
    return f"apis/{group}/v1" if group else "api/v1"


def document(gv_path: str) -> dict | None:
    groups = {_gv_path(g): g for g in [""] + registry.groups()}
    if gv_path not in groups:
        return None
    group = groups[gv_path]
    paths = {}
    for r in registry.RESOURCES:
        if r.group != group:
            continue
        gvk = {"group": r.group, "version": r.version, "kind": r.kind}
        base = f"/{gv_path}/" + ("namespaces/{namespace}/" if r.namespaced else "") + r.plural + "/{name}"
        op = {"operationId": f"patch{r.kind}", "parameters": PARAMS, "x-kubernetes-action": "patch",
              "x-kubernetes-group-version-kind": gvk, "responses": {"200": {"description": "OK"}}}
        paths[base] = {"patch": op}
        for sub in r.subresources:
            if sub in ("status", "approval"):
                paths[f"{base}/{sub}"] = {"patch": {**op, "operationId": f"patch{r.kind}{sub.title()}"}}
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "kubefab stand-in"}, "paths": paths}


def root() -> dict:
    out = {}
    for group in [""] + registry.groups():
        path = _gv_path(group)
        digest = hashlib.sha512(json.dumps(document(path), sort_keys=True).encode()).hexdigest()[:128].upper()
        out[path] = {"serverRelativeURL": f"/openapi/v3/{path}?hash={digest}"}
    return {"paths": out}

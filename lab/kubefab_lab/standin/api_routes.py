"""The generic REST verbs of today's apiserver (1.35+) for every resource in
`registry` except nodes and events (their own routes): list (label and field
selectors, watch, Table), get, create, update (PUT, resourceVersion conflicts),
patch (JSON merge, strategic merge, JSON patch, server-side apply), delete,
deletecollection, and the subresources status, approval (CSRs), binding and eviction
(pods). Stored by `store`; per-kind rules in `admission`."""
from __future__ import annotations

import json
import time

from . import admission, common, fieldcheck, merging, tables
from .objects import (NO_RESOURCE, ApiError, bad_request, conflict, field_match, json_patch, label_match,
                      merge_patch, method_not_allowed, parse_field_selector, parse_label_selector, table)
from .registry import Resource, by_kind

FIELDS = {"pods": {"spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
                   "status.phase", "status.podIP", "status.nominatedNodeName", "spec.hostNetwork"},
          "secrets": {"type"}, "namespaces": {"status.phase"}, "replicasets": {"status.replicas"},
          "certificatesigningrequests": {"spec.signerName"}}
PATCH_TYPES = ("application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json, "
               "application/apply-patch+yaml")


def split_path(path: str):
    """(group, version, namespace, plural, name, sub, watch) of an API path, or None."""
    parts = path.strip("/").split("/")
    if parts[0] == "api" and len(parts) >= 3:
        group, version, rest = "", parts[1], parts[2:]
    elif parts[0] == "apis" and len(parts) >= 4:
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    watch = rest[:1] == ["watch"]
    rest = rest[1:] if watch else rest
    ns = None
    if len(rest) >= 3 and rest[0] == "namespaces" and not (len(rest) == 3 and rest[2] in ("status", "finalize")):
        ns, rest = rest[1], rest[2:]
    if not rest or len(rest) > 3:
        return None
    rest += [None] * (3 - len(rest))
    return group, version, ns, rest[0], rest[1], rest[2], watch


class ApiRoutes:
    """Handler methods (a mixin of `handler.Handler`)."""

    def _api(self, method: str, r: Resource, ns: str | None, name: str | None, sub: str | None, watch: bool):
        if watch:
            self.query["watch"] = "true"
        if r.namespaced is False and ns:
            raise NO_RESOURCE
        if sub and sub not in r.subresources:
            raise NO_RESOURCE
        if name is None:
            if method in ("GET", "HEAD"):
                return self._api_list(r, ns)
            if method == "POST" and (ns or not r.namespaced):
                return self._json(201, self._api_create(r, ns, self._read_object()))
            if method == "DELETE":
                return self._api_delete_collection(r, ns)
            raise method_not_allowed()
        if sub == "token" and method == "POST":
            return self._token_request(r, ns, name)
        if sub == "binding" and method == "POST":
            return self._pod_binding(r, ns, name)
        if sub == "eviction" and method == "POST":
            self._pod_delete(r, ns, name, grace=None)
            return self._json(201, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                                    "code": 201})
        if method in ("GET", "HEAD"):
            obj = self.srv.store.get(r, ns, name)
            tv = self._table_version()
            if tv and not sub:
                return self._json(200, self._api_table(r, [obj], obj["metadata"]["resourceVersion"], tv))
            return self._json(200, obj)
        if method == "PUT":
            return self._json(200, self._api_put(r, ns, name, sub or ""))
        if method == "PATCH":
            return self._api_patch(r, ns, name, sub or "")
        if method == "DELETE" and not sub:
            return self._api_delete(r, ns, name)
        raise method_not_allowed()

    # --- reads ---

    def _api_match(self, r: Resource):
        labels = parse_label_selector(self.query.get("labelSelector", ""))
        fields = parse_field_selector(self.query.get("fieldSelector", ""),
                                      {"metadata.name", "metadata.namespace"} | FIELDS.get(r.plural, set()))
        return lambda o: label_match(labels, o["metadata"].get("labels") or {}) and field_match(fields, o)

    def _api_table(self, r: Resource, items, rv, tv) -> dict:
        cols, row = tables.columns(r.plural)
        return table(cols, items, row, str(rv), tv, self.query.get("includeObject", "Metadata"))

    def _api_list(self, r: Resource, ns: str | None):
        match = self._api_match(r)
        if self.query.get("watch") in ("true", "1"):
            return self._watch(match, source=lambda: self.srv.store.list(r, ns),
                               as_table=lambda o, v: self._api_table(r, [o], o["metadata"]["resourceVersion"], v),
                               kind=r.kind, api_version=r.gv)
        items, rev = self.srv.store.list(r, ns)
        items = [o for o in items if match(o)]
        tv = self._table_version()
        if tv:
            return self._json(200, self._api_table(r, items, rev, tv))
        self._json(200, {"kind": f"{r.kind}List", "apiVersion": r.gv, "metadata": {"resourceVersion": str(rev)},
                         "items": [{k: x for k, x in o.items() if k not in ("kind", "apiVersion")} for o in items]})

    # --- writes ---

    def _dry(self) -> bool:
        return self.query.get("dryRun") == "All"

    def _check_kind(self, r: Resource, obj) -> dict:
        if not isinstance(obj, dict):
            raise bad_request(f"the object provided is unrecognized (must be of type {r.kind})")
        if obj.get("kind") != r.kind or obj.get("apiVersion") != r.gv:
            other = by_kind(str(obj.get("apiVersion") or ""), str(obj.get("kind") or ""))
            if other is None or other is not r:
                raise bad_request(f"the API version in the data ({obj.get('apiVersion')}) does not match the expected "
                                  f"API version ({r.gv})" if obj.get("kind") == r.kind else
                                  f"the object provided is unrecognized (must be of type {r.kind})")
        obj.setdefault("metadata", {})
        if not isinstance(obj["metadata"], dict):
            raise bad_request("metadata must be an object")
        fieldcheck.check(r.kind, obj, self.query.get("fieldValidation") == "Strict")
        return obj

    def _api_create(self, r: Resource, ns: str | None, obj) -> dict:
        obj = self._check_kind(r, obj)
        meta = obj["metadata"]
        if r.namespaced:
            if meta.get("namespace", ns) != ns:
                raise bad_request("the namespace of the provided object does not match the namespace sent on the "
                                  "request")
            meta["namespace"] = ns
        else:
            meta.pop("namespace", None)
        obj = admission.create(self.srv, r, obj, self.user, dry=self._dry())
        self._managed(obj, None, "Update")
        return self.srv.store.create(r, obj, self._dry())

    def _managed(self, obj: dict, old: dict | None, operation: str) -> None:
        """Record the writer in managedFields (manager and operation; its fields are
        tracked for Apply only, see `merging`)."""
        manager = self.query.get("fieldManager") or (self.headers.get("User-Agent") or "unknown").split("/")[0]
        entries = list((old or {}).get("metadata", {}).get("managedFields") or obj["metadata"].get("managedFields")
                       or [])
        if not any(e.get("manager") == manager and e.get("operation") == operation for e in entries):
            entries.append({"manager": manager, "operation": operation, "apiVersion": obj.get("apiVersion", ""),
                            "time": common.rfc3339(), "fieldsType": "FieldsV1", "fieldsV1": {}})
        obj["metadata"]["managedFields"] = entries

    def _write(self, r: Resource, ns, name, sub: str, change, operation="Update") -> dict:
        def checked(current):
            new = change(current)
            if not isinstance(new, dict) or not isinstance(new.get("metadata"), dict):
                raise bad_request("the patch did not produce an object")
            want = new["metadata"].get("resourceVersion")
            if want and want != current["metadata"]["resourceVersion"]:
                raise conflict(r.qualified(), name)
            if new["metadata"].get("name", name) != name:
                raise bad_request(f"the name of the object ({new['metadata'].get('name')}) does not match the name "
                                  f"on the URL ({name})")
            new = admission.update(self.srv, r, current, new, sub)
            if operation != "Apply":
                self._managed(new, current, operation)
            return new

        return self.srv.store.update(r, ns, name, checked, self._dry())

    def _api_put(self, r: Resource, ns, name, sub) -> dict:
        new = self._check_kind(r, self._read_object())
        return self._write(r, ns, name, sub, lambda current: new)

    def _api_patch(self, r: Resource, ns, name, sub):
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        patch = self._read_object()
        fieldcheck.check(r.kind, patch, self.query.get("fieldValidation") == "Strict")
        if ctype == "application/apply-patch+yaml":
            return self._apply(r, ns, name, sub, patch)
        ops = {"application/merge-patch+json": merge_patch, "application/json-patch+json": json_patch,
               "application/strategic-merge-patch+json": merging.strategic_merge_patch}
        if ctype not in ops:
            raise ApiError(415, "UnsupportedMediaType", "the body of the request was in an unknown format - accepted "
                           f"media types include: {PATCH_TYPES}", {})
        self._json(200, self._write(r, ns, name, sub, lambda current: ops[ctype](current, patch)))

    def _apply(self, r: Resource, ns, name, sub, applied):
        manager = self.query.get("fieldManager")
        if not manager:
            raise bad_request("PATCH, application/apply-patch+yaml requires fieldManager to be set")
        if not isinstance(applied, dict):
            raise bad_request("the object provided is unrecognized: apply patch must be an object")
        applied.setdefault("metadata", {}).setdefault("name", name)
        if r.namespaced:
            applied["metadata"].setdefault("namespace", ns)
        stamp = common.rfc3339()
        if self.srv.store.find(r, ns, name) is None and not sub:
            obj = merging.apply(None, self._check_kind(r, applied), manager, stamp)
            return self._json(201, self._api_create(r, ns, obj))
        self._json(200, self._write(r, ns, name, sub, lambda cur: merging.apply(cur, applied, manager, stamp),
                                    operation="Apply"))

    def _api_delete(self, r: Resource, ns, name):
        if r.plural == "pods":
            return self._json(200, self._pod_delete(r, ns, name, self._grace()))
        if r.plural == "namespaces":
            self._delete_namespace_content(name)
        obj = self.srv.store.delete(r, ns, name, self._dry())
        if not self._dry():
            admission.deleted(self.srv, r, obj)
        self._json(200, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                         "details": {"name": name, **({"group": r.group} if r.group else {}), "kind": r.plural,
                                     "uid": obj["metadata"].get("uid")}})

    def _grace(self):
        body = None
        if self.body:
            try:
                body = json.loads(self.body)
            except ValueError:
                body = None
        value = (body or {}).get("gracePeriodSeconds", self.query.get("gracePeriodSeconds"))
        return None if value in (None, "") else int(value)

    def _api_delete_collection(self, r: Resource, ns):
        match = self._api_match(r)
        items, rev = self.srv.store.list(r, ns)
        gone = []
        for obj in [o for o in items if match(o)]:
            try:
                gone.append(self.srv.store.delete(r, obj["metadata"].get("namespace"), obj["metadata"]["name"],
                                                  self._dry()))
                admission.deleted(self.srv, r, obj)
            except ApiError:
                pass
        self._json(200, {"kind": f"{r.kind}List", "apiVersion": r.gv, "metadata": {"resourceVersion": str(rev)},
                         "items": gone})

    def _delete_namespace_content(self, namespace: str):
        """The namespace controller's work, done at once: every object in it goes."""
        for res in self.srv.resources.values():
            if res.namespaced:
                for obj in self.srv.store.list(res, namespace)[0]:
                    try:
                        self.srv.store.delete(res, namespace, obj["metadata"]["name"])
                        admission.deleted(self.srv, res, obj)
                    except ApiError:
                        pass

    # --- pods ---

    def _pod_binding(self, r: Resource, ns, name):
        binding = self._read_object() or {}
        node = ((binding.get("target") or {}).get("name")) or ""

        def bind(pod):
            if (pod.get("spec") or {}).get("nodeName"):
                raise conflict("pods/binding", name)
            pod["spec"]["nodeName"] = node
            conds = [c for c in (pod.get("status") or {}).get("conditions") or [] if c.get("type") != "PodScheduled"]
            pod.setdefault("status", {})["conditions"] = conds + [
                {"type": "PodScheduled", "status": "True", "lastProbeTime": None,
                 "lastTransitionTime": common.rfc3339()}]
            return pod

        self.srv.store.update(r, ns, name, bind)
        self._json(201, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201})

    def _pod_delete(self, r: Resource, ns, name, grace):
        """A pod on a node is marked (deletionTimestamp) for its kubelet to end and
        remove; an unbound pod, or grace 0, goes at once."""
        pod = self.srv.store.get(r, ns, name)
        if grace is None:
            grace = int((pod.get("spec") or {}).get("terminationGracePeriodSeconds", 30))
        if grace == 0 or not (pod.get("spec") or {}).get("nodeName"):
            return self.srv.store.delete(r, ns, name, self._dry())

        def mark(p):
            p["metadata"].setdefault("deletionTimestamp", common.rfc3339(time.time() + grace))
            p["metadata"]["deletionGracePeriodSeconds"] = grace
            return p

        return self.srv.store.update(r, ns, name, mark, self._dry())

    def _token_request(self, r: Resource, ns, name):
        from . import satokens

        sa = self.srv.store.get(r, ns, name)
        key = self.srv.sa_key
        if key is None:
            raise ApiError(500, "InternalError", "Internal error occurred: no service account signing key", {})
        req = self._read_object() or {}
        seconds = int((req.get("spec") or {}).get("expirationSeconds") or 3600)
        token, exp = satokens.issue(key, self.srv.fl["service-account-issuer"] or "", ns, name, sa["metadata"]["uid"],
                                    seconds)
        self._json(201, {"kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1",
                         "metadata": {"name": name, "namespace": ns, "creationTimestamp": None},
                         "spec": {"audiences": [self.srv.fl["service-account-issuer"] or ""],
                                  "expirationSeconds": seconds},
                         "status": {"token": token, "expirationTimestamp": common.rfc3339(exp)}})

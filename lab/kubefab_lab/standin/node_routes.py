"""Nodes over HTTP: get, list, create, update and patch (the main resource and the
status subresource), delete, deletecollection, with label and field selectors."""
from __future__ import annotations

import json
import uuid

from . import noderestriction
from .merging import strategic_merge_patch
from .objects import (NO_RESOURCE, NODE_COLUMNS, ApiError, bad_request, conflict, field_match, json_patch,
                      label_match, merge_patch, method_not_allowed, node_row, parse_field_selector,
                      parse_label_selector, table, unknown_fields, validate_meta)


class NodeRoutes:
    """Handler methods (a mixin of `handler.Handler`)."""

    def _nodes(self, method: str, name: str | None, status: bool):
        dry = self.query.get("dryRun") == "All"
        nodes = self.srv.nodes
        if name is None:
            if status:
                raise NO_RESOURCE
            if method in ("GET", "HEAD"):
                return self._list_nodes()
            if method == "POST":
                return self._create(dry)
            if method == "DELETE":
                return self._delete_collection(dry)
            raise method_not_allowed()
        if method in ("GET", "HEAD"):
            obj = nodes.get(name)
            tv = self._table_version()
            if tv and not status:
                return self._json(200, table(NODE_COLUMNS, [obj], node_row, obj["metadata"]["resourceVersion"], tv,
                                             self.query.get("includeObject", "Metadata")))
            return self._json(200, obj)
        if method == "PUT":
            return self._json(200, self._update(name, status, dry, self._put_change(name, status)))
        if method == "PATCH":
            return self._json(200, self._update(name, status, dry, self._patch_change(status)))
        if method == "DELETE" and not status:
            obj = nodes.delete(name, dry)
            return self._json(200, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                                    "details": {"name": name, "kind": "nodes", "uid": obj["metadata"].get("uid")}})
        raise method_not_allowed()

    def _check_body(self, obj) -> dict:
        if not isinstance(obj, dict):
            raise bad_request("the object provided is unrecognized (must be of type Node): couldn't get version/kind; "
                              "json parse error: json: cannot unmarshal into Go value of type struct")
        kind, api_version = obj.get("kind"), obj.get("apiVersion")
        if not kind or not api_version:
            missing = "kind" if not kind else "apiVersion"
            raise bad_request(f"Object '{missing[0].upper() + missing[1:]}' is missing in '{json.dumps(obj)[:200]}'")
        if api_version != "v1":
            raise bad_request(f"the API version in the data ({api_version}) does not match the expected API version (v1)")
        if kind != "Node":
            raise bad_request(f"the server could not find the requested resource: {kind} in version \"v1\" "
                              "cannot be handled as a Node: no kind \"" + kind + "\" is registered for version "
                              "\"v1\" in scheme")
        extra = unknown_fields(obj)
        if extra and self.query.get("fieldValidation") == "Strict":
            raise bad_request('Node in version "v1" cannot be handled as a Node: strict decoding error: '
                              + ", ".join(f'unknown field "{f}"' for f in extra))
        obj = {k: x for k, x in obj.items() if k in ("apiVersion", "kind", "metadata", "spec", "status")}
        if isinstance(obj.get("metadata"), dict):
            obj["metadata"] = {k: x for k, x in obj["metadata"].items() if not k.startswith("$")}
        return obj

    def _create(self, dry: bool):
        obj = self._check_body(self._read_object())
        meta = obj.setdefault("metadata", {})
        if isinstance(meta, dict) and not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + uuid.uuid4().hex[:5]
        validate_meta("Node", obj)
        if self.srv.node_restriction:
            noderestriction.admit_create(self.user, obj)
        created = self.srv.nodes.create(obj, dry)
        self._json(201, created)

    def _put_change(self, name: str, status: bool):
        new = self._check_body(self._read_object())
        if (new.get("metadata") or {}).get("name") != name:
            raise bad_request(f"the name of the object ({(new.get('metadata') or {}).get('name')}) does not match "
                              f"the name on the URL ({name})")

        def change(current):
            want_rv = new["metadata"].get("resourceVersion")
            if want_rv and want_rv != current["metadata"]["resourceVersion"]:
                raise conflict("nodes", name)
            return self._merge_subresource(current, new, status)

        return change

    def _patch_change(self, status: bool):
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        patch = self._read_object()

        def change(current):
            if ctype == "application/merge-patch+json":
                new = merge_patch(current, patch)
            elif ctype == "application/strategic-merge-patch+json":
                new = strategic_merge_patch(current, patch)
            elif ctype == "application/json-patch+json":
                new = json_patch(current, patch)
            else:
                raise ApiError(415, "UnsupportedMediaType",
                               "the body of the request was in an unknown format - accepted media types include: "
                               "application/json-patch+json, application/merge-patch+json, "
                               "application/strategic-merge-patch+json", {})
            if not isinstance(new, dict):
                raise bad_request("the patch did not produce an object")
            want_rv = (new.get("metadata") or {}).get("resourceVersion")
            if want_rv and want_rv != current["metadata"]["resourceVersion"]:
                raise conflict("nodes", current["metadata"]["name"])
            new.setdefault("metadata", {})
            return self._merge_subresource(current, new, status)

        return change

    def _merge_subresource(self, current: dict, new: dict, status: bool) -> dict:
        """The main resource cannot change status, the status subresource only status
        (nodeStrategy / nodeStatusStrategy PrepareForUpdate)."""
        if not isinstance(new.get("metadata"), dict):
            raise bad_request("metadata must be an object")
        if status:
            out = dict(current)
            out["status"] = new.get("status") or {}
            return out
        out = {k: x for k, x in new.items() if k in ("apiVersion", "kind", "metadata", "spec")}
        out["status"] = current.get("status", {})
        return out

    def _update(self, name: str, status: bool, dry: bool, change) -> dict:
        def checked(current):
            new = change(current)
            validate_meta("Node", {**new, "metadata": {**new["metadata"], "name": name}})
            if self.srv.node_restriction:
                noderestriction.admit_update(self.user, current, new)
            return new

        return self.srv.nodes.update(name, checked, dry)

    def _delete_collection(self, dry: bool):
        reqs = parse_label_selector(self.query.get("labelSelector", ""))
        items, rev = self.srv.nodes.list()
        gone = []
        for obj in items:
            if label_match(reqs, obj["metadata"].get("labels") or {}):
                try:
                    gone.append(self.srv.nodes.delete(obj["metadata"]["name"], dry))
                except ApiError:
                    pass
        self._json(200, {"kind": "NodeList", "apiVersion": "v1", "metadata": {"resourceVersion": str(rev)},
                         "items": [_item(o) for o in gone]})

    def _selectors(self):
        labels = parse_label_selector(self.query.get("labelSelector", ""))
        fields = parse_field_selector(self.query.get("fieldSelector", ""), {"metadata.name", "spec.unschedulable"})
        return lambda o: label_match(labels, o["metadata"].get("labels") or {}) and field_match(fields, o)

    def _list_nodes(self):
        match = self._selectors()
        if self.query.get("watch") in ("true", "1"):
            return self._watch(match)
        items, rev = self.srv.nodes.list()
        items = [o for o in items if match(o)]
        tv = self._table_version()
        if tv:
            return self._json(200, table(NODE_COLUMNS, items, node_row, str(rev), tv,
                                         self.query.get("includeObject", "Metadata")))
        meta = {"resourceVersion": str(rev)}
        if self.srv.v < (1, 20):
            meta = {"selfLink": "/api/v1/nodes", **meta}
        self._json(200, {"kind": "NodeList", "apiVersion": "v1", "metadata": meta,
                         "items": [_item(o) for o in items]})


def _item(obj: dict) -> dict:
    return {k: x for k, x in obj.items() if k not in ("kind", "apiVersion")}

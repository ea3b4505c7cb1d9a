"""What the apiserver's paths answer, nodes aside (`node_routes`): dispatch by path and
method; health, version and discovery; the built-in namespaces; pods and events,
always empty; and watches, which poll etcd."""
from __future__ import annotations

import json
import re
import time

from . import common
from .documents import api_resources, namespaces, openapi_v3_api_v1, openapi_v3_root, version_info
from .objects import (NAMESPACE_COLUMNS, NO_RESOURCE, NODE_COLUMNS, method_not_allowed, namespace_row, node_row,
                      not_found, table)


class Routes:
    """Handler methods (a mixin of `handler.Handler`)."""

    def _route(self, method: str, path: str):
        srv, v = self.srv, self.srv.v
        if path != "/" and path.endswith("/"):
            path = path.rstrip("/")
        if method in ("GET", "HEAD"):
            if path in ("/", "/index.html"):
                return self._json(200, {"paths": srv.root_paths()})
            if path in ("/healthz", "/healthz/ping") or (v >= (1, 16) and path in ("/livez", "/readyz")):
                return self._health(path)
            if path == "/version":
                return self._json(200, version_info(srv.cfg.version))
            if path == "/api":
                return self._json(200, {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
                    {"clientCIDR": "0.0.0.0/0", "serverAddress": f"{srv.advertise}:{srv.secure_port}"}]})
            if path == "/api/v1":
                return self._json(200, api_resources(v))
            if path == "/apis":
                return self._json(200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": []})
            if v >= (1, 7) and path == "/openapi/v3":
                return self._json(200, openapi_v3_root())
            if v >= (1, 7) and path == "/openapi/v3/api/v1":
                return self._json(200, openapi_v3_api_v1())
        m = re.fullmatch(r"/api/v1/(?:watch/)?nodes(?:/([^/]+))?(?:/(status))?", path)
        if m:
            if path.startswith("/api/v1/watch/"):
                self.query["watch"] = "true"
                if m.group(1):
                    self.query["fieldSelector"] = f"metadata.name={m.group(1)}"
                return self._list_nodes() if method == "GET" else self._json(405, method_not_allowed().status())
            return self._nodes(method, m.group(1), bool(m.group(2)))
        m = re.fullmatch(r"/api/v1/(?:namespaces/([^/]+)/)?pods(?:/([^/]+))?(?:/([^/]+))?", path)
        if m:
            return self._pods(method, *m.groups())
        m = re.fullmatch(r"/api/v1/(?:namespaces/([^/]+)/)?(events)(?:/([^/]+))?", path)
        if m:
            if method not in ("GET", "HEAD"):
                raise method_not_allowed()
            return self._empty(m.group(2), m.group(3))
        m = re.fullmatch(r"/api/v1/namespaces(?:/([^/]+))?", path)
        if m:
            if method not in ("GET", "HEAD"):
                raise method_not_allowed()
            return self._namespaces(m.group(1))
        if path.startswith("/api/") or path.startswith("/apis/"):
            raise NO_RESOURCE
        self._not_found_path()

    def _health(self, path: str):
        if path == "/readyz" and getattr(self.srv, "shutting_down", False):  # --shutdown-delay-duration
            return self._text(500, "[+]ping ok\n[+]log ok\n[+]etcd ok\n[-]shutdown failed: reason withheld\n"
                                   "readyz check failed\n")
        if path == "/healthz/ping" or self.srv.v < (1, 10) or self.srv.etcd_healthy():  # ~ etcd check from 1.10
            return self._text(200, "ok")
        return self._text(500, "[+]ping ok\n[+]log ok\n[-]etcd failed: reason withheld\nhealthz check failed\n")

    def _empty(self, resource: str, name: str | None):
        """Events: the stand-in records none, so there never are any."""
        if name:
            raise not_found(resource, name)
        kind = {"pods": "Pod", "events": "Event"}[resource]
        rev = str(self.srv.nodes.list_kvs()[1])
        if self.query.get("watch") in ("true", "1"):
            return self._watch(lambda o: False, source=lambda: ([], rev))
        tv = self._table_version()
        if tv:
            return self._json(200, table(NAMESPACE_COLUMNS[:1] + NAMESPACE_COLUMNS[2:], [], None, rev, tv, "None"))
        self._json(200, {"kind": f"{kind}List", "apiVersion": "v1", "metadata": {"resourceVersion": rev}, "items": []})

    def _namespaces(self, name):
        items = namespaces(self.srv.v)
        if name:
            found = [n for n in items if n["metadata"]["name"] == name]
            if not found:
                raise not_found("namespaces", name)
            return self._json(200, found[0])
        tv = self._table_version()
        if tv:
            return self._json(200, table(NAMESPACE_COLUMNS, items, namespace_row, "1", tv,
                                         self.query.get("includeObject", "Metadata")))
        return self._json(200, {"kind": "NamespaceList", "apiVersion": "v1", "metadata": {"resourceVersion": "1"},
                                "items": [{k: x for k, x in n.items() if k not in ("kind", "apiVersion")} for n in items]})

    def _watch(self, match, source=None, as_table=None, kind="Node", api_version="v1"):
        """A watch by polling etcd (the real one uses etcd's watch): chunked JSON events.
        as_table(obj, table_version) renders an object as a Table (nodes by default).
        With sendInitialEvents=true (client-go's WatchList, on by default since 1.35) the
        current objects come first as ADDED, then a BOOKMARK annotated
        k8s.io/initial-events-end, as the real server ends the initial events."""
        source = source or self.srv.nodes.list
        as_table = as_table or (lambda o, v: table(NODE_COLUMNS, [o], node_row, o["metadata"]["resourceVersion"], v,
                                                   self.query.get("includeObject", "Metadata")))
        initial = self.query.get("sendInitialEvents") == "true"
        try:
            timeout = float(self.query.get("timeoutSeconds") or 1800)
        except ValueError:
            timeout = 1800
        tv = self._table_version()
        start_rv = self.query.get("resourceVersion") or ""
        self._code = 200
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

        def send(kind, obj):
            if tv and kind != "BOOKMARK":
                obj = as_table(obj, tv)
            data = json.dumps({"type": kind, "object": obj}).encode() + b"\n"
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

        def ident(obj):
            return obj["metadata"].get("namespace", ""), obj["metadata"]["name"]

        seen = {}  # (namespace, name) -> object, as last sent / known
        items, rev = source()
        since = 0 if initial or not start_rv.isdigit() else int(start_rv)
        for obj in items:
            if not match(obj):
                continue
            seen[ident(obj)] = obj
            if since == 0 or int(obj["metadata"]["resourceVersion"]) > since:
                send("ADDED" if since == 0 else "MODIFIED", obj)
        if initial:
            send("BOOKMARK", {"kind": kind, "apiVersion": api_version, "metadata": {
                "resourceVersion": str(rev), "annotations": {"k8s.io/initial-events-end": "true"}}})
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not common.stopping.is_set():
            time.sleep(0.25)
            items, rev = source()
            now = {}
            for obj in items:
                if match(obj):
                    now[ident(obj)] = obj
            for name, obj in now.items():
                old = seen.get(name)
                if old is None:
                    send("ADDED", obj)
                elif old["metadata"]["resourceVersion"] != obj["metadata"]["resourceVersion"]:
                    send("MODIFIED", obj)
            for name, obj in seen.items():
                if name not in now:
                    obj = json.loads(json.dumps(obj))
                    obj["metadata"]["resourceVersion"] = str(rev)
                    send("DELETED", obj)
            seen = now
        self.wfile.write(b"0\r\n\r\n")
        self.close_connection = True

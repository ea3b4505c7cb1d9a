"""The stand-in kube-apiserver: nodes over the v1 API (read-only namespaces, and
always-empty pods and events so `kubectl describe node` works),
stored in etcd, answering discovery, /healthz and /version like the real server of
the configured version, so that the real kubectl and curl work against it.

Serving:
- the insecure port (`--insecure-bind-address`/`--address` : `--insecure-port`/`--port`,
  default 127.0.0.1:8080) for versions before 1.20; from 1.20 it must be 0, and from
  1.24 its flags are gone.
- the secure port (`--bind-address`:`--secure-port`, default 0.0.0.0:6443): HTTPS (TLS
  1.2+) with `--tls-cert-file`/`--tls-private-key-file`, or a self-signed pair written to
  `--cert-dir` with the `openssl` program (as the real server generates one). Without
  either it is a TCP listener that accepts and closes. The same handler serves both
  ports; the TLS handshake runs in the connection's own thread.

Authentication (secure port only; the insecure port is unauthenticated, as it always was):
- `--client-ca-file`: client certificates are asked for (CERT_OPTIONAL) and verified
  against that CA; a verified one authenticates as user = CN, groups = O (+
  system:authenticated), like the real x509 authenticator. A request without one gets
  401 and a metav1 Status `Unauthorized` (x509 being the only authenticator).
  Difference: the real server (Go, tls.RequestClientCert) completes the handshake for a
  certificate from another CA and answers 401; Python's ssl has no verify callback, so
  the stand-in ends that handshake with a TLS alert (the client sees
  "remote error: tls: unknown certificate authority"). Refused either way, and logged.
- anonymous requests: as from 1.5 with `--anonymous-auth` (default true) unless the
  authorization mode includes AlwaysAllow (which resets it, as the real server does);
  system:anonymous reaches only /healthz, /version and discovery (403 elsewhere), as the
  default RBAC roles allow.
- no client CA and no anonymous: no authentication at all (v1.0 without authenticators).
- tokens and basic auth (`--token-auth-file`, `--basic-auth-file`) are not emulated: the
  Authorization header is not looked at (as with no token authenticator configured).
- authorization is AlwaysAllow for every authenticated user whatever
  `--authorization-mode` says (a warning says so when it is not AlwaysAllow).
- No wildcard binds unless KUBEFAB_STANDIN_ALLOW_WILDCARD=1: the lab's hosts share one
  network namespace and every listener must be on a 127.0.0.N (TESTBED.md). The port
  the server cannot do without (insecure if enabled, else secure; the secure one too
  when `--tls-cert-file` is given) is fatal: refused, not bindable, or (secure) a pair
  that cannot be loaded. A secure port beside an insecure one, with no TLS configured,
  is skipped with a warning (v1.0 also only retried it).

OpenAPI and tables (what the real kubectl asks for):
- before 1.7 there is no OpenAPI at all (the real server answered 404 with its list of
  paths; /swagger-2.0.0.pb-v1 and /openapi/v2 did not exist), so kubectl >= 1.22's
  default `--validate=strict` fails on `create`/`apply`/`replace` ("failed to download
  openapi") exactly as against the real server: use `--validate=false`.
- from 1.7 a minimal OpenAPI v3 (JSON) says PATCH on nodes takes `fieldValidation`, so
  kubectl hands validation to the server, which rejects unknown fields when asked for
  Strict. (The real 1.7-1.26 servers served a protobuf OpenAPI v2 that kubectl
  validated against on the client; the outcome for a bad object is the same: refused.)
- `Accept: ...;as=Table;g=meta.k8s.io;v=v1|v1beta1` is answered with a Table (columns
  as the real node printer's) for every version, so `kubectl get nodes` shows
  NAME/STATUS/ROLES/AGE/VERSION. (Servers before 1.10 answered plain lists, and a
  current kubectl then prints only NAME and AGE.)
"""
from __future__ import annotations

import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from . import common
from .common import Config, fatal, info, warning
from .etcd import Etcd, EtcdError
from .flags import CLOUD_PROVIDERS, Parsed
from .objects import (NAMESPACE_COLUMNS, NO_RESOURCE, NODE_COLUMNS, ApiError, already_exists, bad_request,
                      conflict, field_match, json_patch, label_match, merge_patch, method_not_allowed,
                      namespace_row, node_row, not_found, parse_field_selector, parse_label_selector,
                      strategic_merge_patch, table, unknown_fields, validate_meta)

# --- options -----------------------------------------------------------------------------

AUTHZ_MODES = {"AlwaysAllow": (1, 0), "AlwaysDeny": (1, 0), "ABAC": (1, 0), "Webhook": (1, 3),
               "RBAC": (1, 5), "Node": (1, 7)}


def validate(cfg: Config, fl: Parsed) -> dict:
    """The serving options, or a fatal exit with the real server's complaint."""
    v = cfg.v
    errors = []
    if not [s for s in fl["etcd-servers"] or [] if s.strip()]:
        errors.append("--etcd-servers must be specified")
    if v >= (1, 20) and (not fl["service-account-issuer"] or not fl["service-account-signing-key-file"]):
        if not fl["service-account-issuer"]:
            errors.append("service-account-issuer is a required flag")
        errors.append("--service-account-signing-key-file and --service-account-issuer are required flags")
    insecure = None
    if v < (1, 24):
        port = fl["insecure-port"] if fl.given("insecure-port") or not fl.given("port") else fl["port"]
        if v >= (1, 20):
            if not (fl.given("insecure-port") or fl.given("port")):
                port = 0  # 1.20 changed the default to 0
            if port != 0:
                errors.append(f"invalid port value {port}: only zero is allowed")
        addr = fl["insecure-bind-address"]
        if fl.given("address") and not fl.given("insecure-bind-address"):
            addr = fl["address"]
        if port:
            insecure = (addr, port)
    cidr = fl["service-cluster-ip-range"]
    if cidr:
        import ipaddress

        for item in cidr.split(","):
            try:
                ipaddress.ip_network(item.strip(), strict=False)
            except ValueError:
                errors.append(f'invalid argument "{cidr}" for "--service-cluster-ip-range" flag: '
                              f"invalid CIDR address: {item}")
    elif v < (1, 3):  # ~ later versions default to 10.0.0.0/24
        errors.append("No --service-cluster-ip-range specified")
    for mode in fl["authorization-mode"] or []:
        since = AUTHZ_MODES.get(mode)
        if since is None or v[:2] < since:
            errors.append(f'authorization-mode "{mode}" is not a valid mode')
    provider = fl["cloud-provider"] or ""
    if provider not in CLOUD_PROVIDERS or (CLOUD_PROVIDERS[provider] and v[:2] >= CLOUD_PROVIDERS[provider]):
        fatal(f'Cloud provider could not be initialized: could not init cloud provider "{provider}": '
              f'unknown cloud provider "{provider}"')
    for name in ("tls-cert-file", "tls-private-key-file", "client-ca-file"):
        if fl[name] and not os.path.isfile(fl[name]):
            errors.append(f"open {fl[name]}: no such file or directory")
    if bool(fl["tls-cert-file"]) != bool(fl["tls-private-key-file"]):
        errors.append("--tls-cert-file and --tls-private-key-file must be given together")
    if errors:
        common.error_exit(errors)
    secure = (fl["bind-address"], fl["secure-port"]) if fl["secure-port"] else None
    return {"insecure": insecure, "secure": secure, "authn": authn_config(cfg, fl)}


# --- authentication ----------------------------------------------------------------------------

ANONYMOUS_PATHS = {"/healthz", "/healthz/ping", "/version", "/livez", "/readyz"}
DISCOVERY_PATHS = {"/api", "/api/v1", "/apis", "/openapi/v2", "/openapi/v3", "/openapi/v3/api/v1", "/swaggerapi"}


@dataclass(frozen=True)
class User:
    name: str
    groups: tuple[str, ...] = ()

    def __str__(self) -> str:
        return f'user="{self.name}" groups={json.dumps(list(self.groups))}'


UNSECURED = User("system:unsecured")  # the insecure port: no authentication
NO_AUTHN = User("")  # the secure port with no authenticator configured


@dataclass(frozen=True)
class Authn:
    x509: bool  # --client-ca-file given
    anonymous: bool

    @property
    def enabled(self) -> bool:
        return self.x509 or self.anonymous


def authn_config(cfg: Config, fl: Parsed) -> Authn:
    modes = fl["authorization-mode"] or ["AlwaysAllow"]
    anonymous = cfg.v >= (1, 5) and bool(fl["anonymous-auth"])
    if anonymous and "AlwaysAllow" in modes:
        if fl.given("anonymous-auth"):
            warning("AnonymousAuth is not allowed with the AlwaysAllow authorizer. Resetting AnonymousAuth to false. "
                    "You should use a different authorizer")
        anonymous = False
    for name in ("token-auth-file", "basic-auth-file"):
        if fl[name]:
            warning(f"--{name}={fl[name]}: not emulated by the stand-in; a request with only a token or a "
                    "password counts as one without credentials")
    if [m for m in modes if m != "AlwaysAllow"]:
        warning(f"--authorization-mode={','.join(modes)}: not emulated; every authenticated request is allowed "
                "(AlwaysAllow), anonymous ones reach only health, version and discovery")
    return Authn(x509=bool(fl["client-ca-file"]), anonymous=anonymous)


def cert_user(cert: dict | None) -> User | None:
    """The x509 authenticator's CommonNameUserConversion: CN is the user, each O a group."""
    if not cert:
        return None
    cn, orgs = "", []
    for rdn in cert.get("subject") or ():
        for key, value in rdn:
            if key == "commonName":
                cn = value
            elif key == "organizationName":
                orgs.append(value)
    if not cn:
        return None
    return User(cn, tuple(orgs) + ("system:authenticated",))


UNAUTHORIZED = ApiError(401, "Unauthorized", "Unauthorized")


def forbidden(user: User, method: str, path: str, query: dict) -> ApiError:
    m = re.fullmatch(r"/api/v1/(?:watch/)?(?:namespaces/([^/]+)/)?([^/]+)(?:/([^/]+))?(?:/([^/]+))?", path)
    if not m:
        return ApiError(403, "Forbidden", f'forbidden: User "{user.name}" cannot {method.lower()} path "{path}"', {})
    ns, resource, name, sub = m.groups()
    verb = {"POST": "create", "PUT": "update", "PATCH": "patch"}.get(method)
    if verb is None:
        if method == "DELETE":
            verb = "delete" if name else "deletecollection"
        else:
            verb = "watch" if "/watch/" in path or query.get("watch") in ("true", "1") else ("get" if name else "list")
    scope = f'in the namespace "{ns}"' if ns else "at the cluster scope"
    what = f'{resource} "{name}"' if name else resource
    details = {"kind": resource, **({"name": name} if name else {})}
    return ApiError(403, "Forbidden", f'{what} is forbidden: User "{user.name}" cannot {verb} resource '
                    f'"{resource}{"/" + sub if sub else ""}" in API group "" {scope}', details)


# --- storage --------------------------------------------------------------------------------


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


def namespaces(version) -> list[dict]:
    names = ["default", "kube-system"] + (["kube-public"] if version >= (1, 6) else []) \
        + (["kube-node-lease"] if version >= (1, 14) else [])
    return [{"kind": "Namespace", "apiVersion": "v1",
             "metadata": {"name": n, "uid": str(uuid.uuid5(uuid.NAMESPACE_URL, "ns/" + n)),
                          "resourceVersion": "1", "creationTimestamp": START_TIME},
             "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}} for n in names]


START_TIME = common.rfc3339()

# --- discovery documents ------------------------------------------------------------------


def version_info(version: str) -> dict:
    major, minor, _ = common.parse_version(version)
    commit = uuid.uuid5(uuid.NAMESPACE_URL, "kubefab-standin/" + version).hex
    return {"major": str(major), "minor": str(minor), "gitVersion": version,
            "gitCommit": (commit + commit)[:40], "gitTreeState": "clean",
            "buildDate": "1970-01-01T00:00:00Z", "goVersion": "go1.x (kubefab stand-in)",
            "compiler": "gc", "platform": "linux/amd64"}


def api_resources() -> dict:
    verbs = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
    return {"kind": "APIResourceList", "groupVersion": "v1", "resources": [
        {"name": "namespaces", "singularName": "namespace", "namespaced": False, "kind": "Namespace",
         "verbs": ["get", "list"], "shortNames": ["ns"]},
        {"name": "nodes", "singularName": "node", "namespaced": False, "kind": "Node",
         "verbs": verbs, "shortNames": ["no"]},
        {"name": "nodes/status", "singularName": "", "namespaced": False, "kind": "Node",
         "verbs": ["get", "patch", "update"]},
        {"name": "pods", "singularName": "pod", "namespaced": True, "kind": "Pod",
         "verbs": ["get", "list", "watch"], "shortNames": ["po"], "categories": ["all"]},
        {"name": "events", "singularName": "event", "namespaced": True, "kind": "Event",
         "verbs": ["get", "list", "watch"], "shortNames": ["ev"]},
    ]}


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


# --- HTTP ---------------------------------------------------------------------------------------

ROOT_PATHS = ["/api", "/api/v1", "/apis", "/healthz", "/healthz/ping", "/version"]


class Server:
    def __init__(self, cfg: Config, fl: Parsed, etcd: Etcd):
        self.cfg, self.fl, self.etcd = cfg, fl, etcd
        self.v = cfg.v
        self.nodes = Nodes(etcd, fl["etcd-prefix"] or "/registry", self.v)
        self.secure_port = fl["secure-port"]
        self.advertise = fl["advertise-address"] or fl["bind-address"]
        self._etcd_ok = (0.0, True)

    def etcd_healthy(self) -> bool:
        checked, ok = self._etcd_ok
        if time.monotonic() - checked > 1.0:
            try:
                self.etcd.ping(timeout=2.0)
                ok = True
            except EtcdError:
                ok = False
            self._etcd_ok = (time.monotonic(), ok)
        return ok

    def root_paths(self) -> list[str]:
        paths = list(ROOT_PATHS)
        if self.v >= (1, 7):
            paths += ["/openapi/v3"]
        if self.v >= (1, 16):
            paths += ["/livez", "/readyz"]
        return sorted(paths)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    srv: Server  # set on the subclass made per server
    secure: bool = False  # the secure port (TLS) or the insecure one
    authn: Authn = Authn(False, False)

    # Go's server sends no Server header; BaseHTTPRequestHandler's would.
    def send_response(self, code, message=None):
        self.send_response_only(code, message)
        self.send_header("Date", self.date_time_string())

    def log_message(self, fmt, *args):  # requests are logged in _finish
        pass

    def do_GET(self):
        self._handle("GET")

    def do_HEAD(self):
        self._handle("HEAD")

    def do_POST(self):
        self._handle("POST")

    def do_PUT(self):
        self._handle("PUT")

    def do_PATCH(self):
        self._handle("PATCH")

    def do_DELETE(self):
        self._handle("DELETE")

    # --- plumbing ---

    def _handle(self, method: str):
        self._started, self._code = time.monotonic(), 0
        url = urlsplit(self.path)
        self.query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        self.method = method
        self.body = self._read_body()
        self.user = None
        try:
            self.user = self._authenticate(method, url.path)
            self._route(method, url.path)
        except ApiError as e:
            self._json(e.code, e.status())
        except EtcdError as e:
            common.error(f"etcd: {e}")
            self._json(500, ApiError(500, "InternalError", f"Internal error occurred: {e}",
                                     {"causes": [{"message": str(e)}]}).status())
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as e:  # noqa: BLE001 - a 500 like the real server's, and a log line
            common.error(f"{method} {self.path}: {type(e).__name__}: {e}")
            self._json(500, ApiError(500, "InternalError", f"Internal error occurred: {e}", {}).status())
        finally:
            ms = (time.monotonic() - self._started) * 1000
            info(f"{method} {self.path}: ({ms:.3f}ms) {self._code} "
                 f"[{self.headers.get('User-Agent', '')} {self.client_address[0]}:{self.client_address[1]}] "
                 f"{self._who()}")

    def _authenticate(self, method: str, path: str) -> User:
        """Who sent the request (see the module doc); ApiError 401/403 when refused."""
        if not self.secure:
            return UNSECURED
        if not self.authn.enabled:
            return NO_AUTHN
        peer = self.connection.getpeercert() if self.authn.x509 else None
        user = cert_user(peer)
        if user is not None:
            return user
        if not self.authn.anonymous:
            raise UNAUTHORIZED
        user = User("system:anonymous", ("system:unauthenticated",))
        path = path.rstrip("/") or "/"
        # RBAC's default roles: system:discovery (health, version, discovery) was bound to
        # unauthenticated users too before 1.14; from 1.14 they get system:public-info-viewer.
        allowed = path in ANONYMOUS_PATHS or (self.srv.v < (1, 14) and path in DISCOVERY_PATHS)
        if not allowed or method not in ("GET", "HEAD"):
            self.user = user
            raise forbidden(user, method, path, self.query)
        return user

    def _who(self) -> str:
        if self.user is None:
            return "unauthenticated (refused)" if self.secure else ""
        if self.user is UNSECURED:
            return "insecure port (no authentication)"
        if self.user is NO_AUTHN:
            return "secure port, no authenticator configured"
        return str(self.user)

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, code: int, body: bytes, ctype: str):
        self._code = code
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.method != "HEAD":
            self.wfile.write(body)

    def _json(self, code: int, obj):
        self._send(code, json.dumps(obj).encode() + b"\n", "application/json")

    def _text(self, code: int, text: str):
        self._send(code, text.encode(), "text/plain; charset=utf-8")

    def _not_found_path(self):
        if self.srv.v < (1, 6):  # ~ the v1.x index handler: 404 with the paths it serves
            self._json(404, {"paths": self.srv.root_paths()})
        else:
            self._json(404, NO_RESOURCE.status())

    def _read_object(self):
        ctype = (self.headers.get("Content-Type") or "application/json").split(";")[0].strip()
        try:
            if ctype in ("application/yaml", "application/apply-patch+yaml"):
                return common.load_yaml(self.body.decode())
            return json.loads(self.body or b"null")
        except (ValueError, UnicodeDecodeError) as e:
            raise bad_request(f"the object provided is unrecognized (must be of type Node): "
                              f"couldn't get version/kind; json parse error: {e}") from None

    def _table_version(self) -> str | None:
        for part in (self.headers.get("Accept") or "").split(","):
            params = dict(p.strip().split("=", 1) for p in part.split(";")[1:] if "=" in p)
            if params.get("as") == "Table" and params.get("g") == "meta.k8s.io" and params.get("v") in ("v1", "v1beta1"):
                return params["v"]
        return None

    # --- routes ---

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
                return self._json(200, api_resources())
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
        m = re.fullmatch(r"/api/v1/(?:namespaces/([^/]+)/)?(pods|events)(?:/([^/]+))?", path)
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
        if path == "/healthz/ping" or self.srv.v < (1, 10) or self.srv.etcd_healthy():  # ~ etcd check from 1.10
            return self._text(200, "ok")
        return self._text(500, "[+]ping ok\n[+]log ok\n[-]etcd failed: reason withheld\nhealthz check failed\n")

    def _empty(self, resource: str, name: str | None):
        """Pods and events: the stand-in runs none, so there never are any."""
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

    def _watch(self, match, source=None):
        """A watch by polling etcd (the real one uses etcd's watch): chunked JSON events."""
        source = source or self.srv.nodes.list
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
            if tv:
                obj = table(NODE_COLUMNS, [obj], node_row, obj["metadata"]["resourceVersion"], tv,
                            self.query.get("includeObject", "Metadata"))
            data = json.dumps({"type": kind, "object": obj}).encode() + b"\n"
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

        seen = {}  # name -> object, as last sent / known
        items, rev = source()
        since = int(start_rv) if start_rv.isdigit() else 0
        for obj in items:
            if not match(obj):
                continue
            seen[obj["metadata"]["name"]] = obj
            if since == 0 or int(obj["metadata"]["resourceVersion"]) > since:
                send("ADDED" if since == 0 else "MODIFIED", obj)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not common.stopping.is_set():
            time.sleep(0.25)
            items, rev = source()
            now = {}
            for obj in items:
                if match(obj):
                    now[obj["metadata"]["name"]] = obj
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


def _item(obj: dict) -> dict:
    return {k: x for k, x in obj.items() if k not in ("kind", "apiVersion")}


# --- listeners --------------------------------------------------------------------------------


def wildcard(addr: str) -> bool:
    return addr in ("0.0.0.0", "::", "")


def refuse_wildcard(addr: str) -> bool:
    return wildcard(addr) and os.environ.get("KUBEFAB_STANDIN_ALLOW_WILDCARD") != "1"


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, addr, handler):
        self.address_family = socket.AF_INET6 if ":" in addr[0] else socket.AF_INET
        super().__init__(addr, handler)


HANDSHAKE_TIMEOUT = 10.0


class _TLSServer(_HTTPServer):
    """HTTPS: each connection's handshake runs in its own thread (ThreadingMixIn calls
    finish_request there), so a slow or bad client never holds up the listener; a failed
    handshake is logged as Go's server logs it ("http: TLS handshake error from ...")."""

    def __init__(self, addr, handler, ctx: ssl.SSLContext):
        super().__init__(addr, handler)
        self.ctx = ctx

    def finish_request(self, request, client_address):
        peer = f"{client_address[0]}:{client_address[1]}"
        request.settimeout(HANDSHAKE_TIMEOUT)
        try:
            first = request.recv(1, socket.MSG_PEEK)
            if first and first != b"\x16":  # not a TLS handshake record: plain HTTP, as Go answers it
                request.sendall(b"HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n")
                warning(f"http: TLS handshake error from {peer}: client sent an HTTP request to an HTTPS server")
                return
            conn = self.ctx.wrap_socket(request, server_side=True, do_handshake_on_connect=False)
        except OSError as e:
            warning(f"http: TLS handshake error from {peer}: {_handshake_reason(e)}")
            return
        try:
            conn.do_handshake()
        except (ssl.SSLError, OSError) as e:
            warning(f"http: TLS handshake error from {peer}: {_handshake_reason(e)}")
            _close_gently(conn)
            return
        conn.settimeout(None)
        try:
            self.RequestHandlerClass(conn, client_address, self)
        finally:
            try:
                conn.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            conn.close()


def _close_gently(conn: ssl.SSLSocket) -> None:
    """After a failed handshake: FIN, not RST. A TLS 1.3 client sends its request right
    after its Finished; closing with those bytes unread makes the kernel reset the
    connection, and the client may never read the alert that says why."""
    raw = socket.socket(fileno=conn.detach())
    try:
        raw.shutdown(socket.SHUT_WR)
        raw.settimeout(1.0)
        while raw.recv(65536):
            pass
    except OSError:
        pass
    finally:
        raw.close()


def _handshake_reason(e: BaseException) -> str:
    if isinstance(e, ssl.SSLCertVerificationError):
        return (f"the client certificate is not signed by the --client-ca-file CA (or not valid for client "
                f"auth): {e.verify_message or e.reason}")
    if isinstance(e, ssl.SSLError):
        return (e.reason or str(e)).lower().replace("_", " ")
    if isinstance(e, (socket.timeout, TimeoutError)):
        return f"no handshake within {HANDSHAKE_TIMEOUT:g}s"
    return str(e)


TLS_VERSIONS = {"VersionTLS12": ssl.TLSVersion.TLSv1_2, "VersionTLS13": ssl.TLSVersion.TLSv1_3}


def server_context(cfg: Config, fl: Parsed, cert: tuple[str, str]) -> ssl.SSLContext:
    """The secure port's TLS: TLS 1.2+ (or --tls-min-version=VersionTLS13), the serving
    pair, and with --client-ca-file client certificates asked for and verified. The
    client CA is authentication config: a bad one is fatal, as for the real server."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    wanted = fl["tls-min-version"]
    if wanted in TLS_VERSIONS:
        ctx.minimum_version = TLS_VERSIONS[wanted]
    elif wanted:
        warning(f"--tls-min-version={wanted}: the stand-in serves TLS 1.2 and later")
    if fl["tls-cipher-suites"]:
        warning("--tls-cipher-suites: not emulated (Python's default suites are used)")
    ctx.set_alpn_protocols(["http/1.1"])
    ca = fl["client-ca-file"]
    if ca:
        try:
            ctx.load_verify_locations(cafile=ca)
        except (OSError, ssl.SSLError) as e:
            fatal(f"Invalid Authentication Config: unable to load client CA file {ca}: "
                  f"{(getattr(e, 'reason', None) or str(e)).lower().replace('_', ' ')}")
        ctx.verify_mode = ssl.CERT_OPTIONAL
    ctx.load_cert_chain(*cert)  # ssl.SSLError/OSError: the caller decides
    return ctx


def self_signed(cert_dir: str, host: str) -> tuple[str, str] | None:
    """apiserver.crt/.key in cert_dir (made with openssl when missing), as the real
    server generates its own pair; None when openssl is not there."""
    crt, key = os.path.join(cert_dir, "apiserver.crt"), os.path.join(cert_dir, "apiserver.key")
    if os.path.isfile(crt) and os.path.isfile(key):
        return crt, key
    openssl = shutil.which("openssl")
    if not openssl:
        return None
    try:
        os.makedirs(cert_dir, exist_ok=True)
        san = f"IP:{host}" if re.fullmatch(r"[\d.]+|[0-9a-fA-F:]+", host) else f"DNS:{host}"
        subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "365",
                        "-keyout", key, "-out", crt, "-subj", f"/CN={host}@{int(time.time())}",
                        "-addext", f"subjectAltName={san},DNS:localhost,IP:127.0.0.1"],
                       check=True, capture_output=True, timeout=60)
        os.chmod(key, 0o600)
        return crt, key
    except (OSError, subprocess.SubprocessError) as e:
        warning(f"could not generate a self-signed certificate in {cert_dir}: {e}")
        return None


def listen(srv: Server, fl: Parsed, opts: dict) -> list:
    """Bind the listeners; returns (server, thread) objects to stop."""
    started = []

    def handler_class(secure=False):
        return type("BoundHandler", (Handler,), {"srv": srv, "secure": secure, "authn": opts["authn"]})

    essential_insecure = opts["insecure"] is not None
    # The secure port is essential without an insecure one, and whenever TLS is configured
    # (--tls-cert-file: the port the nodes use); otherwise a failure there is a warning.
    essential_secure = not essential_insecure or bool(fl["tls-cert-file"])
    if opts["insecure"]:
        addr, port = opts["insecure"]
        if refuse_wildcard(addr):
            fatal(f"refusing to serve the insecure port on {addr}:{port}: the kubefab lab allows only "
                  "127.0.0.0/8 binds (set --insecure-bind-address/--address to the host's 127.0.0.N)")
        try:
            httpd = _HTTPServer((addr, port), handler_class())
        except OSError as e:
            fatal(f"Unable to listen for insecure ({e}) on {addr}:{port}")
        info(f"Serving insecurely on {addr}:{port}")
        started.append(httpd)
    if opts["secure"]:
        addr, port = opts["secure"]
        secure = _listen_secure(srv, fl, opts["authn"], addr, port, handler_class(secure=True))
        if isinstance(secure, str):
            if essential_secure:
                fatal(secure)
            warning(secure + "; serving the insecure port only")
        else:
            started.append(secure)
    for s in started:
        threading.Thread(target=s.serve_forever, daemon=True, name=f"serve-{id(s)}").start()
    return started


def _listen_secure(srv: Server, fl: Parsed, authn: Authn, addr: str, port: int, handler):
    """The secure port's listener, or why there is none (a message)."""
    what = f"secure port {addr}:{port}"
    if refuse_wildcard(addr):
        return (f"not binding the {what}: the kubefab lab allows only 127.0.0.0/8 binds "
                "(set --bind-address to the host's 127.0.0.N)")
    if fl["tls-cert-file"]:
        cert = (fl["tls-cert-file"], fl["tls-private-key-file"])
    else:
        cert = self_signed(fl["cert-dir"] or "/var/run/kubernetes",
                           srv.advertise if not wildcard(srv.advertise) else addr)
    try:
        if cert is None:
            sock = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((addr, port))
            sock.listen(16)
            warning(f"no TLS certificate (no --tls-cert-file, no openssl): the {what} accepts connections "
                    "and closes them")
            return _Closer(sock)
        try:
            ctx = server_context(srv.cfg, fl, cert)
        except (OSError, ssl.SSLError) as e:
            return f"unable to load server certificate: {cert[0]}, {cert[1]}: {e}"
        httpd = _TLSServer((addr, port), handler, ctx)
    except OSError as e:
        return f"Unable to listen for secure ({e}) on {addr}:{port}"
    how = ("client certificates verified against " + fl["client-ca-file"] if authn.x509 else
           "no client certificates asked for") + (", anonymous allowed" if authn.anonymous else "")
    info(f"Serving securely on {addr}:{port} (certificate {cert[0]}; {how})")
    return httpd


class _Closer:
    """A TCP listener that accepts and closes: the secure port without a certificate."""

    def __init__(self, sock):
        self.sock, self._stop = sock, False

    def serve_forever(self):
        self.sock.settimeout(0.5)
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
                conn.close()
            except socket.timeout:
                continue
            except OSError:
                return

    def shutdown(self):
        self._stop = True

    def server_close(self):
        self.sock.close()


# --- main ---------------------------------------------------------------------------------------


def main(cfg: Config, fl: Parsed) -> int:
    opts = validate(cfg, fl)
    if fl["cloud-provider"]:
        warning(f"--cloud-provider={fl['cloud-provider']}: accepted, not acted on by the stand-in")
    etcd = Etcd([s for s in fl["etcd-servers"] if s.strip()], fl["etcd-cafile"], fl["etcd-certfile"],
                fl["etcd-keyfile"])
    wait = common.env_float("KUBEFAB_STANDIN_ETCD_WAIT", 5.0)
    deadline = time.monotonic() + wait
    while True:
        try:
            used = etcd.ping(timeout=2.0)
            break
        except EtcdError as e:
            if time.monotonic() >= deadline:
                fatal(f"Unable to reach any etcd server ({', '.join(etcd.servers)}) after {wait:g}s: {e}")
            common.sleep(0.5)
    info(f"etcd: using {used} (v3 API), keys under {(fl['etcd-prefix'] or '/registry').rstrip('/')}/minions/")
    srv = Server(cfg, fl, etcd)
    servers = listen(srv, fl, opts)
    info(f"kube-apiserver {cfg.version} (kubefab stand-in) ready")
    try:
        while True:
            time.sleep(3600)
    finally:
        for s in servers:
            s.shutdown()
            s.server_close()

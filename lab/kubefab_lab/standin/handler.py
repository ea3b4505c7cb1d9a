"""The apiserver's HTTP side: `Server` (what the handler serves from) and `Handler`,
one request's plumbing: authentication, the body, the answer and its log line, errors
as metav1 Status. What each path answers is in `routes` and `node_routes`.

`Accept: ...;as=Table;g=meta.k8s.io;v=v1|v1beta1` is answered with a Table (columns
as the real node printer's) for every version, so `kubectl get nodes` shows
NAME/STATUS/ROLES/AGE/VERSION. (Servers before 1.10 answered plain lists, and a
current kubectl then prints only NAME and AGE.)
"""
from __future__ import annotations

import json
import time
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

from . import authz, common
from .authn import (ANONYMOUS_PATHS, DISCOVERY_PATHS, NO_AUTHN, UNAUTHORIZED, UNSECURED, Authn, User, cert_user,
                    forbidden)
from .common import Config, info
from .etcd import Etcd, EtcdError
from .flags import Parsed
from .miniyaml import load_yaml
from .modern_routes import ModernRoutes
from .node_routes import NodeRoutes
from .pod_routes import PodRoutes, Pods
from .api_routes import ApiRoutes
from .objects import NO_RESOURCE, ApiError, bad_request
from .routes import Routes
from .storage import Nodes

ROOT_PATHS = ["/api", "/api/v1", "/apis", "/healthz", "/healthz/ping", "/version"]


class Server:
    def __init__(self, cfg: Config, fl: Parsed, etcd: Etcd, transformer=None):
        self.cfg, self.fl, self.etcd = cfg, fl, etcd
        self.v = cfg.v
        self.nodes = Nodes(etcd, fl["etcd-prefix"] or "/registry", self.v)
        self.pods = Pods(etcd, fl["etcd-prefix"] or "/registry", self.v)
        self.secure_port = fl["secure-port"]
        self.advertise = fl["advertise-address"] or fl["bind-address"]
        self._etcd_ok = (0.0, True)
        # --shutdown-delay-duration: set once SIGTERM came; /readyz fails while it still serves
        self.shutting_down = False
        # Today's server (1.35+) enforces what its flags ask for: Node/RBAC
        # authorization (`authz`) and the NodeRestriction admission plugin.
        self.modern = self.v >= (1, 35)
        modes = set(fl["authorization-mode"] or [])
        self.authorize = self.modern and bool(modes & {"Node", "RBAC"})
        self.node_restriction = self.modern and "NodeRestriction" in (fl["enable-admission-plugins"] or [])
        if self.modern:  # the generic machinery: every resource of `registry` in etcd
            from .clusterip import Allocator
            from .rbac import Rbac
            from .registry import RESOURCES
            from .store import Store

            self.store = Store(etcd, fl["etcd-prefix"] or "/registry", transformer)
            self.resources = {r.plural: r for r in RESOURCES}
            self.clusterips = Allocator(etcd, fl["etcd-prefix"], fl["service-cluster-ip-range"])
            self.rbac = Rbac(self.store, self.resources)
            from .satokens import key_from_file

            self.sa_key = key_from_file(fl["service-account-signing-key-file"])
            from .requestheader import RequestHeader

            self.requestheader = RequestHeader(fl)

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


class Handler(ModernRoutes, ApiRoutes, Routes, NodeRoutes, PodRoutes, BaseHTTPRequestHandler):
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
            path = url.path.rstrip("/") or "/"
            if self.srv.authorize and self.user is not None:
                a = authz.attributes(method, path, self.query)
                allowed, reason = authz.authorize(self.srv.rbac, self.user, a)
                if not allowed:
                    raise authz.forbidden(self.user, a, reason)
            if not (self.srv.modern and self._modern_route(method, path)):
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
        proxied = self.srv.requestheader.user(peer, self.headers) if self.srv.modern else None
        if proxied is not None:
            return User(*proxied)
        if self.srv.modern and self.srv.requestheader.proxy_only(peer):
            peer = None
        user = cert_user(peer)
        if user is not None:
            return user
        bearer = (self.headers.get("Authorization") or "")
        if self.srv.modern and bearer.startswith("Bearer ") and self.srv.sa_key:
            from .satokens import verify

            who = verify(self.srv.sa_key, bearer[7:].strip())
            if who is None or not all(who):
                raise UNAUTHORIZED
            return User(f"system:serviceaccount:{who[0]}:{who[1]}",
                        ("system:serviceaccounts", f"system:serviceaccounts:{who[0]}", "system:authenticated"))
        if not self.authn.anonymous:
            raise UNAUTHORIZED
        user = User("system:anonymous", ("system:unauthenticated",))
        if self.srv.authorize:  # today's server: RBAC decides (system:public-info-viewer)
            return user
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
        if ctype == "application/vnd.kubernetes.protobuf" and self.srv.modern:
            # typed clients send protobuf: the stand-in reads it for the kinds in
            # protobuf.SCHEMAS (CSRs: kubectl certificate approve/deny) and refuses the rest
            from . import protobuf

            try:
                obj = protobuf.decode_object(self.body)
            except (ValueError, IndexError, UnicodeDecodeError) as e:
                raise bad_request(f"the object provided is unrecognized: {e}") from None
            if obj is None:
                raise ApiError(415, "UnsupportedMediaType", "the body of the request was in an unknown format - "
                               "accepted media types include: application/json, application/yaml (the kubefab "
                               "stand-in reads protobuf only for CertificateSigningRequests)", {})
            return obj
        try:
            if ctype in ("application/yaml", "application/apply-patch+yaml"):
                return load_yaml(self.body.decode())
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

"""The stand-in kube-apiserver: nodes over the v1 API (read-only namespaces, and
always-empty pods and events so `kubectl describe node` works),
stored in etcd, answering discovery, /healthz and /version like the real server of
the configured version, so that the real kubectl and curl work against it.

This module starts it: the options from the flags, etcd, the listeners. The rest is
`handler` (HTTP, with `routes` and `node_routes`), `storage` (nodes in etcd),
`documents` (version, discovery, OpenAPI), `authn` (who a request is from) and
`servers` (the socket servers and TLS).

Serving:
- the insecure port (`--insecure-bind-address`/`--address` : `--insecure-port`/`--port`,
  default 127.0.0.1:8080) for versions before 1.20; from 1.20 it must be 0, and from
  1.24 its flags are gone.
- the secure port (`--bind-address`:`--secure-port`, default 0.0.0.0:6443): HTTPS (TLS
  1.2+) with `--tls-cert-file`/`--tls-private-key-file`, or a self-signed pair written to
  `--cert-dir` with the `openssl` program (as the real server generates one). Without
  either it is a TCP listener that accepts and closes. The same handler serves both
  ports; the TLS handshake runs in the connection's own thread.
- No wildcard binds unless KUBEFAB_STANDIN_ALLOW_WILDCARD=1: the lab's hosts share one
  network namespace and every listener must be on a 127.0.0.N (TESTBED.md). The port
  the server cannot do without (insecure if enabled, else secure; the secure one too
  when `--tls-cert-file` is given) is fatal: refused, not bindable, or (secure) a pair
  that cannot be loaded. A secure port beside an insecure one, with no TLS configured,
  is skipped with a warning (v1.0 also only retried it).
"""
from __future__ import annotations

import os
import socket
import ssl
import threading
import time

from . import common
from .authn import Authn, authn_config
from .common import Config, fatal, info, warning
from .flags import parse_duration
from .etcd import Etcd, EtcdError
from .flags import CLOUD_PROVIDERS, Parsed
from .handler import Handler, Server
from .servers import _Closer, _HTTPServer, _TLSServer, self_signed, server_context

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


# --- listeners --------------------------------------------------------------------------------


def wildcard(addr: str) -> bool:
    return addr in ("0.0.0.0", "::", "")


def refuse_wildcard(addr: str) -> bool:
    return wildcard(addr) and os.environ.get("KUBEFAB_STANDIN_ALLOW_WILDCARD") != "1"


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
            if srv.modern:
                srv.requestheader.load_into(ctx)
        except (OSError, ssl.SSLError) as e:
            return f"unable to load server certificate: {cert[0]}, {cert[1]}: {e}"
        httpd = _TLSServer((addr, port), handler, ctx)
    except OSError as e:
        return f"Unable to listen for secure ({e}) on {addr}:{port}"
    how = ("client certificates verified against " + fl["client-ca-file"] if authn.x509 else
           "no client certificates asked for") + (", anonymous allowed" if authn.anonymous else "")
    info(f"Serving securely on {addr}:{port} (certificate {cert[0]}; {how})")
    return httpd


# --- main ---------------------------------------------------------------------------------------


def main(cfg: Config, fl: Parsed) -> int:
    opts = validate(cfg, fl)
    transformer = None
    if cfg.v >= (1, 35):  # files today's server reads before it serves
        from . import configfiles, keyfiles

        keyfiles.check_service_account_keys(fl)
        if fl["encryption-provider-config"]:
            from . import encryption

            transformer = encryption.load(configfiles.load("encryption", fl["encryption-provider-config"]))
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
    srv = Server(cfg, fl, etcd, transformer)
    reconciler = None
    if srv.modern:
        from . import bootstrap

        bootstrap.run_once(srv)
        address = fl["advertise-address"] or (fl["bind-address"] if not wildcard(fl["bind-address"]) else "")
        if address:
            reconciler = bootstrap.EndpointReconciler(srv, address)
            reconciler.start()
    servers = listen(srv, fl, opts)
    info(f"kube-apiserver {cfg.version} (kubefab stand-in) ready")
    delay = parse_duration(fl["shutdown-delay-duration"]) if fl["shutdown-delay-duration"] else 0.0
    try:
        while True:
            time.sleep(3600)
    finally:
        if delay > 0:  # the generic server's: keep serving, /readyz failing, so load balancers drain it
            srv.shutting_down = True
            info(f"shutdown delay {delay:g}s: still serving, /readyz failing")
            time.sleep(delay)
        if reconciler is not None:
            reconciler.stop()
        for s in servers:
            s.shutdown()
            s.server_close()

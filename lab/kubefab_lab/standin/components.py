"""The stand-in kubelet, kube-proxy, kube-scheduler and kube-controller-manager.

- kube-scheduler, kube-controller-manager: find the apiserver (`--master`, host:port
  or URL, over `--kubeconfig`'s server), wait for its /healthz (exit 1 after
  KUBEFAB_STANDIN_STARTUP_TIMEOUT, 10 s), then check it every KUBEFAB_STANDIN_POLL
  (2 s) and exit 1 when it has been gone for KUBEFAB_STANDIN_MASTER_GRACE (30 s), as a
  leader-elected real one exits when it cannot renew its lease. They serve their
  insecure healthz port (`--address`:`--port`, 10251/10252) before 1.24, best effort.
  The controller manager also does the node controller's visible part: a node whose
  kubelet has not posted status for `--node-monitor-grace-period` (40 s) gets
  Ready=Unknown ("Kubelet stopped posting node status.").
- kube-proxy: the same wait (30 s), then keeps running, logging when the master is away.
- kubelet: registers its Node (unless `--register-node=false`), then posts node status
  with a Ready condition every KUBEFAB_STANDIN_HEARTBEAT (default: 5 s, or
  `--node-status-update-frequency` when given), retrying forever while the apiserver is
  away; serves /healthz on `--address`:`--port`. No pods are run.

TLS (all four): the kubeconfig's current context gives the credentials
(certificate-authority, client-certificate, client-key, or their `-data` forms); an
https server is verified against the CA with its host name (IP SAN) checked, and the
client certificate is presented. Before 1.8 the kubelet takes the server from
`--api-servers` and only the credentials from `--kubeconfig`; `--master` overrides the
kubeconfig's server for the others. What is used is logged at start; a TLS failure (the
server's certificate not trusted, the client certificate refused, a 401, a credentials
file that cannot be read) is logged saying which side refused what, and retried.
"""
from __future__ import annotations

import json
import os
import socket
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from . import client, common, miniyaml
from .nodemonitor import node_monitor
from .client import CredentialsError, Endpoint, describe_failure, probe, server_url, status_message, unauthorized_hint
from .common import Config, error, fatal, info, no_delay, warning
from .kubeconfig import KubeconfigError, load_kubeconfig
from .flags import CLOUD_PROVIDERS, Parsed, parse_duration

# --- shared ---------------------------------------------------------------------------------


def master_endpoint(cfg: Config, fl: Parsed, conf: dict | None = None) -> Endpoint:
    """conf: the program's config file (1.35+), whose clientConnection.kubeconfig
    stands in for --kubeconfig."""
    ep = None
    kubeconfig = fl["kubeconfig"] or ((conf or {}).get("clientConnection") or {}).get("kubeconfig")
    if kubeconfig:
        try:
            ep = load_kubeconfig(kubeconfig)
        except KubeconfigError as e:
            fatal(f"invalid configuration: {e}")
    if fl["master"]:
        if ep is None:
            ep = Endpoint(server_url(fl["master"]))
        else:
            ep = ep.with_server(server_url(fl["master"]))  # --master overrides the kubeconfig's server
    if ep is None:
        if cfg.v < (1, 10):  # ~ old clients fell back to localhost:8080
            warning("Neither --kubeconfig nor --master was specified. Using default API client. This might not work.")
            ep = Endpoint("http://localhost:8080")
        else:
            fatal("invalid configuration: no configuration has been provided, try setting KUBERNETES_MASTER "
                  "environment variable")
    describe_credentials(ep)
    return ep


def describe_credentials(ep: Endpoint) -> None:
    """Say which TLS files are used, and load them now: a problem is logged at once
    (and again on every retry, see probe), not found out by a silent timeout."""
    if not ep.https:
        return
    info(f"TLS to {ep.server}: server verified against {ep.ca_text()}; presenting {ep.cert_text()}")
    try:
        ep.ssl_context()
    except CredentialsError as e:
        error(f"TLS credentials for {ep.server} cannot be used ({ep.source or 'flags'}): {e}; will retry")


def wait_for_master(ep: Endpoint, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    info(f"waiting for the apiserver at {ep.server} (/healthz)")
    said = None
    while True:
        why = probe(ep)
        if why is None:
            break
        if why != said:  # each new reason once, as it happens
            warning(f"the apiserver at {ep.server} is not healthy yet: {why}")
            said = why
        if time.monotonic() >= deadline:
            fatal(f"the apiserver at {ep.server} did not answer /healthz within {timeout:g}s: {why}")
        common.sleep(0.5)
    info(f"the apiserver at {ep.server} is healthy")


class _Health(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    extra: dict = {}

    def send_response(self, code, message=None):
        self.send_response_only(code, message)
        self.send_header("Date", self.date_time_string())

    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        path = self.path.split("?")[0].rstrip("/") or "/"
        if path == "/healthz":
            body, ctype, code = b"ok", "text/plain; charset=utf-8", 200
        elif path in self.extra:
            body, ctype, code = json.dumps(self.extra[path]).encode(), "application/json", 200
        else:
            body, ctype, code = b"404 page not found\n", "text/plain; charset=utf-8", 404
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, handler):
        self.address_family = socket.AF_INET6 if ":" in addr[0] else socket.AF_INET
        super().__init__(addr, handler)

    def get_request(self):
        sock, peer = super().get_request()
        return no_delay(sock), peer


def serve_health(addr: str, port: int, what: str, essential: bool, extra: dict | None = None):
    """An HTTP /healthz on addr:port in a thread. A wildcard address is refused (the lab
    allows only 127.0.0.0/8 binds; KUBEFAB_STANDIN_ALLOW_WILDCARD=1 lifts that)."""
    if addr in ("0.0.0.0", "::", "") and os.environ.get("KUBEFAB_STANDIN_ALLOW_WILDCARD") != "1":
        msg = (f"refusing to bind {what} on {addr}:{port}: the kubefab lab allows only 127.0.0.0/8 binds "
               "(pass the host's 127.0.0.N)")
        fatal(msg) if essential else warning(msg)
        return None
    try:
        httpd = _Server((addr, port), type("H", (_Health,), {"extra": extra or {}}))
    except OSError as e:
        msg = f"failed to listen on {addr}:{port} ({what}): {e}"
        fatal(msg) if essential else warning(msg)
        return None
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    info(f"serving {what} on {addr}:{port}")
    return httpd


def check_cloud_provider(cfg: Config, fl: Parsed) -> None:
    provider = fl["cloud-provider"] or ""
    if provider not in CLOUD_PROVIDERS or (CLOUD_PROVIDERS[provider] and cfg.v[:2] >= CLOUD_PROVIDERS[provider]):
        fatal(f'Cloud provider could not be initialized: could not init cloud provider "{provider}": '
              f'unknown cloud provider "{provider}"')


# --- kube-scheduler / kube-controller-manager ---------------------------------------------------


def modern_config(cfg: Config, fl: Parsed, program: str) -> dict | None:
    """The --config file of kube-scheduler / kube-proxy 1.35+, read as they read it."""
    if cfg.v < (1, 35) or not fl["config"]:
        return None
    from . import configfiles

    return configfiles.load(program, fl["config"])


def controller(cfg: Config, fl: Parsed, program: str) -> int:
    if program == "kube-controller-manager":
        check_cloud_provider(cfg, fl)
    conf = modern_config(cfg, fl, program)
    ep = master_endpoint(cfg, fl, conf)
    if cfg.v < (1, 24) and fl["port"]:
        serve_health(fl["address"], fl["port"], "the insecure healthz port", essential=False)
    wait_for_master(ep, common.env_float("KUBEFAB_STANDIN_STARTUP_TIMEOUT", 10.0))
    if cfg.v >= (1, 35):
        from . import control_plane

        return control_plane.run(cfg, fl, program, ep, conf)
    poll = common.env_float("KUBEFAB_STANDIN_POLL", 2.0)
    grace = common.env_float("KUBEFAB_STANDIN_MASTER_GRACE", 30.0)
    monitor = parse_duration(fl["node-monitor-grace-period"]) if program == "kube-controller-manager" else None
    info(f"{program} {cfg.version} (kubefab stand-in) running")
    last_ok = time.monotonic()
    while True:
        common.sleep(poll)
        why = probe(ep)
        if why is None:
            last_ok = time.monotonic()
            if monitor:
                try:
                    node_monitor(ep, monitor)
                except (OSError, ValueError) as e:
                    warning(f"node controller: {e}")
        elif time.monotonic() - last_ok > grace:
            fatal(f"lost the apiserver at {ep.server} for more than {grace:g}s ({why}): leaderelection lost")
        else:
            warning(f"the apiserver at {ep.server} does not answer /healthz: {why}")


# --- kube-proxy --------------------------------------------------------------------------------


def proxy(cfg: Config, fl: Parsed) -> int:
    ep = master_endpoint(cfg, fl, modern_config(cfg, fl, "kube-proxy"))
    wait_for_master(ep, common.env_float("KUBEFAB_STANDIN_PROXY_STARTUP_TIMEOUT", 30.0))
    info(f"kube-proxy {cfg.version} (kubefab stand-in) running; no proxy rules are written")
    poll = common.env_float("KUBEFAB_STANDIN_POLL", 2.0)
    said = None
    while True:
        common.sleep(poll)
        why = probe(ep)
        if why != said:
            if why is None:
                info(f"the apiserver at {ep.server} answers again")
            else:
                warning(f"the apiserver at {ep.server} does not answer: {why}")
            said = why


# --- kubelet -------------------------------------------------------------------------------------

KUBELET_LABELS = sorted([
    "beta.kubernetes.io/arch", "beta.kubernetes.io/instance-type", "beta.kubernetes.io/os",
    "failure-domain.beta.kubernetes.io/region", "failure-domain.beta.kubernetes.io/zone",
    "kubernetes.io/arch", "kubernetes.io/hostname", "kubernetes.io/os", "node.kubernetes.io/instance-type",
    "topology.kubernetes.io/region", "topology.kubernetes.io/zone"])
KUBELET_LABEL_NAMESPACES = ("kubelet.kubernetes.io", "node.kubernetes.io")


def _restricted(key: str) -> bool:
    ns = key.split("/", 1)[0] if "/" in key else ""
    if not ns:
        return False
    in_k8s = any(ns == d or ns.endswith("." + d) for d in ("kubernetes.io", "k8s.io"))
    if not in_k8s or key in KUBELET_LABELS:
        return False
    return not any(ns == d or ns.endswith("." + d) for d in KUBELET_LABEL_NAMESPACES)


def _read(path: str, default: str = "") -> str:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read().strip()
    except OSError:
        return default


def _os_image() -> str:
    for line in _read("/etc/os-release").splitlines():
        if line.startswith("PRETTY_NAME="):
            return line.split("=", 1)[1].strip().strip('"')
    return "Linux"


def _mem_ki() -> str:
    for line in _read("/proc/meminfo").splitlines():
        if line.startswith("MemTotal:"):
            return line.split()[1] + "Ki"
    return "0Ki"


class Kubelet:
    def __init__(self, cfg: Config, fl: Parsed):
        self.cfg, self.fl, self.v = cfg, fl, cfg.v
        self.conf = self._config_file()
        self.name = (fl["hostname-override"] or socket.gethostname()).strip().lower()
        self.register = fl["register-node"] if fl.given("register-node") or "registerNode" not in self.conf \
            else bool(self.conf["registerNode"])
        self.labels = dict(fl["node-labels"] or {})
        if self.v >= (1, 16):
            bad = sorted(k for k in self.labels if _restricted(k))
            if bad:
                common.error_exit([
                    "failed to validate kubelet flags: unknown 'kubernetes.io' or 'k8s.io' labels specified with "
                    f"--node-labels: [{' '.join(bad)}]\n--node-labels in the 'kubernetes.io' namespace must begin "
                    f"with an allowed prefix ({', '.join(KUBELET_LABEL_NAMESPACES)}) or be in the specifically "
                    f"allowed set ({', '.join(KUBELET_LABELS)})"])
        self.address = fl["address"] if fl.given("address") or "address" not in self.conf else str(self.conf["address"])
        self.port = fl["port"] if fl.given("port") or "port" not in self.conf else int(self.conf["port"])
        self.endpoints = self._endpoints()
        self.ep = self.failed_ep = self.endpoints[0] if self.endpoints else None
        if fl.given("node-status-update-frequency"):
            default_beat = parse_duration(fl["node-status-update-frequency"])
        elif "nodeStatusUpdateFrequency" in self.conf:
            default_beat = parse_duration(str(self.conf["nodeStatusUpdateFrequency"]))
        else:
            default_beat = 5.0
        self.heartbeat = common.env_float("KUBEFAB_STANDIN_HEARTBEAT", default_beat)
        self.transition = common.rfc3339()

    def _config_file(self) -> dict:
        path = self.fl["config"]
        if not path:
            return {}
        if self.v >= (1, 35):
            from . import configfiles

            return configfiles.load("kubelet", path)
        if self.v < (1, 6):  # the pod manifest path (file or directory), like --pod-manifest-path
            if not os.path.exists(path):
                warning(f"unable to read config path \"{path}\": path does not exist, ignoring")
            return {}
        base = (f"failed to load kubelet config file, path: {path}, error: failed to load Kubelet config file "
                f"{path}, error failed to read kubelet config file \"{path}\", error: ")
        if os.path.isdir(path):
            common.error_exit([base + f"read {path}: is a directory"])
        try:
            with open(path, encoding="utf-8") as f:
                doc = miniyaml.load_yaml(f.read())
        except OSError as e:
            common.error_exit([base + f"open {path}: {(e.strerror or str(e)).lower()}"])
        except ValueError as e:
            common.error_exit([f"failed to load kubelet config file, path: {path}, error: {e}"])
        if not isinstance(doc, dict) or doc.get("kind") != "KubeletConfiguration":
            kind = doc.get("kind") if isinstance(doc, dict) else None
            common.error_exit([f"failed to load kubelet config file, path: {path}, error: no kind "
                               f"\"{kind or ''}\" is registered for version \"{(doc or {}).get('apiVersion', '') if isinstance(doc, dict) else ''}\""])
        return doc

    def _endpoints(self) -> list[Endpoint]:
        """Before 1.8 `--api-servers` names the servers and `--kubeconfig` (given, or the
        default /var/lib/kubelet/kubeconfig when it exists) only the credentials; from
        1.8 the kubeconfig says both."""
        fl = self.fl
        if self.v < (1, 8):
            servers = [s for s in fl["api-servers"] or [] if s.strip()]
            creds = None
            if fl["kubeconfig"] and (fl.given("kubeconfig") or os.path.isfile(fl["kubeconfig"])):
                creds = self._kubeconfig(fl["kubeconfig"])
            if servers:
                return [creds.with_server(server_url(s)) if creds else Endpoint(server_url(s)) for s in servers]
            if self.v >= (1, 4) and fl["require-kubeconfig"] and creds:
                return [creds]
            return []
        if fl.given("kubeconfig") and fl["kubeconfig"]:
            return [self._kubeconfig(fl["kubeconfig"])]
        return []

    def _kubeconfig(self, path: str) -> Endpoint:
        try:
            return load_kubeconfig(path)
        except KubeconfigError as e:
            common.error_exit([f"failed to run Kubelet: invalid kubeconfig: {e}"])

    # --- the node ---

    def _internal_ip(self) -> str | None:
        if self.fl["node-ip"]:
            return self.fl["node-ip"]
        try:
            return socket.gethostbyname(self.name)
        except OSError:
            pass
        if self.address not in ("0.0.0.0", "::", ""):
            return self.address
        return None

    def conditions(self, previous: list[dict]) -> list[dict]:
        now = common.rfc3339()
        wanted = [("Ready", "True", "KubeletReady", "kubelet is posting ready status")]
        if self.v >= (1, 4):
            wanted += [("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
                       ("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure")]
        if self.v >= (1, 12):
            wanted += [("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available")]
        out = []
        for kind, status, reason, message in wanted:
            old = next((c for c in previous if c.get("type") == kind), None)
            since = old["lastTransitionTime"] if old and old.get("status") == status and old.get(
                "lastTransitionTime") else now
            out.append({"type": kind, "status": status, "lastHeartbeatTime": now, "lastTransitionTime": since,
                        "reason": reason, "message": message})
        return out

    def status(self, previous: dict | None) -> dict:
        prev_conditions = ((previous or {}).get("status") or {}).get("conditions") or []
        addresses = []
        ip = self._internal_ip()
        if ip:
            addresses.append({"type": "InternalIP", "address": ip})
        addresses.append({"type": "Hostname", "address": self.name})
        runtime = "docker://kubefab-standin" if self.v < (1, 24) else "containerd://kubefab-standin"
        pods = str(self.fl["max-pods"] if self.fl.given("max-pods") else (40 if self.v < (1, 2) else 110))
        capacity = {"cpu": str(os.cpu_count() or 1), "memory": _mem_ki(), "pods": pods}
        out = {"capacity": capacity}
        if self.v >= (1, 2):
            out["allocatable"] = dict(capacity)
        out.update({
            "conditions": self.conditions(prev_conditions),
            "addresses": addresses,
            "daemonEndpoints": {"kubeletEndpoint": {"Port": self.port}},
            "nodeInfo": {"machineID": _read("/etc/machine-id"), "systemUUID": _read("/etc/machine-id").upper(),
                         "bootID": _read("/proc/sys/kernel/random/boot_id"), "kernelVersion": os.uname().release,
                         "osImage": _os_image(), "containerRuntimeVersion": runtime,
                         "kubeletVersion": self.cfg.version, "kubeProxyVersion": self.cfg.version,
                         "operatingSystem": "linux", "architecture": "amd64"},
        })
        return out

    def node(self) -> dict:
        labels = {"kubernetes.io/hostname": self.name}
        if self.v >= (1, 3):
            labels.update({"beta.kubernetes.io/os": "linux", "beta.kubernetes.io/arch": "amd64"})
        if self.v >= (1, 14):
            labels.update({"kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64"})
        labels.update(self.labels)
        spec = {}
        if self.v < (1, 11):  # ~ spec.externalID, deprecated later
            spec["externalID"] = self.name
        taints = []
        for item in self.fl["register-with-taints"] or []:
            kv, _, effect = item.partition(":")
            key, _, value = kv.partition("=")
            taints.append({k: x for k, x in (("key", key), ("value", value), ("effect", effect)) if x})
        if taints:
            spec["taints"] = taints
        meta = {"name": self.name, "labels": labels}
        if self.v >= (1, 35):  # pkg/kubelet/kubelet_node_status.go initialNode
            if self.conf.get("enableControllerAttachDetach", True) is not False:
                meta["annotations"] = {"volumes.kubernetes.io/controller-managed-attach-detach": "true"}
            for t in self.conf.get("registerWithTaints") or []:
                taints.append({k: t[k] for k in ("key", "value", "effect") if t.get(k)})
            if taints:
                spec["taints"] = taints
        return {"kind": "Node", "apiVersion": "v1", "metadata": meta, "spec": spec, "status": self.status(None)}

    # --- talking to the apiserver ---

    def call(self, method, path, body=None, ctype="application/json"):
        """(status, body) from the first apiserver that answers; OSError (the last
        failure, with self.failed_ep) or CredentialsError when none does."""
        last = None
        for ep in self.endpoints:
            self.ep = ep
            try:
                return client.request(ep, method, path, body, ctype)
            except OSError as e:
                last, self.failed_ep = e, ep
        raise last or OSError("no apiserver")

    def _refused(self, code: int, body: bytes) -> str:
        return f"{status_message(body)}{unauthorized_hint(self.ep, code)}"

    def try_register(self) -> bool:
        code, body = self.call("POST", "/api/v1/nodes", self.node())
        if code == 201:
            info(f"Successfully registered node {self.name}")
            return True
        if code == 409 and b"AlreadyExists" in body:
            # As the real kubelet: the existing node is taken over; --node-labels are not
            # applied to it (only the default labels are reconciled).
            code, body = self.call("GET", f"/api/v1/nodes/{self.name}")
            if code == 200:
                existing = json.loads(body)
                labels = (existing.get("metadata") or {}).get("labels") or {}
                missing = {k: x for k, x in self.node()["metadata"]["labels"].items()
                           if k not in self.labels and labels.get(k) != x}
                if missing:
                    self.call("PATCH", f"/api/v1/nodes/{self.name}", {"metadata": {"labels": missing}},
                              "application/strategic-merge-patch+json")
                info(f"Node {self.name} was previously registered")
                return True
        error(f"Unable to register node \"{self.name}\" with API server: {self._refused(code, body)}")
        return False

    def post_status(self) -> bool:
        code, body = self.call("GET", f"/api/v1/nodes/{self.name}")
        if code != 200:
            error(f"Error updating node status, will retry: error getting node \"{self.name}\": "
                  f"{self._refused(code, body)}")
            return False
        node = json.loads(body)
        status = self.status(node)
        if self.v < (1, 6):  # ~ older kubelets PUT the whole node to the status subresource
            node["status"] = status
            code, body = self.call("PUT", f"/api/v1/nodes/{self.name}/status", node)
        else:
            code, body = self.call("PATCH", f"/api/v1/nodes/{self.name}/status", {"status": status},
                                   "application/strategic-merge-patch+json")
        if code != 200:
            error(f"Error updating node status, will retry: {self._refused(code, body)}")
            return False
        info(f"posted node status for {self.name} (Ready)", v=2)
        return True

    def check_runtime(self) -> None:
        """As today's kubelet: the CRI endpoint (containerRuntimeEndpoint) must answer
        before anything else, else it exits 1 (systemd starts it again). The stand-in
        only connects to the socket; it speaks no gRPC."""
        endpoint = str(self.conf.get("containerRuntimeEndpoint") or "unix:///run/containerd/containerd.sock")
        path = endpoint[len("unix://"):] if endpoint.startswith("unix://") else endpoint
        deadline, why = time.monotonic() + common.env_float("KUBEFAB_STANDIN_CRI_WAIT", 10.0), ""
        while True:
            try:
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                    s.settimeout(2)
                    s.connect(path)
                info(f"Connected to the container runtime at {endpoint}")
                return
            except OSError as e:
                why = f"dial unix {path}: connect: {(e.strerror or str(e)).lower()}"
            if time.monotonic() > deadline:
                common.command_failed(f"failed to run Kubelet: validate service connection: validate CRI v1 "
                                      f"runtime API for endpoint \"{endpoint}\": rpc error: code = Unavailable "
                                      f"desc = connection error: desc = \"transport: Error while dialing: {why}\"")
            common.sleep(0.5)

    def check_config(self) -> None:
        """KubeletConfiguration fields as the real kubelet takes them at start."""
        for ip in self.conf.get("clusterDNS") or []:
            try:
                import ipaddress

                ipaddress.ip_address(str(ip))
            except ValueError:
                warning(f'"Invalid clusterDNS IP" IP="{ip}"')
        resolv = self.conf.get("resolvConf", "/etc/resolv.conf")
        if resolv and not os.path.isfile(str(resolv)):
            error(f'"Could not open resolv conf file." err="open {resolv}: no such file or directory"')
        if self.conf.get("serverTLSBootstrap") or self.conf.get("rotateCertificates"):
            info("rotateCertificates/serverTLSBootstrap: the stand-in keeps the certificates it was given "
                 "(no CSR is requested)")

    def run(self) -> int:
        serve_health(self.address, self.port, "the kubelet server", essential=True,
                     extra={"/pods": {"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": []}})
        info(f"kubelet {self.cfg.version} (kubefab stand-in) for node {self.name}; "
             f"register-node={str(self.register).lower()}; heartbeat every {self.heartbeat:g}s")
        if not self.endpoints:
            warning("No API server defined - no node status update will be sent.")
            while True:
                common.sleep(3600)
        if "kubelet-no-register" in self.cfg.faults:
            warning("kubefab stand-in fault kubelet-no-register: never registering nor posting node status")
            while True:
                common.sleep(3600)
        for ep in self.endpoints:
            describe_credentials(ep)
        worker = None
        if self.v >= (1, 35):
            self.check_runtime()
            self.check_config()
            from .kubelet_pods import PodWorker

            worker = PodWorker(self)
        registered = not self.register
        posted = False
        while True:
            try:
                if not registered:
                    registered = self.try_register()
                if registered:
                    posted = self.post_status() or posted
                if posted and worker is not None:
                    code, body = self.call("GET", f"/api/v1/nodes/{self.name}")
                    if code == 200:
                        node = json.loads(body)
                        worker.renew_lease(node, time.monotonic())
                        worker.sync_pods(node)
            except CredentialsError as e:
                error(f"TLS credentials for {self.ep.server} cannot be used ({self.ep.source or 'flags'}): {e}; "
                      "will retry")
            except ssl.SSLError as e:
                error(f"TLS with the apiserver failed, will retry: {describe_failure(self.failed_ep, e)}")
            except OSError as e:
                error(f"the apiserver is not reachable ({', '.join(ep.server for ep in self.endpoints)}): "
                      f"{describe_failure(self.failed_ep, e)}")
            common.sleep(self.heartbeat if registered and posted else min(self.heartbeat, 1.0))


def kubelet(cfg: Config, fl: Parsed) -> int:
    if fl["cloud-provider"]:
        check_cloud_provider(cfg, fl)
    return Kubelet(cfg, fl).run()

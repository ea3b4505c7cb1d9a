"""TLS as kubefab renders it: the stand-in apiserver serving HTTPS on its secure port
with a client CA (x509 authentication), the real kubectl with an admin kubeconfig, and
the kubelet, kube-proxy and scheduler with TLS kubeconfigs; the insecure port beside
it stays plain, unauthenticated HTTP. The PKI is the session's throwaway one (pki)."""
from __future__ import annotations

import json
import re
import shutil
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from kubefab_lab.standin.kubeconfig import KubeconfigError, load_kubeconfig
from standin_helpers import API_ADDR, NODE_ADDR, free_port, http_get, start_apiserver, wait_until
from standin_pki import write_kubeconfig
from kubefab.profiles.legacy import paths as legacy_paths

NODE = {"kind": "Node", "apiVersion": "v1", "metadata": {"name": "azure-prd-04", "labels": {"host": "azure"}}}


def start_tls_apiserver(procs, bin_dir, etcd, pki, modern=False, extra=()):
    """The rendered unit's flags: insecure port on the test address (v1.0 --address/--port,
    later --insecure-*), secure port with the serving pair and the client CA."""
    port, secure = free_port(API_ADDR), free_port(API_ADDR)
    insecure = [f"--insecure-bind-address={API_ADDR}", f"--insecure-port={port}"] if modern else \
        [f"--address={API_ADDR}", f"--port={port}"]
    argv = [bin_dir / "kube-apiserver", *insecure, f"--bind-address={API_ADDR}", f"--secure-port={secure}",
            f"--tls-cert-file={pki.apiserver.cert}", f"--tls-private-key-file={pki.apiserver.key}",
            f"--client-ca-file={pki.ca.crt}", "--service-cluster-ip-range=10.100.0.0/16",
            f"--etcd-servers={etcd}", f"--etcd-prefix=/tls-{port}", "--logtostderr=true", "--v=3", *extra]
    api = start_apiserver(procs, bin_dir, etcd, port=port, argv=argv)
    api.secure = f"https://{API_ADDR}:{secure}"
    return api


@pytest.fixture
def tls_api(procs, server_bin, etcd, pki):
    """The v1.0.1 stand-in from the built release, with TLS."""
    return start_tls_apiserver(procs, server_bin, etcd, pki)


@pytest.fixture
def admin(tls_api, pki, tmp_path):
    return write_kubeconfig(tmp_path / "admin.kubeconfig", tls_api.secure, pki.ca.crt, pki.admin, "kubefab-admin")


def https(url, pki, client=None, method="GET", body=None):
    """(status, body) over TLS, verifying the server against the test CA."""
    ctx = ssl.create_default_context(cafile=str(pki.ca.crt))
    if client is not None:
        ctx.load_cert_chain(str(client.cert), str(client.key))
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=5, context=ctx) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def ready(kubectl, kubeconfig, name) -> bool:
    r = kubectl.with_kubeconfig(kubeconfig, "get", "node", name, "-o", "json", check=False)
    if r.returncode != 0:
        return False
    conditions = json.loads(r.stdout).get("status", {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


# --- the apiserver ----------------------------------------------------------------------------


def test_kubectl_with_the_admin_certificate(tls_api, admin, kubectl):
    assert kubectl.with_kubeconfig(admin, "get", "--raw", "/healthz").stdout == "ok"
    r = kubectl.with_kubeconfig(admin, "get", "nodes")
    assert r.returncode == 0 and "No resources found" in r.stderr
    r = kubectl.with_kubeconfig(admin, "create", "--validate=false", "-f", "-", input=json.dumps(NODE))
    assert r.stdout.strip() == "node/azure-prd-04 created"
    kubectl.with_kubeconfig(admin, "label", "node", "azure-prd-04", "environment=production", "name=azure-prd-04")
    out = json.loads(kubectl.with_kubeconfig(admin, "get", "nodes", "-o", "json").stdout)
    assert out["items"][0]["metadata"]["labels"] == {"host": "azure", "environment": "production",
                                                     "name": "azure-prd-04"}
    lines = kubectl.with_kubeconfig(admin, "get", "nodes").stdout.splitlines()
    assert lines[1].split()[:2] == ["azure-prd-04", "Unknown"]
    assert "Server Version: v1.0.1" in kubectl.with_kubeconfig(admin, "version").stdout
    # every request is logged with the user the certificate says
    log = tls_api.proc.log()
    assert re.search(r'POST /api/v1/nodes\S*: \([\d.]+ms\) 201 \[kubectl\S*/\S+ .*\] '
                     r'user="kubefab-admin" groups=\["system:masters", "system:authenticated"\]', log), log
    assert "client certificates verified against" in log


def test_no_client_certificate_is_unauthorized(tls_api, pki, kubectl, tmp_path):
    anon = write_kubeconfig(tmp_path / "anon.kubeconfig", tls_api.secure, pki.ca.crt, None, token="unknown")
    # on discovery client-go prints its own words for a 401, as against a real server
    r = kubectl.with_kubeconfig(anon, "get", "nodes", check=False)
    assert r.returncode == 1
    assert "error: You must be logged in to the server (the server has asked for the client to provide " \
           "credentials)" in r.stderr, r.stderr
    for path in ("/healthz", "/api/v1/nodes"):
        r = kubectl.with_kubeconfig(anon, "get", "--raw", path, check=False)
        assert r.returncode == 1 and "error: You must be logged in to the server (Unauthorized)" in r.stderr, r.stderr
    r = kubectl.with_kubeconfig(anon, "create", "--validate=false", "-f", "-", input=json.dumps(NODE), check=False)
    assert r.returncode == 1 and "the server has asked for the client to provide credentials" in r.stderr, r.stderr
    # the body is the real server's metav1 Status
    code, body = https(tls_api.secure + "/api/v1/nodes", pki)
    assert code == 401
    assert json.loads(body) == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                "message": "Unauthorized", "reason": "Unauthorized", "code": 401}
    assert tls_api.node("azure-prd-04") is None
    assert "401 [" in tls_api.proc.log() and "unauthenticated (refused)" in tls_api.proc.log()


def test_a_certificate_from_another_ca_is_refused(tls_api, pki, kubectl, tmp_path):
    rogue = write_kubeconfig(tmp_path / "rogue.kubeconfig", tls_api.secure, pki.ca.crt, pki.other_admin)
    r = kubectl.with_kubeconfig(rogue, "create", "--validate=false", "-f", "-", input=json.dumps(NODE), check=False)
    assert r.returncode != 0
    # (a real server would finish the handshake and answer 401; see the apiserver module doc)
    assert "remote error: tls: unknown certificate authority" in r.stderr, r.stderr
    r = kubectl.with_kubeconfig(rogue, "get", "nodes", check=False)
    assert r.returncode != 0
    assert tls_api.node("azure-prd-04") is None
    log = tls_api.proc.log()
    assert "http: TLS handshake error from 127.0.0.1:" in log
    assert "not signed by the --client-ca-file CA" in log
    # the server stays up for everyone else
    code, _ = https(tls_api.secure + "/healthz", pki, pki.admin)
    assert code == 200


def test_clients_verify_the_apiserver(tls_api, pki, kubectl, tmp_path):
    """kubectl trusting another CA refuses the apiserver's certificate."""
    wrong = write_kubeconfig(tmp_path / "wrong-ca.kubeconfig", tls_api.secure, pki.other_ca.crt, pki.admin)
    r = kubectl.with_kubeconfig(wrong, "get", "nodes", check=False)
    assert r.returncode == 1 and "x509: certificate signed by unknown authority" in r.stderr, r.stderr
    # the serving certificate names the test address (IP SAN), not 127.0.0.1
    port = tls_api.secure.rsplit(":", 1)[1]
    other = write_kubeconfig(tmp_path / "by-other-ip.kubeconfig", f"https://127.0.0.1:{port}", pki.ca.crt, pki.admin)
    r = kubectl.with_kubeconfig(other, "get", "nodes", check=False)
    assert r.returncode == 1  # the server listens on API_ADDR only, and the cert is not for 127.0.0.1 either


def test_the_insecure_port_is_still_plain_http(tls_api, kubectl, pki):
    assert http_get(tls_api.url + "/healthz") == (200, b"ok")
    code, body = tls_api.get("/api/v1/nodes")
    assert code == 200 and body["kind"] == "NodeList"
    assert kubectl(tls_api.url, "get", "--raw", "/healthz").stdout == "ok"  # the master's own kubectl
    assert "insecure port (no authentication)" in tls_api.proc.log()
    # plain http to the secure port: Go's answer
    secure_http = tls_api.secure.replace("https://", "http://")
    code, body = http_get(secure_http + "/healthz")
    assert code == 400 and body == b"Client sent an HTTP request to an HTTPS server.\n"


def test_kubefab_health_check_is_ok_on_the_secure_port(tls_api, pki, tmp_path):
    """kubefab.health's check, run by the master's probe as kubefab builds it (its pki
    paths pointed at the test PKI): ok with the operator's certificate; the v1.0.1
    server's 401 without one, and a failed handshake with another CA's."""
    from kubefab import facts, profiles
    from kubefab.ops import host
    from kubefab.model import MASTER, Apiserver, Host, Inventory, Kubernetes

    port = int(tls_api.secure.rsplit(":", 1)[1])
    k = Kubernetes("v1.0.1", "http://127.0.0.1/kubernetes.tar.gz", apiserver=Apiserver(secure_port=port))
    inv = Inventory(tmp_path / "hosts.yaml", k, (Host("azure-prd-01", API_ADDR, MASTER, bind_address=API_ADDR),),
                    profile_class=profiles.kind("v1.0.1"))
    check = inv.profile.health()

    def probe(admin):
        argv = list(check.argv)
        if admin is None:
            del argv[argv.index("--cert"):argv.index(legacy_paths.ADMIN_KEY) + 1]
        paths = {legacy_paths.CA_CERT: pki.ca.crt, **({legacy_paths.ADMIN_CERT: admin.cert, legacy_paths.ADMIN_KEY: admin.key}
                                                 if admin else {})}
        argv = [str(paths.get(a, a)) for a in argv]
        args = facts.probe_args("/nonexistent", "/nonexistent", [], [], healthz=argv)
        out = subprocess.run([*host.PROBE.argv(), *args], capture_output=True, text=True, check=True)
        return facts.parse(out.stdout).healthz

    assert check.url == f"{tls_api.secure}/healthz"
    assert probe(pki.admin) == "ok"
    assert json.loads(probe(None))["code"] == 401
    assert probe(pki.other_admin).startswith("curl: (")  # the stand-in ends that handshake with an alert


def test_tls_1_2_clients_are_served(tls_api, pki):
    ctx = ssl.create_default_context(cafile=str(pki.ca.crt))
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(str(pki.admin.cert), str(pki.admin.key))
    with urllib.request.urlopen(tls_api.secure + "/healthz", context=ctx, timeout=5) as r:
        assert r.read() == b"ok"


def test_anonymous_requests_with_an_authorizer_other_than_always_allow(procs, standins, etcd, pki, kubectl,
                                                                      tmp_path):
    """1.5+: --anonymous-auth (default true) holds unless AlwaysAllow is among the modes;
    system:anonymous reaches health and version only (RBAC's public-info-viewer, 1.14+)."""
    bin_dir = standins("v1.19.16")
    api = start_tls_apiserver(procs, bin_dir, etcd, pki, modern=True, extra=["--authorization-mode=Node,RBAC"])
    anon = write_kubeconfig(tmp_path / "anon.kubeconfig", api.secure, pki.ca.crt, None, token="unknown")
    assert kubectl.with_kubeconfig(anon, "get", "--raw", "/healthz").stdout == "ok"
    r = kubectl.with_kubeconfig(anon, "get", "--raw", "/api/v1/nodes", check=False)
    assert r.returncode == 1
    assert 'Error from server (Forbidden): nodes is forbidden: User "system:anonymous" cannot list resource "nodes" ' \
           'in API group "" at the cluster scope' in r.stderr, r.stderr
    r = kubectl.with_kubeconfig(anon, "get", "--raw", "/api", check=False)  # discovery: authenticated only from 1.14
    assert r.returncode == 1 and 'forbidden: User "system:anonymous" cannot get path "/api"' in r.stderr, r.stderr
    r = kubectl.with_kubeconfig(anon, "get", "nodes", check=False)
    assert r.returncode == 1 and "Forbidden" in r.stderr
    assert "not emulated" in api.proc.log()
    admin = write_kubeconfig(tmp_path / "admin.kubeconfig", api.secure, pki.ca.crt, pki.admin)
    kubectl.with_kubeconfig(admin, "create", "-f", "-", input=json.dumps(NODE))  # 1.7+: server-side validation


def test_a_bad_client_ca_file_is_fatal(procs, server_bin, etcd, pki, tmp_path):
    bad = tmp_path / "ca.crt"
    bad.write_text("not a certificate\n")
    port = free_port(API_ADDR)
    proc = procs.start([server_bin / "kube-apiserver", f"--address={API_ADDR}", f"--port={port}",
                        f"--bind-address={API_ADDR}", f"--secure-port={free_port(API_ADDR)}",
                        f"--tls-cert-file={pki.apiserver.cert}", f"--tls-private-key-file={pki.apiserver.key}",
                        f"--client-ca-file={bad}", "--service-cluster-ip-range=10.100.0.0/16",
                        f"--etcd-servers={etcd}"])
    assert proc.wait_exit(15) == 1
    assert f"unable to load client CA file {bad}" in proc.log()


# --- kubelet, kube-proxy, scheduler --------------------------------------------------------------


def test_kubelet_1_0_api_servers_https_and_kubeconfig(procs, server_bin, tls_api, admin, pki, kubectl, tmp_path):
    """v1.0: --api-servers names the server, --kubeconfig holds the credentials."""
    creds = write_kubeconfig(tmp_path / "kubelet.kubeconfig", "http://ignored.invalid:1", pki.ca.crt,
                             pki.nodes["azure-prd-02"], "kubelet")
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    kubelet = procs.start([server_bin / "kubelet", f"--address={NODE_ADDR}", f"--port={free_port(NODE_ADDR)}",
                           f"--api-servers={tls_api.secure}", f"--kubeconfig={creds}", "--logtostderr=true",
                           f"--config={manifests}/", "--register-node=true", "--hostname-override=azure-prd-02"])
    wait_until(lambda: ready(kubectl, admin, "azure-prd-02"), 15, "the kubelet's node to be Ready")
    row = kubectl.with_kubeconfig(admin, "get", "nodes").stdout.splitlines()[1].split()
    assert row[:2] == ["azure-prd-02", "Ready"]
    assert kubelet.alive() and "Successfully registered node azure-prd-02" in kubelet.log()
    assert f"TLS to {tls_api.secure}: server verified against CA {pki.ca.crt}" in kubelet.log()
    log = tls_api.proc.log()
    assert re.search(r'POST /api/v1/nodes: \([\d.]+ms\) 201 \[kubelet/v1\.0\.1 .*\] '
                     r'user="system:node:azure-prd-02" groups=\["system:nodes", "system:authenticated"\]', log), log
    assert kubelet.stop() == 0


@pytest.mark.parametrize("version,embed", [("v1.8.15", False), ("v1.19.16", True)])
def test_kubelet_1_8_and_later_with_its_kubeconfig_alone(procs, standins, etcd, pki, kubectl, tmp_path, version,
                                                         embed):
    """From 1.8 the kubeconfig names the server too; file paths or the -data forms."""
    bin_dir = standins(version)
    api = start_tls_apiserver(procs, bin_dir, etcd, pki, modern=True)
    admin = write_kubeconfig(tmp_path / "admin.kubeconfig", api.secure, pki.ca.crt, pki.admin)
    kc = write_kubeconfig(tmp_path / "kubelet.kubeconfig", api.secure, pki.ca.crt, pki.nodes["ded-prd-01"],
                          "kubelet", embed=embed)
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    kubelet = procs.start([bin_dir / "kubelet", f"--address={NODE_ADDR}", f"--port={free_port(NODE_ADDR)}",
                           f"--kubeconfig={kc}", f"--pod-manifest-path={manifests}", "--register-node=true",
                           "--hostname-override=ded-prd-01", "--node-labels=workload=processing-intensive"])
    wait_until(lambda: ready(kubectl, admin, "ded-prd-01"), 15, f"the {version} kubelet's node to be Ready")
    node = json.loads(kubectl.with_kubeconfig(admin, "get", "node", "ded-prd-01", "-o", "json").stdout)
    assert node["metadata"]["labels"]["workload"] == "processing-intensive"
    assert node["status"]["nodeInfo"]["kubeletVersion"] == version
    assert 'user="system:node:ded-prd-01"' in api.proc.log()
    if embed:
        assert "client-certificate-data from kubeconfig" in kubelet.log()
    assert kubelet.alive()


def test_kubelet_tls_failures_are_logged_and_retried(procs, server_bin, tls_api, pki, tmp_path):
    """A CA that does not sign the apiserver, no client certificate, a missing key file:
    each is said plainly in the log, and the kubelet keeps retrying (as the real one)."""
    cases = {
        "wrong-ca": (write_kubeconfig(tmp_path / "wrong-ca.kubeconfig", "http://x.invalid", pki.other_ca.crt,
                                      pki.nodes["azure-prd-02"]),
                     "TLS with the apiserver failed, will retry: TLS: the apiserver's certificate is not trusted"),
        "no-cert": (write_kubeconfig(tmp_path / "no-cert.kubeconfig", "http://x.invalid", pki.ca.crt, None),
                    'Unable to register node "no-cert" with API server: Unauthorized (HTTP 401: no credentials '
                    "were sent"),
        "rogue-cert": (write_kubeconfig(tmp_path / "rogue.kubeconfig", "http://x.invalid", pki.ca.crt,
                                        pki.other_admin),
                       "is it signed by the CA in the apiserver's --client-ca-file?"),
    }
    missing = tmp_path / "missing.kubeconfig"
    write_kubeconfig(missing, "http://x.invalid", pki.ca.crt, pki.nodes["azure-prd-02"])
    missing.write_text(missing.read_text().replace(str(pki.nodes["azure-prd-02"].key), str(tmp_path / "gone.key")))
    cases["missing-key"] = (missing, f"unable to load client certificate/key: open {tmp_path / 'gone.key'}: "
                                     "no such file or directory; will retry")
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    kubelets = {name: procs.start([server_bin / "kubelet", f"--address={NODE_ADDR}",
                                   f"--port={free_port(NODE_ADDR)}", f"--api-servers={tls_api.secure}",
                                   f"--kubeconfig={kc}", f"--config={manifests}/", f"--hostname-override={name}"],
                                  f"kubelet-{name}")
                for name, (kc, _) in cases.items()}
    for name, (_, expected) in cases.items():
        wait_until(lambda: kubelets[name].log().count(expected) >= 2, 10,
                   f"the {name} kubelet to log (twice) {expected!r}")
    time.sleep(1)
    for name, proc in kubelets.items():
        assert proc.alive(), proc.log()
        assert tls_api.node(name) is None


def test_kube_proxy_with_a_tls_kubeconfig_stays_up(procs, server_bin, tls_api, pki, tmp_path):
    kc = write_kubeconfig(tmp_path / "proxy.kubeconfig", "http://ignored.invalid:1", pki.ca.crt, pki.proxy,
                          "kube-proxy")
    proxy = procs.start([server_bin / "kube-proxy", f"--master={tls_api.secure}", f"--kubeconfig={kc}",
                         "--logtostderr=true"])
    wait_until(lambda: "running" in proxy.log(), 10, "kube-proxy to start")
    time.sleep(2)  # KUBEFAB_STANDIN_POLL=0.5: a few authenticated checks
    assert proxy.alive(), proxy.log()
    assert "does not answer" not in proxy.log()
    assert re.search(r'GET /healthz: \([\d.]+ms\) 200 \[kube-proxy/v1\.0\.1 .*\] user="system:kube-proxy"',
                     tls_api.proc.log())
    assert proxy.stop() == 0


def test_kube_proxy_says_why_it_cannot_reach_the_apiserver(procs, server_bin, tls_api, pki, tmp_path):
    kc = write_kubeconfig(tmp_path / "proxy.kubeconfig", tls_api.secure, pki.ca.crt, None)
    proxy = procs.start([server_bin / "kube-proxy", f"--master={tls_api.secure}", f"--kubeconfig={kc}"])
    # KUBEFAB_STANDIN_PROXY_STARTUP_TIMEOUT=3 in the tests (30 s by default)
    assert proxy.wait_exit(10) == 1
    assert "is not healthy yet: /healthz answered 401: Unauthorized (HTTP 401: no credentials were sent" in proxy.log()
    assert "did not answer /healthz within 3s: /healthz answered 401" in proxy.log()


def test_scheduler_and_controller_manager_with_kubeconfigs(procs, server_bin, tls_api, pki, tmp_path):
    kc = write_kubeconfig(tmp_path / "master.kubeconfig", tls_api.secure, pki.ca.crt, pki.admin, embed=True)
    started = [procs.start([server_bin / prog, f"--kubeconfig={kc}", f"--address={API_ADDR}",
                            f"--port={free_port(API_ADDR)}"]) for prog in ("kube-scheduler", "kube-controller-manager")]
    for proc in started:
        wait_until(lambda: "is healthy" in proc.log(), 10, "the apiserver to be found healthy")
        assert proc.alive()


# --- kubeconfig loading -----------------------------------------------------------------------------


def test_kubeconfig_credentials(pki, tmp_path):
    files = load_kubeconfig(str(write_kubeconfig(tmp_path / "a", "https://127.0.0.71:6443", pki.ca.crt,
                                                 pki.nodes["azure-prd-02"])))
    assert (files.ca_file, files.cert_file, files.key_file) == (str(pki.ca.crt), str(pki.nodes["azure-prd-02"].cert),
                                                                str(pki.nodes["azure-prd-02"].key))
    data = load_kubeconfig(str(write_kubeconfig(tmp_path / "b", "https://127.0.0.71:6443", pki.ca.crt,
                                                pki.proxy, embed=True)))
    assert data.ca_data == pki.ca.crt.read_bytes() and data.cert_data == pki.proxy.cert.read_bytes()
    temps = Path(tempfile.gettempdir())
    before = set(temps.glob("standin-tls-*"))
    assert data.ssl_context().check_hostname and data.ssl_context() is data.ssl_context()
    assert set(temps.glob("standin-tls-*")) == before  # the -data key was in a temp dir, removed at once
    moved = data.with_server("https://127.0.0.72:6443")
    assert moved.server == "https://127.0.0.72:6443" and moved.cert_data == data.cert_data
    bad = tmp_path / "c"
    bad.write_text(write_kubeconfig(tmp_path / "c", "https://x:1", pki.ca.crt, None).read_text()
                   .replace("certificate-authority:", "insecure-skip-tls-verify: true\n    certificate-authority:"))
    with pytest.raises(KubeconfigError, match="insecure flag is not allowed"):
        load_kubeconfig(str(bad))


# --- as kubefab renders it ---------------------------------------------------------------------------


RENDERED_KUBECONFIG = """# Rendered by kubefab: how the kubelet reaches the apiserver (--kubeconfig): over TLS,
# trusting the cluster CA, with the kubelet's client certificate (system:node:{node}).
apiVersion: v1
kind: Config
clusters:
- name: "production"
  cluster:
    server: "{server}"
    certificate-authority: "{ca}"
contexts:
- name: kubelet
  context:
    cluster: "production"
    user: kubelet
current-context: kubelet
users:
- name: kubelet
  user:
    client-certificate: "{cert}"
    client-key: "{key}"
"""


@pytest.mark.skipif(not shutil.which("curl"), reason="curl is not installed")
def test_register_node_script_flow(procs, server_bin, tls_api, pki, kubectl, tmp_path):
    """What register_node.sh does on a node with TLS: curl /healthz with the kubelet's
    certificate, then kubectl --kubeconfig <kubelet's> -s <master> create / label;
    and the kubelet (--register-node=false) then heartbeats the node."""
    node = pki.nodes["azure-prd-02"]
    kc = tmp_path / "kubelet.kubeconfig"
    kc.write_text(RENDERED_KUBECONFIG.format(node="azure-prd-02", server=tls_api.secure, ca=pki.ca.crt,
                                             cert=node.cert, key=node.key))
    curl = ["curl", "--silent", "--fail", "--cacert", str(pki.ca.crt)]
    r = subprocess.run(curl + ["--cert", str(node.cert), "--key", str(node.key), tls_api.secure + "/healthz"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and r.stdout == "ok", r
    r = subprocess.run(curl + [tls_api.secure + "/healthz"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 22 and r.stdout == ""  # --fail: HTTP 401

    obj = {"kind": "Node", "apiVersion": "v1", "metadata": {"name": "azure-prd-02", "labels": {"host": "azure"}}}
    r = kubectl.with_kubeconfig(kc, "-s", tls_api.secure, "create", "--validate=false", "-f", "-",
                                input=json.dumps(obj))
    assert r.stdout.strip() == "node/azure-prd-02 created"
    kubectl.with_kubeconfig(kc, "-s", tls_api.secure, "label", "--overwrite", "node", "azure-prd-02",
                            "environment=production", "name=azure-prd-02", "workload=high-available")
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    procs.start([server_bin / "kubelet", f"--address={NODE_ADDR}", f"--port={free_port(NODE_ADDR)}",
                 f"--api-servers={tls_api.secure}", f"--kubeconfig={kc}", "--logtostderr=true",
                 f"--config={manifests}/", "--register-node=false", "--hostname-override=azure-prd-02"])
    wait_until(lambda: ready(kubectl, kc, "azure-prd-02"), 15, "the registered node to be Ready")
    labels = json.loads(kubectl.with_kubeconfig(kc, "get", "node", "azure-prd-02", "-o", "json").stdout)[
        "metadata"]["labels"]
    assert labels == {"host": "azure", "environment": "production", "name": "azure-prd-02",
                      "workload": "high-available"}
    assert 'PATCH /api/v1/nodes/azure-prd-02?fieldManager=kubectl-label' in tls_api.proc.log()


def test_a_wildcard_secure_port_with_tls_is_fatal(procs, server_bin, etcd, pki):
    """With --tls-cert-file the secure port is the one the nodes use: refused, not skipped."""
    proc = procs.start([server_bin / "kube-apiserver", f"--address={API_ADDR}", f"--port={free_port(API_ADDR)}",
                        "--bind-address=0.0.0.0", f"--secure-port={free_port()}",
                        f"--tls-cert-file={pki.apiserver.cert}", f"--tls-private-key-file={pki.apiserver.key}",
                        f"--client-ca-file={pki.ca.crt}", "--service-cluster-ip-range=10.100.0.0/16",
                        f"--etcd-servers={etcd}"])
    assert proc.wait_exit(15) == 1
    assert "not binding the secure port 0.0.0.0:" in proc.log()


def test_a_serving_pair_that_does_not_match_is_fatal(procs, server_bin, etcd, pki):
    proc = procs.start([server_bin / "kube-apiserver", f"--address={API_ADDR}", f"--port={free_port(API_ADDR)}",
                        f"--bind-address={API_ADDR}", f"--secure-port={free_port(API_ADDR)}",
                        f"--tls-cert-file={pki.apiserver.cert}", f"--tls-private-key-file={pki.admin.key}",
                        f"--client-ca-file={pki.ca.crt}", "--service-cluster-ip-range=10.100.0.0/16",
                        f"--etcd-servers={etcd}"])
    assert proc.wait_exit(15) == 1
    assert f"unable to load server certificate: {pki.apiserver.cert}, {pki.admin.key}" in proc.log()

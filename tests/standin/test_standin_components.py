"""The stand-in kubelet, kube-proxy, kube-scheduler and kube-controller-manager
against the stand-in apiserver (all from the built v1.0.1 release unless said)."""
from __future__ import annotations

import json
import time

from standin_helpers import API_ADDR, NODE_ADDR, free_port, http, http_get, start_apiserver, wait_until


def ready(api, name) -> dict | None:
    node = api.node(name)
    conditions = ((node or {}).get("status") or {}).get("conditions") or []
    return node if any(c["type"] == "Ready" and c["status"] == "True" for c in conditions) else None


def heartbeat(node) -> str:
    return next(c for c in node["status"]["conditions"] if c["type"] == "Ready")["lastHeartbeatTime"]


def kubelet_argv(bin_dir, api, port, tmp_path, register=True, name="azure-prd-02", extra=()):
    """The original's kubelet command line (v1.0), on a lab address."""
    manifests = tmp_path / "manifests"
    manifests.mkdir(exist_ok=True)
    return [bin_dir / "kubelet", f"--address={NODE_ADDR}", f"--port={port}", f"--api-servers={api.url}",
            "--logtostderr=true", f"--config={manifests}/", f"--register-node={str(register).lower()}",
            f"--hostname-override={name}", *extra]


def test_kubelet_registers_and_reports_ready(procs, server_bin, apiserver, kubectl, tmp_path):
    port = free_port(NODE_ADDR)
    t0 = time.monotonic()
    kubelet = procs.start(kubelet_argv(server_bin, apiserver, port, tmp_path))
    node = wait_until(lambda: ready(apiserver, "azure-prd-02"), 10, "the node to be Ready")
    assert time.monotonic() - t0 < 5
    assert node["metadata"]["labels"]["kubernetes.io/hostname"] == "azure-prd-02"
    assert node["status"]["nodeInfo"]["kubeletVersion"] == "v1.0.1"
    assert node["status"]["daemonEndpoints"]["kubeletEndpoint"]["Port"] == port
    assert http_get(f"http://{NODE_ADDR}:{port}/healthz") == (200, b"ok")
    first = heartbeat(node)
    wait_until(lambda: heartbeat(apiserver.node("azure-prd-02")) != first, 5, "a later heartbeat")
    row = kubectl(apiserver.url, "get", "nodes").stdout.splitlines()[1].split()
    assert row[:2] == ["azure-prd-02", "Ready"]
    assert kubelet.alive() and "Successfully registered node azure-prd-02" in kubelet.log()
    assert kubelet.stop() == 0


def test_kubelet_without_register_node_waits_for_the_node(procs, server_bin, apiserver, kubectl, tmp_path):
    kubelet = procs.start(kubelet_argv(server_bin, apiserver, free_port(NODE_ADDR), tmp_path, register=False))
    time.sleep(2.5)
    assert apiserver.node("azure-prd-02") is None, "a kubelet with --register-node=false created its node"
    assert 'nodes \\"azure-prd-02\\" not found' in kubelet.log() or 'nodes "azure-prd-02" not found' in kubelet.log()
    node = {"kind": "Node", "apiVersion": "v1",
            "metadata": {"name": "azure-prd-02", "labels": {"environment": "production", "host": "azure"}}}
    kubectl(apiserver.url, "create", "--validate=false", "-f", "-", input=json.dumps(node))
    got = wait_until(lambda: ready(apiserver, "azure-prd-02"), 5, "the kubelet's heartbeat on the created node")
    assert got["metadata"]["labels"] == {"environment": "production", "host": "azure"}
    assert kubelet.alive()


def test_kubelet_no_register_fault(procs, standins, apiserver, tmp_path):
    bin_dir = standins("v1.0.1", ["kubelet-no-register"])
    port = free_port(NODE_ADDR)
    kubelet = procs.start(kubelet_argv(bin_dir, apiserver, port, tmp_path))
    wait_until(lambda: _answers(f"http://{NODE_ADDR}:{port}/healthz"), 10, "the kubelet's healthz")
    time.sleep(3)
    assert apiserver.node("azure-prd-02") is None
    assert kubelet.alive() and "fault kubelet-no-register" in kubelet.log()


def _answers(url) -> bool:
    try:
        return http_get(url, 1) == (200, b"ok")
    except OSError:
        return False


def test_kubelet_keeps_trying_while_the_apiserver_is_down(procs, server_bin, etcd, tmp_path):
    port = free_port(API_ADDR)

    class Down:
        url = f"http://{API_ADDR}:{port}"

    kubelet = procs.start(kubelet_argv(server_bin, Down, free_port(NODE_ADDR), tmp_path))
    time.sleep(2.5)
    assert kubelet.alive(), kubelet.log()
    assert "the apiserver is not reachable" in kubelet.log()
    api = start_apiserver(procs, server_bin, etcd, port=port)
    wait_until(lambda: ready(api, "azure-prd-02"), 10, "registration once the apiserver is up")


def test_kubelet_1_8_uses_its_kubeconfig(procs, standins, etcd, tmp_path):
    bin_dir = standins("v1.8.15")
    port = free_port(API_ADDR)
    api = start_apiserver(procs, bin_dir, etcd, port=port, argv=[
        bin_dir / "kube-apiserver", f"--insecure-bind-address={API_ADDR}", f"--insecure-port={port}",
        "--secure-port=0", "--service-cluster-ip-range=10.100.0.0/16", f"--etcd-servers={etcd}",
        f"--etcd-prefix=/k18-{port}"])
    kubeconfig = tmp_path / "kubelet.kubeconfig"
    kubeconfig.write_text(f"""# as kubefab renders it
apiVersion: v1
kind: Config
clusters:
- name: "production"
  cluster:
    server: "{api.url}"
contexts:
- name: kubelet
  context:
    cluster: "production"
    user: kubelet
current-context: kubelet
users:
- name: kubelet
  user: {{}}
""")
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    procs.start([bin_dir / "kubelet", f"--address={NODE_ADDR}", f"--port={free_port(NODE_ADDR)}",
                 f"--kubeconfig={kubeconfig}", f"--pod-manifest-path={manifests}", "--register-node=true",
                 "--hostname-override=ded-prd-01", "--node-labels=workload=processing-intensive"])
    node = wait_until(lambda: ready(api, "ded-prd-01"), 10, "the 1.8 kubelet's node")
    labels = node["metadata"]["labels"]
    assert labels["workload"] == "processing-intensive" and labels["beta.kubernetes.io/os"] == "linux"


def _master_argv(bin_dir, program, api_url):
    return [bin_dir / program, "--logtostderr=true", f"--master={api_url.removeprefix('http://')}",
            f"--address={API_ADDR}", f"--port={free_port(API_ADDR)}"]


def test_scheduler_and_controller_manager_follow_the_master(procs, server_bin, apiserver):
    sched = procs.start(_master_argv(server_bin, "kube-scheduler", apiserver.url))
    cm = procs.start(_master_argv(server_bin, "kube-controller-manager", apiserver.url) + ["--cloud-provider=vagrant"])
    time.sleep(2)
    assert sched.alive() and cm.alive(), sched.log() + cm.log()
    assert "is healthy" in sched.log()
    apiserver.proc.stop()
    # KUBEFAB_STANDIN_MASTER_GRACE=2 in the tests (30 s by default)
    assert sched.wait_exit(10) == 1 and cm.wait_exit(10) == 1
    assert "leaderelection lost" in sched.log()


def test_controllers_without_a_master_exit(procs, server_bin):
    dead = f"http://{API_ADDR}:{free_port(API_ADDR)}"
    sched = procs.start(_master_argv(server_bin, "kube-scheduler", dead))
    proxy = procs.start([server_bin / "kube-proxy", f"--master={dead}", "--logtostderr=true"])
    # KUBEFAB_STANDIN_STARTUP_TIMEOUT=3 (10 s), KUBEFAB_STANDIN_PROXY_STARTUP_TIMEOUT=3 (30 s)
    assert sched.wait_exit(10) == 1 and proxy.wait_exit(10) == 1
    assert "did not answer /healthz within 3s" in sched.log()


def test_proxy_keeps_running_when_the_master_goes(procs, server_bin, apiserver):
    proxy = procs.start([server_bin / "kube-proxy", f"--master={apiserver.url}", "--logtostderr=true"])
    wait_until(lambda: "running" in proxy.log(), 10, "kube-proxy to start")
    apiserver.proc.stop()
    time.sleep(3)
    assert proxy.alive() and "does not answer" in proxy.log()
    assert proxy.stop() == 0


def test_controller_manager_marks_silent_nodes_unknown(procs, server_bin, apiserver, kubectl):
    old = "2015-07-17T00:00:00Z"
    node = {"kind": "Node", "apiVersion": "v1", "metadata": {"name": "azure-prd-03"},
            "status": {"conditions": [{"type": "Ready", "status": "True", "lastHeartbeatTime": old,
                                       "lastTransitionTime": old, "reason": "KubeletReady"}]}}
    assert http("POST", apiserver.url + "/api/v1/nodes", node)[0] == 201
    procs.start(_master_argv(server_bin, "kube-controller-manager", apiserver.url)
                + ["--node-monitor-grace-period=5s"])

    def unknown():
        conds = apiserver.node("azure-prd-03")["status"]["conditions"]
        return next(c for c in conds if c["type"] == "Ready")["status"] == "Unknown"

    wait_until(unknown, 10, "Ready=Unknown on the silent node")
    assert kubectl(apiserver.url, "get", "nodes").stdout.splitlines()[1].split()[:2] == ["azure-prd-03", "NotReady"]


def test_sigterm_is_a_clean_exit(procs, server_bin, apiserver, tmp_path):
    started = [procs.start(kubelet_argv(server_bin, apiserver, free_port(NODE_ADDR), tmp_path)),
               procs.start(_master_argv(server_bin, "kube-scheduler", apiserver.url)),
               procs.start([server_bin / "kube-proxy", f"--master={apiserver.url}"])]
    time.sleep(1.5)
    for proc in started:
        assert proc.alive(), proc.log()
        assert proc.stop() == 0, proc.log()
        assert "received signal SIGTERM" in proc.log()
    assert apiserver.proc.stop() == 0

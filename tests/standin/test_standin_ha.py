"""Today's (v1.37.1) control plane in several copies on one etcd: two apiservers share
one state and list each other in default/kubernetes Endpoints; two controller managers
elect one leader with the kube-system Lease, and the other takes over once the
leader's lease has expired (client-go's timings: 15 s lease, renewed every 2 s)."""
from __future__ import annotations

import json
import time

import pytest

from modern_cluster import API_ADDRS, Cluster
from standin_helpers import Procs, wait_until
from test_standin_modern_api import kubectl137  # noqa: F401 - the fixture


@pytest.fixture
def cluster(standins, etcd, pki, tmp_path):
    procs = Procs(tmp_path)
    try:
        yield Cluster(procs, standins, etcd, pki, tmp_path)
    finally:
        procs.stop_all()


def _k(kubectl137, cluster, url):
    config = cluster.kubeconfig("super", url)
    return lambda *args, **kw: kubectl137.with_kubeconfig(config, *args, **kw)


def _endpoints(k) -> list[str]:
    ep = json.loads(k("get", "endpoints", "kubernetes", "-o", "json").stdout)
    return sorted(a["ip"] for s in ep.get("subsets") or [] for a in s.get("addresses") or [])


def test_two_apiservers_on_one_etcd_share_objects_and_endpoints(cluster, kubectl137):
    a, b = cluster.apiserver(API_ADDRS[0]), cluster.apiserver(API_ADDRS[1])
    ka, kb = _k(kubectl137, cluster, a), _k(kubectl137, cluster, b)
    ka("create", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "ConfigMap",
                                              "metadata": {"name": "shared", "namespace": "default"},
                                              "data": {"written-through": "a"}}))
    assert json.loads(kb("get", "configmap", "shared", "-o", "json").stdout)["data"] == {"written-through": "a"}
    assert json.loads(kb("get", "service", "kubernetes", "-o", "json").stdout)["spec"]["clusterIP"] == "10.32.0.1"
    wait_until(lambda: _endpoints(kb) == sorted(API_ADDRS), 15, "both apiservers in the kubernetes Endpoints")
    cluster.apiservers[0].stop()
    wait_until(lambda: _endpoints(kb) == [API_ADDRS[1]], 15, "the stopped apiserver gone from the Endpoints")


def _holder(k) -> str:
    r = k("get", "lease", "-n", "kube-system", "kube-controller-manager", "-o", "json", check=False)
    return json.loads(r.stdout)["spec"]["holderIdentity"] if r.returncode == 0 else ""


def test_one_controller_manager_leads_and_the_other_takes_over(cluster, kubectl137):
    k = _k(kubectl137, cluster, cluster.apiserver())
    first = cluster.controller_manager()
    wait_until(lambda: "successfully acquired lease" in first.log(), 15, "the first to lead")
    second = cluster.controller_manager()
    wait_until(lambda: "attempting to acquire leader lease kube-system/kube-controller-manager" in second.log(), 15,
               "the second to start")
    time.sleep(3)
    assert "successfully acquired lease" not in second.log()
    holder = _holder(k)
    assert holder.split("_")[0] and len(holder.split("_")[1]) == 36  # <hostname>_<uuid>
    assert "Using service account credentials" not in second.log(), "the follower acted"
    first.stop()
    stopped = time.monotonic()
    wait_until(lambda: "successfully acquired lease kube-system/kube-controller-manager" in second.log(), 25,
               "the second to take over")
    took = time.monotonic() - stopped
    assert 5 < took < 20, f"took over after {took:.1f}s: before the 15 s lease expired, or much later"
    assert _holder(k) not in ("", holder)
    k("create", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "after"}}))
    wait_until(lambda: k("get", "serviceaccount", "default", "-n", "after", check=False).returncode == 0, 10,
               "the new leader's serviceaccount controller")


def test_a_stopping_apiserver_fails_readyz_for_its_shutdown_delay(cluster):
    """--shutdown-delay-duration (k8s.io/apiserver's server run options): after SIGTERM the
    server keeps serving, /healthz and /livez succeed, /readyz fails at once; it exits once
    the delay has passed. Load balancers that check /readyz drain it meanwhile."""
    import signal
    from modern_cluster import https
    url = cluster.apiserver(extra=("--shutdown-delay-duration=3s",))
    proc = cluster.apiservers[-1]
    assert https(url + "/readyz", cluster.pki) == (200, b"ok")
    stopped = time.monotonic()
    proc.popen.send_signal(signal.SIGTERM)
    wait_until(lambda: https(url + "/readyz", cluster.pki)[0] == 500, 2, "/readyz failing after SIGTERM")
    assert https(url + "/healthz", cluster.pki) == (200, b"ok") and https(url + "/livez", cluster.pki) == (200, b"ok")
    assert proc.popen.wait(10) == 0
    assert time.monotonic() - stopped >= 2.5

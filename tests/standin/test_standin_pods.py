"""Pods on the stand-in apiserver, driven by the real kubectl as `fab upgrade` drives
it: a pod placed on a node with spec.nodeName, `kubectl drain` evicting it through
the eviction subresource (policy/v1beta1 before 1.22), cordon and uncordon."""
from __future__ import annotations

import json

import pytest

from standin_helpers import API_ADDR, free_port, http, start_apiserver

NODE = {"kind": "Node", "apiVersion": "v1", "metadata": {"name": "azure-prd-02"}}
POD = {"kind": "Pod", "apiVersion": "v1", "metadata": {"name": "web", "namespace": "default"},
       "spec": {"nodeName": "azure-prd-02", "containers": [{"name": "web", "image": "nginx"}]}}


@pytest.fixture(params=["v1.19.16", "v1.3.0"])  # an eviction subresource, and none yet (delete)
def api(request, procs, standins, etcd):
    bin_dir, port = standins(request.param), free_port(API_ADDR)
    api = start_apiserver(procs, bin_dir, etcd, port=port, argv=[
        bin_dir / "kube-apiserver", f"--insecure-bind-address={API_ADDR}", f"--insecure-port={port}",
        "--secure-port=0", "--service-cluster-ip-range=10.100.0.0/16", f"--etcd-servers={etcd}",
        f"--etcd-prefix=/pods-{port}"])
    api.version = request.param
    return api


def test_discovery_names_the_eviction_version(api):
    _, resources = http("GET", api.url + "/api/v1")
    eviction = [(r["group"], r["version"], r["kind"]) for r in resources["resources"] if r["name"] == "pods/eviction"]
    assert eviction == ([("policy", "v1beta1", "Eviction")] if api.version == "v1.19.16" else [])


def test_drain_evicts_the_pod_placed_on_the_node_and_uncordon(api, kubectl):
    kubectl(api.url, "create", "--validate=false", "-f", "-", input=json.dumps(NODE))
    kubectl(api.url, "create", "--validate=false", "-f", "-", input=json.dumps(POD))
    listed = json.loads(kubectl(api.url, "get", "pods", "--all-namespaces", "--field-selector",
                                "spec.nodeName=azure-prd-02", "-o", "json").stdout)["items"]
    assert [p["metadata"]["name"] for p in listed] == ["web"]
    r = kubectl(api.url, "drain", "azure-prd-02", "--ignore-daemonsets", "--force", "--delete-emptydir-data",
                "--timeout=20s")
    how = "evicted" if api.version == "v1.19.16" else "deleted"  # no eviction API before 1.4
    assert f"pod/web {how}" in r.stdout and "node/azure-prd-02 drained" in r.stdout
    assert "not found" in kubectl(api.url, "get", "pod", "web", check=False).stderr
    node = json.loads(kubectl(api.url, "get", "node", "azure-prd-02", "-o", "json").stdout)
    assert node["spec"]["unschedulable"] is True
    kubectl(api.url, "uncordon", "azure-prd-02")
    node = json.loads(kubectl(api.url, "get", "node", "azure-prd-02", "-o", "json").stdout)
    assert not node["spec"].get("unschedulable")


@pytest.fixture
def api_with_eviction(procs, standins, etcd):
    """v1.19.16 only: v1.3 has no eviction subresource to ask."""
    bin_dir, port = standins("v1.19.16"), free_port(API_ADDR)
    return start_apiserver(procs, bin_dir, etcd, port=port, argv=[
        bin_dir / "kube-apiserver", f"--insecure-bind-address={API_ADDR}", f"--insecure-port={port}",
        "--secure-port=0", "--service-cluster-ip-range=10.100.0.0/16", f"--etcd-servers={etcd}",
        f"--etcd-prefix=/pods-{port}"])


def test_an_eviction_of_a_missing_pod_is_a_404(api_with_eviction):
    api = api_with_eviction
    code, body = http("POST", api.url + "/api/v1/namespaces/default/pods/nope/eviction",
                      {"kind": "Eviction", "apiVersion": "policy/v1beta1", "metadata": {"name": "nope"}})
    assert code == 404 and body["message"] == 'pods "nope" not found'

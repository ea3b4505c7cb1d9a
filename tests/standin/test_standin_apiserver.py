"""The stand-in kube-apiserver from the built v1.0.1 release, with the original
cluster's flags, driven by the real kubectl (and by plain HTTP for the error bodies)."""
from __future__ import annotations

import json
import shutil
import subprocess
import time

import pytest

from standin_helpers import API_ADDR, free_port, http, http_get, start_apiserver

NODE = {"kind": "Node", "apiVersion": "v1", "metadata": {"name": "azure-prd-02", "labels": {"host": "azure"}}}


def test_healthz_and_version(apiserver, kubectl):
    assert kubectl(apiserver.url, "get", "--raw", "/healthz").stdout == "ok"
    out = kubectl(apiserver.url, "version").stdout
    assert "Server Version: v1.0.1" in out
    info = json.loads(kubectl(apiserver.url, "get", "--raw", "/version").stdout)
    assert info["gitVersion"] == "v1.0.1" and info["major"] == "1" and info["minor"] == "0"
    assert info["platform"] == "linux/amd64"
    code, body = http_get(apiserver.url + "/healthz")
    assert (code, body) == (200, b"ok")


def test_discovery(apiserver):
    assert apiserver.get("/api")[1]["versions"] == ["v1"]
    resources = {r["name"]: r for r in apiserver.get("/api/v1")[1]["resources"]}
    assert resources["nodes"]["kind"] == "Node" and not resources["nodes"]["namespaced"]
    assert "nodes/status" in resources
    assert apiserver.get("/apis")[1] == {"kind": "APIGroupList", "apiVersion": "v1", "groups": []}
    code, body = apiserver.get("/openapi/v2")
    assert code == 404 and "/api" in body["paths"]  # v1.0 answered unknown paths with its path list


def test_kubectl_create_needs_validate_false_against_1_0(apiserver, kubectl):
    """The real v1.0 server had no OpenAPI; kubectl >= 1.22 validates against it by
    default and so refuses to create anything without --validate=false."""
    r = kubectl(apiserver.url, "create", "-f", "-", input=json.dumps(NODE), check=False)
    assert r.returncode == 1
    assert "failed to download openapi" in r.stderr and "--validate=false" in r.stderr
    assert apiserver.node("azure-prd-02") is None


def test_node_lifecycle_with_kubectl(apiserver, kubectl):
    url = apiserver.url
    r = kubectl(url, "create", "--validate=false", "-f", "-", input=json.dumps(NODE))
    assert r.stdout.strip() == "node/azure-prd-02 created"
    r = kubectl(url, "create", "--validate=false", "-f", "-", input=json.dumps(NODE), check=False)
    assert r.returncode == 1
    assert 'Error from server (AlreadyExists): error when creating "STDIN": nodes "azure-prd-02" already exists' \
        in r.stderr

    kubectl(url, "label", "node", "azure-prd-02", "environment=production")
    r = kubectl(url, "label", "node", "azure-prd-02", "environment=staging", check=False)
    assert r.returncode == 1 and "--overwrite is false" in r.stderr
    kubectl(url, "label", "--overwrite", "node", "azure-prd-02", "environment=staging", "workload=high-available")
    kubectl(url, "label", "node", "azure-prd-02", "host-")
    kubectl(url, "annotate", "--overwrite", "node", "azure-prd-02", "kubefab.io/labels=environment,host")
    kubectl(url, "annotate", "--overwrite", "node", "azure-prd-02", "kubefab.io/labels=environment")  # kubefab's record

    items = json.loads(kubectl(url, "get", "nodes", "-o", "json").stdout)["items"]
    assert [i["metadata"]["name"] for i in items] == ["azure-prd-02"]
    meta = items[0]["metadata"]
    assert meta["labels"] == {"environment": "staging", "workload": "high-available"}
    assert meta["annotations"] == {"kubefab.io/labels": "environment"}
    assert meta["uid"] and meta["creationTimestamp"].endswith("Z") and int(meta["resourceVersion"]) > 0

    lines = kubectl(url, "get", "nodes").stdout.splitlines()
    assert lines[0].split()[:2] == ["NAME", "STATUS"]
    assert lines[1].split()[:2] == ["azure-prd-02", "Unknown"]  # no kubelet has posted status

    assert kubectl(url, "get", "nodes", "-l", "environment=staging", "-o", "name").stdout.strip() == "node/azure-prd-02"
    assert kubectl(url, "get", "nodes", "-l", "environment=production", "-o", "name").stdout.strip() == ""

    assert kubectl(url, "delete", "node", "azure-prd-02").stdout.strip() == 'node "azure-prd-02" deleted'
    r = kubectl(url, "get", "node", "azure-prd-02", check=False)
    assert r.returncode == 1 and 'Error from server (NotFound): nodes "azure-prd-02" not found' in r.stderr


def test_get_nodes_shows_ready_from_the_ready_condition(apiserver, kubectl):
    node = json.loads(json.dumps(NODE))
    node["status"] = {"conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}],
                      "nodeInfo": {"kubeletVersion": "v1.0.1"}}
    assert http("POST", apiserver.url + "/api/v1/nodes", node)[0] == 201
    lines = kubectl(apiserver.url, "get", "nodes").stdout.splitlines()
    assert lines[0].split() == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    row = lines[1].split()
    assert row[0:3] == ["azure-prd-02", "Ready", "<none>"] and row[4] == "v1.0.1"
    patch = {"status": {"conditions": [{"type": "Ready", "status": "False"}]}}
    code, _ = http("PATCH", apiserver.url + "/api/v1/nodes/azure-prd-02/status", patch,
                   "application/strategic-merge-patch+json")
    assert code == 200
    assert kubectl(apiserver.url, "get", "nodes").stdout.splitlines()[1].split()[1] == "NotReady"


def test_error_bodies_are_status_objects(apiserver):
    url = apiserver.url + "/api/v1/nodes"
    code, body = http("GET", url + "/nope")
    assert code == 404 and body == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                    "message": 'nodes "nope" not found', "reason": "NotFound",
                                    "details": {"name": "nope", "kind": "nodes"}, "code": 404}
    code, body = http("POST", url, {"kind": "Node", "apiVersion": "v1", "metadata": {"name": "Azure_02"}})
    assert code == 422 and body["reason"] == "Invalid"
    assert body["message"].startswith('Node "Azure_02" is invalid: metadata.name: Invalid value: "Azure_02": '
                                      "a lowercase RFC 1123 subdomain")
    assert body["details"]["causes"][0]["field"] == "metadata.name"
    # the original's register script: kind Minion, apiVersion v1beta1, "id" instead of metadata.name
    minion = {"id": "azure-prd-02", "kind": "Minion", "apiVersion": "v1beta1", "labels": {"environment": "production"}}
    code, body = http("POST", url, minion)
    assert code == 400 and body["reason"] == "BadRequest" and "v1beta1" in body["message"]
    code, body = http("POST", url, {**minion, "kind": "Node", "apiVersion": "v1"})
    assert code == 422 and "metadata.name: Required value" in body["message"]
    code, body = http("POST", url, {"kind": "Node", "apiVersion": "v1",
                                    "metadata": {"name": "n", "labels": {"Host?": "x", "ok": "bad value"}}})
    assert code == 422 and body["details"]["causes"][0]["field"] == "metadata.labels"
    assert len(body["details"]["causes"]) == 2
    code, body = http("GET", apiserver.url + "/api/v1/services")
    assert code == 404 and body["reason"] == "NotFound"
    code, body = http("PATCH", url + "/nope", {"metadata": {}}, "application/merge-patch+json")
    assert code == 404


def test_patches_and_updates(apiserver):
    url = apiserver.url + "/api/v1/nodes"
    code, created = http("POST", url, NODE)
    assert code == 201
    rv = created["metadata"]["resourceVersion"]

    code, node = http("PATCH", url + "/azure-prd-02", {"metadata": {"labels": {"host": None, "a": "1"}}},
                      "application/merge-patch+json")
    assert code == 200 and node["metadata"]["labels"] == {"a": "1"}
    assert int(node["metadata"]["resourceVersion"]) > int(rv)
    assert node["metadata"]["uid"] == created["metadata"]["uid"]

    code, node = http("PATCH", url + "/azure-prd-02", {"metadata": {"labels": {"b": "2"}}},
                      "application/strategic-merge-patch+json")
    assert node["metadata"]["labels"] == {"a": "1", "b": "2"}
    code, node = http("PATCH", url + "/azure-prd-02", [{"op": "add", "path": "/metadata/labels/c", "value": "3"}],
                      "application/json-patch+json")
    assert code == 200 and node["metadata"]["labels"]["c"] == "3"
    code, body = http("PATCH", url + "/azure-prd-02", {"metadata": {"labels": {"d": "-bad-"}}},
                      "application/merge-patch+json")
    assert code == 422

    # the status subresource merges conditions by type; the main resource leaves status alone
    for cond in ({"type": "Ready", "status": "True"}, {"type": "MemoryPressure", "status": "False"},
                 {"type": "Ready", "status": "False"}):
        code, node = http("PATCH", url + "/azure-prd-02/status", {"status": {"conditions": [cond]}},
                          "application/strategic-merge-patch+json")
        assert code == 200
    assert [(c["type"], c["status"]) for c in node["status"]["conditions"]] == [("Ready", "False"),
                                                                              ("MemoryPressure", "False")]
    code, node = http("PATCH", url + "/azure-prd-02", {"status": {"conditions": []}}, "application/merge-patch+json")
    assert len(node["status"]["conditions"]) == 2

    # PUT with a stale resourceVersion conflicts; with the current one it replaces
    stale = dict(node, metadata={**node["metadata"], "resourceVersion": rv, "labels": {"x": "y"}})
    code, body = http("PUT", url + "/azure-prd-02", stale)
    assert code == 409 and body["reason"] == "Conflict"
    fresh = dict(node, metadata={**node["metadata"], "labels": {"x": "y"}})
    code, body = http("PUT", url + "/azure-prd-02", fresh)
    assert code == 200 and body["metadata"]["labels"] == {"x": "y"}

    code, body = http("GET", url + "?labelSelector=x%3Dy")
    assert [i["metadata"]["name"] for i in body["items"]] == ["azure-prd-02"]
    assert body["kind"] == "NodeList" and int(body["metadata"]["resourceVersion"]) >= int(
        body["items"][0]["metadata"]["resourceVersion"])
    code, body = http("GET", url + "?labelSelector=x%21%3Dy")
    assert body["items"] == []
    code, body = http("DELETE", url + "/azure-prd-02")
    assert code == 200 and body["status"] == "Success"
    assert http("DELETE", url + "/azure-prd-02")[0] == 404


def test_data_survives_an_apiserver_restart(procs, server_bin, etcd, kubectl):
    first = start_apiserver(procs, server_bin, etcd)
    code, created = http("POST", first.url + "/api/v1/nodes", NODE)
    assert code == 201
    assert first.proc.stop() == 0  # SIGTERM: a clean exit
    second = start_apiserver(procs, server_bin, etcd, port=first.port, argv=first.argv)
    again = second.node("azure-prd-02")
    assert again["metadata"]["uid"] == created["metadata"]["uid"]
    assert again["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]
    assert kubectl(second.url, "get", "nodes", "-o", "name").stdout.strip() == "node/azure-prd-02"


def test_no_etcd_no_apiserver(procs, server_bin):
    dead = f"http://127.0.0.1:{free_port()}"
    port = free_port(API_ADDR)
    proc = procs.start([server_bin / "kube-apiserver", f"--address={API_ADDR}", f"--port={port}",
                        "--service-cluster-ip-range=10.100.0.0/16", f"--etcd-servers={dead},{dead}"])
    assert proc.wait_exit(15) == 1
    assert "Unable to reach any etcd server" in proc.log()


def test_apiserver_exits_fault(procs, standins, etcd):
    bin_dir = standins("v1.0.1", ["apiserver-exits"])
    proc = procs.start([bin_dir / "kube-apiserver", f"--address={API_ADDR}", f"--port={free_port(API_ADDR)}",
                        "--service-cluster-ip-range=10.100.0.0/16", f"--etcd-servers={etcd}"])
    assert proc.wait_exit(10) == 1
    assert "fault apiserver-exits" in proc.log()


def test_watch_and_kubectl_wait(apiserver, kubectl):
    assert http("POST", apiserver.url + "/api/v1/nodes", NODE)[0] == 201
    waiter = subprocess.Popen(kubectl.argv(apiserver.url, "wait", "--for=condition=Ready", "node/azure-prd-02",
                                           "--timeout=20s"), env=kubectl.env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1.5)
        assert waiter.poll() is None, waiter.communicate()
        code, _ = http("PATCH", apiserver.url + "/api/v1/nodes/azure-prd-02/status",
                       {"status": {"conditions": [{"type": "Ready", "status": "True"}]}},
                       "application/strategic-merge-patch+json")
        assert code == 200
        out, err = waiter.communicate(timeout=25)
    finally:
        if waiter.poll() is None:
            waiter.kill()
            waiter.wait()
    assert waiter.returncode == 0, err
    assert out.strip() == "node/azure-prd-02 condition met"


def test_modern_versions_validate_on_the_server(procs, standins, etcd, kubectl):
    """From 1.7 kubectl finds (minimal) OpenAPI and lets the server validate strictly."""
    bin_dir, port = standins("v1.19.16"), free_port(API_ADDR)
    api = start_apiserver(procs, bin_dir, etcd, port=port, argv=[
        bin_dir / "kube-apiserver", f"--insecure-bind-address={API_ADDR}", f"--insecure-port={port}",
        "--secure-port=0", "--service-cluster-ip-range=10.100.0.0/16", f"--etcd-servers={etcd}",
        f"--etcd-prefix=/modern-{port}"])
    kubectl(api.url, "create", "-f", "-", input=json.dumps(NODE))
    r = kubectl(api.url, "create", "-f", "-", check=False, input=json.dumps(
        {"kind": "Node", "apiVersion": "v1", "id": "x", "metadata": {"name": "n2"}}))
    assert r.returncode == 1 and 'strict decoding error: unknown field "id"' in r.stderr
    assert "Server Version: v1.19.16" in kubectl(api.url, "version").stdout


@pytest.mark.skipif(not shutil.which("openssl"), reason="openssl is not installed")
def test_secure_port_serves_tls_with_a_generated_certificate(procs, standins, etcd, kubectl, tmp_path):
    port, secure = free_port(API_ADDR), free_port(API_ADDR)
    bin_dir = standins("v1.19.16")
    argv = [bin_dir / "kube-apiserver", f"--insecure-bind-address={API_ADDR}", f"--insecure-port={port}",
            f"--bind-address={API_ADDR}", f"--secure-port={secure}", f"--cert-dir={tmp_path / 'certs'}",
            "--service-cluster-ip-range=10.100.0.0/16", f"--etcd-servers={etcd}", "--etcd-prefix=/tls-test"]
    start_apiserver(procs, bin_dir, etcd, port=port, argv=argv)
    r = kubectl(f"https://{API_ADDR}:{secure}", "--insecure-skip-tls-verify", "--token=unused",
                "get", "--raw", "/healthz")
    assert r.stdout == "ok"
    assert (tmp_path / "certs/apiserver.crt").is_file()


def test_wildcard_binds_are_refused(procs, server_bin, etcd):
    """The lab's hosts share one network namespace: 0.0.0.0 would land on the machine."""
    proc = procs.start([server_bin / "kube-apiserver", "--address=0.0.0.0", f"--port={free_port()}",
                        "--service-cluster-ip-range=10.100.0.0/16", f"--etcd-servers={etcd}"])
    assert proc.wait_exit(10) == 1
    assert "refusing to serve the insecure port on 0.0.0.0" in proc.log()


def test_describe_node_and_no_pods(apiserver, kubectl):
    kubectl(apiserver.url, "create", "--validate=false", "-f", "-", input=json.dumps(NODE))
    out = kubectl(apiserver.url, "describe", "node", "azure-prd-02").stdout
    assert out.startswith("Name:") and "azure-prd-02" in out and "host=azure" in out
    r = kubectl(apiserver.url, "get", "pods", "--all-namespaces")
    assert "No resources found" in r.stderr
    assert kubectl(apiserver.url, "get", "namespaces", "-o", "name").stdout.split() == [
        "namespace/default", "namespace/kube-system"]

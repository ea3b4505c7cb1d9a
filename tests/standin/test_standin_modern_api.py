"""Today's apiserver (v1.37.1 stand-in) as the real kubectl 1.37 sees it: TLS only,
x509 client certificates, Node,RBAC authorization and NodeRestriction. kubectl
comes from the pinned PyPI wheel (`kubefab_lab.kubectls`): these tests fail, not
skip, under CI when it cannot be had."""
from __future__ import annotations

import json
import os

import pytest

from conftest import Kubectl
from kubefab_lab import kubectls
from standin_helpers import API_ADDR, free_port, wait_until
from standin_pki import write_kubeconfig
from test_standin_tls import https

V = "v1.37.1"
ADMIN_NODE = "ded-prd-01"
NODE = "azure-prd-02"


@pytest.fixture(scope="session")
def kubectl137(tmp_path_factory):
    try:
        binary = kubectls.ensure("1.37")
    except kubectls.KubectlUnavailable as e:
        if os.environ.get("CI"):
            pytest.fail(f"kubectl 1.37 is missing: {e}")
        pytest.skip(f"kubectl 1.37 is missing: {e}")
    return Kubectl(binary, tmp_path_factory.mktemp("kubectl137-home"))


@pytest.fixture
def api(procs, standins, etcd, pki):
    secure = free_port(API_ADDR)
    argv = [standins(V) / "kube-apiserver", f"--bind-address={API_ADDR}", f"--secure-port={secure}",
            f"--tls-cert-file={pki.apiserver.cert}", f"--tls-private-key-file={pki.apiserver.key}",
            f"--client-ca-file={pki.ca.crt}", f"--etcd-servers={etcd}", f"--etcd-prefix=/modern-{secure}",
            "--authorization-mode=Node,RBAC", "--enable-admission-plugins=NamespaceLifecycle,NodeRestriction",
            f"--service-account-issuer=https://{API_ADDR}:{secure}", f"--service-account-key-file={pki.ca.crt}",
            f"--service-account-signing-key-file={pki.ca.pair.key}", "--service-cluster-ip-range=10.32.0.0/24",
            "--v=2"]
    proc = procs.start(argv, "kube-apiserver")
    url = f"https://{API_ADDR}:{secure}"

    def up():
        assert proc.alive(), proc.log()
        try:
            return https(url + "/readyz", pki) == (200, b"ok")
        except OSError:
            return False

    wait_until(up, 15, "the apiserver's /readyz")
    return url


@pytest.fixture
def admin(api, pki, tmp_path):
    return write_kubeconfig(tmp_path / "admin.kubeconfig", api, pki.ca.crt, pki.admin, "admin")


@pytest.fixture
def node_cfg(api, pki, tmp_path):
    return write_kubeconfig(tmp_path / "node.kubeconfig", api, pki.ca.crt, pki.nodes[NODE], f"system:node:{NODE}")


def node_object(name):
    return json.dumps({"kind": "Node", "apiVersion": "v1", "metadata": {"name": name, "labels": {"host": name}}})


def test_admin_gets_labels_cordons_and_uncordons(api, admin, kubectl137):
    k = kubectl137.with_kubeconfig
    assert f"Server Version: {V}" in k(admin, "version").stdout
    k(admin, "create", "--validate=false", "-f", "-", input=node_object(ADMIN_NODE))
    k(admin, "label", "node", ADMIN_NODE, "node-role.kubernetes.io/control-plane=", "environment=production")
    lines = k(admin, "get", "nodes").stdout.splitlines()
    assert lines[0].split() == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    assert lines[1].split()[:3] == [ADMIN_NODE, "Unknown", "control-plane"]
    assert "cordoned" in k(admin, "cordon", ADMIN_NODE).stdout
    assert k(admin, "get", "nodes").stdout.splitlines()[1].split()[1] == "Unknown,SchedulingDisabled"
    assert "uncordoned" in k(admin, "uncordon", ADMIN_NODE).stdout
    node = json.loads(k(admin, "get", "node", ADMIN_NODE, "-o", "json").stdout)
    assert not node["spec"].get("unschedulable") and node["metadata"]["labels"]["environment"] == "production"


def test_admin_removes_a_label_and_records_annotations_as_kubefab_does(api, admin, kubectl137):
    """kubefab.registration's commands: `label --overwrite node N k=v old-`, then
    `annotate --overwrite node N kubefab.io/labels=...` (merge patches from kubectl 1.37)."""
    k = kubectl137.with_kubeconfig
    k(admin, "create", "--validate=false", "-f", "-", input=node_object(ADMIN_NODE))
    k(admin, "label", "--overwrite", "node", ADMIN_NODE, "env=prod", "old=x")
    k(admin, "label", "--overwrite", "node", ADMIN_NODE, "env=dev", "old-")
    k(admin, "annotate", "--overwrite", "node", ADMIN_NODE, "kubefab.io/labels=env,host")
    k(admin, "annotate", "--overwrite", "node", ADMIN_NODE, "kubefab.io/labels=env")
    meta = json.loads(k(admin, "get", "node", ADMIN_NODE, "-o", "json").stdout)["metadata"]
    assert meta["labels"] == {"host": ADMIN_NODE, "env": "dev"}
    assert meta["annotations"] == {"kubefab.io/labels": "env"}


def test_auth_can_i(api, admin, node_cfg, kubectl137):
    k = kubectl137.with_kubeconfig
    assert k(admin, "auth", "can-i", "delete", "nodes").stdout.strip() == "yes"
    assert k(node_cfg, "auth", "can-i", "patch", f"node/{NODE}").stdout.strip() == "yes"
    r = k(node_cfg, "auth", "can-i", "patch", f"node/{ADMIN_NODE}", check=False)
    # kubectl prints the Node authorizer's reason after "no - "
    assert r.returncode == 1
    assert r.stdout.strip() == f"no - node '{NODE}' cannot modify '{ADMIN_NODE}', only its own Node object"
    r = k(node_cfg, "auth", "can-i", "list", "namespaces", check=False)
    assert (r.returncode, r.stdout.strip()) == (1, "no")


def test_a_node_may_touch_only_its_own_node(api, admin, node_cfg, kubectl137):
    k = kubectl137.with_kubeconfig
    k(admin, "create", "--validate=false", "-f", "-", input=node_object(ADMIN_NODE))
    k(node_cfg, "create", "--validate=false", "-f", "-", input=node_object(NODE))
    assert json.loads(k(node_cfg, "get", "node", NODE, "-o", "json").stdout)["metadata"]["name"] == NODE
    r = k(node_cfg, "get", "node", ADMIN_NODE, check=False)
    assert r.returncode == 1
    assert (f'nodes "{ADMIN_NODE}" is forbidden: User "system:node:{NODE}" cannot get resource "nodes" in API '
            f'group "" at the cluster scope') in r.stderr
    r = k(node_cfg, "create", "--validate=false", "-f", "-", input=node_object("someone-else"), check=False)
    assert 'node "azure-prd-02" is not allowed to modify node "someone-else"' in r.stderr


def test_node_restriction_refuses_restricted_labels(api, node_cfg, kubectl137):
    k = kubectl137.with_kubeconfig
    k(node_cfg, "create", "--validate=false", "-f", "-", input=node_object(NODE))
    k(node_cfg, "label", "node", NODE, "environment=production", "node.kubernetes.io/instance-type=big")
    for label in ("node-role.kubernetes.io/worker=", "node-restriction.kubernetes.io/pool=a"):
        r = k(node_cfg, "label", "node", NODE, label, check=False)
        assert r.returncode == 1
        assert f'nodes "{NODE}" is forbidden: is not allowed to modify labels: {label.split("=")[0]}' in r.stderr


def test_anonymous_reaches_only_the_health_checks(api, pki):
    assert https(api + "/readyz", pki) == (200, b"ok")
    assert https(api + "/livez", pki) == (200, b"ok")
    code, body = https(api + "/readyz?verbose", pki)
    assert code == 200 and b"[+]etcd ok" in body and body.endswith(b"readyz check passed\n")
    code, body = https(api + "/api/v1/nodes", pki)
    assert code == 403
    assert json.loads(body)["message"] == ('nodes is forbidden: User "system:anonymous" cannot list resource "nodes" '
                                           'in API group "" at the cluster scope')
    assert https(api + "/apis", pki)[0] == 403


def test_no_insecure_port(procs, standins):
    r = procs.start([standins(V) / "kube-apiserver", "--insecure-port=8080"], "kube-apiserver")
    assert r.wait_exit(10) == 1 and r.log().endswith("Error: unknown flag: --insecure-port\n")


def test_kubefab_rbac_manifest_applies_once_then_unchanged(api, admin, node_cfg, kubectl137):
    from kubefab.profiles.modern import render as modern
    k = kubectl137.with_kubeconfig
    manifest = modern.rbac_manifest(None)
    first = k(admin, "apply", "--validate=false", "-f", "-", input=manifest)
    assert first.stdout.strip() == "clusterrolebinding.rbac.authorization.k8s.io/kubefab:apiserver-kubelet-client created"
    again = k(admin, "apply", "--validate=false", "-f", "-", input=manifest)
    assert again.stdout.strip().endswith(" unchanged"), again.stdout + again.stderr
    got = json.loads(k(admin, "get", "clusterrolebinding", "kubefab:apiserver-kubelet-client", "-o", "json").stdout)
    assert got["roleRef"]["name"] == "system:kubelet-api-admin"
    refused = k(node_cfg, "apply", "--validate=false", "-f", "-", input=manifest, check=False)
    assert refused.returncode != 0 and "forbidden" in refused.stderr.lower()

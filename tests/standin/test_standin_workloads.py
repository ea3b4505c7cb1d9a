"""Today's (v1.37.1) stand-ins running workloads, seen with the real kubectl 1.37:
a CoreDNS-like add-on applied twice (the second changes nothing) and rolled out on two
nodes by the controller manager, scheduler and kubelets; ClusterIPs from the service
range; RBAC enforced; a CSR approved with kubectl and signed; what a kubelet registers."""
from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from modern_cluster import NODES, Cluster
from standin_helpers import Procs, wait_until
from test_standin_modern_api import kubectl137  # noqa: F401 - the fixture

MANIFEST = (Path(__file__).parent / "manifests/coredns.yaml").read_text()


@pytest.fixture(scope="module")
def cluster(standins, etcd, pki, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("workloads")
    procs = Procs(tmp)
    c = Cluster(procs, standins, etcd, pki, tmp)
    try:
        c.apiserver()
        c.cm = c.controller_manager()
        c.sched = c.scheduler()
        c.kubelets = {n: c.kubelet(n, labels="environment=production") for n in NODES}
        yield c
    finally:
        procs.stop_all()


def kube(kubectl137, cluster, who="super"):
    config = cluster.kubeconfig(who)
    return lambda *args, **kw: kubectl137.with_kubeconfig(config, *args, **kw)


def test_coredns_applies_twice_and_rolls_out_on_two_nodes(cluster, kubectl137):
    k = kube(kubectl137, cluster)
    wait_until(lambda: len(json.loads(k("get", "nodes", "-o", "json").stdout)["items"]) == 2, 15, "two nodes")
    first = k("apply", "-f", "-", input=MANIFEST).stdout.splitlines()
    assert first == ["serviceaccount/coredns created", "clusterrole.rbac.authorization.k8s.io/system:coredns created",
                     "clusterrolebinding.rbac.authorization.k8s.io/system:coredns created",
                     "configmap/coredns created", "deployment.apps/coredns created", "service/kube-dns created"]
    again = k("apply", "-f", "-", input=MANIFEST).stdout.splitlines()
    assert again == [line.replace(" created", " unchanged") for line in first]
    out = k("rollout", "status", "-n", "kube-system", "deployment/coredns", "--timeout=60s", timeout=90).stdout
    assert 'deployment "coredns" successfully rolled out' in out
    pods = json.loads(k("get", "pods", "-n", "kube-system", "-l", "k8s-app=kube-dns", "-o", "json").stdout)["items"]
    assert sorted(p["spec"]["nodeName"] for p in pods) == sorted(NODES)
    assert all(p["status"]["phase"] == "Running" and p["status"]["podIP"].startswith("10.200.") for p in pods)
    svc = json.loads(k("get", "service", "-n", "kube-system", "kube-dns", "-o", "json").stdout)
    assert svc["spec"]["clusterIP"] == "10.32.0.10"
    row = k("get", "deployment", "-n", "kube-system", "coredns").stdout.splitlines()
    assert row[0].split() == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"] and row[1].split()[:4] == [
        "coredns", "2/2", "2", "2"]
    ssa = k("apply", "--server-side", "-f", "-", input=MANIFEST).stdout.splitlines()
    assert ssa == [line.replace(" created", " serverside-applied") for line in first]


def service(name: str, ip: str) -> str:
    """A Service manifest (kubectl's generators send protobuf, which the stand-in does not read)."""
    return json.dumps({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
                       "spec": {"clusterIP": ip, "ports": [{"port": 80}]}})


def test_a_service_address_outside_the_range_or_taken_is_refused(cluster, kubectl137):
    k = kube(kubectl137, cluster)
    r = k("create", "-f", "-", input=service("outside", "10.99.0.5"), check=False)
    assert r.returncode == 1
    assert ('The Service "outside" is invalid: spec.clusterIPs: Invalid value: []string{"10.99.0.5"}: failed to '
            'allocate IP 10.99.0.5: provided IP is not in the valid range. The range of valid IPs is 10.32.0.0/24'
            in r.stderr), r.stderr
    kubernetes = json.loads(k("get", "service", "kubernetes", "-o", "json").stdout)
    assert kubernetes["spec"]["clusterIP"] == "10.32.0.1"
    r = k("create", "-f", "-", input=service("taken", "10.32.0.1"), check=False)
    assert "failed to allocate IP 10.32.0.1: provided IP is already allocated" in r.stderr, r.stderr


def test_rbac_refuses_an_unbound_admin_until_the_binding_exists(cluster, kubectl137):
    admin, super_ = kube(kubectl137, cluster, "admin"), kube(kubectl137, cluster)
    r = admin("get", "nodes", check=False)
    assert r.returncode == 1
    assert ('nodes is forbidden: User "kubefab-admin" cannot list resource "nodes" in API group "" at the '
            'cluster scope') in r.stderr
    assert admin("auth", "can-i", "create", "deployments", check=False).stdout.strip() == "no"
    super_("create", "-f", "-", input=json.dumps({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": "kubeadm:cluster-admins"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "kubeadm:cluster-admins"}]}))
    wait_until(lambda: admin("get", "nodes", check=False).returncode == 0, 5, "the binding to take effect")
    assert admin("auth", "can-i", "create", "deployments").stdout.strip() == "yes"
    nobody = kube(kubectl137, cluster, "nobody")
    r = nobody("get", "configmaps", "-n", "kube-system", check=False)
    assert 'configmaps is forbidden: User "jane" cannot list resource "configmaps" in API group "" in the ' \
           'namespace "kube-system"' in r.stderr


def _csr_pem(cn: str, orgs=(), dns=()) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in orgs]
                     + [x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    b = x509.CertificateSigningRequestBuilder().subject_name(name)
    if dns:
        b = b.add_extension(x509.SubjectAlternativeName([x509.DNSName(d) for d in dns]), critical=False)
    return b.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


def _csr(name, signer, usages, pem) -> str:
    return json.dumps({"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
                       "metadata": {"name": name}, "spec": {"signerName": signer, "usages": usages,
                                                            "request": base64.b64encode(pem).decode()}})


def _issued(k, name):
    csr = json.loads(k("get", "csr", name, "-o", "json").stdout)
    cert = (csr.get("status") or {}).get("certificate")
    return x509.load_pem_x509_certificate(base64.b64decode(cert)) if cert else None


def test_a_csr_approved_with_kubectl_is_signed_and_a_kubelet_client_csr_is_auto_approved(cluster, kubectl137, pki):
    k = kube(kubectl137, cluster)
    pem = _csr_pem("system:node:azure-prd-02", ["system:nodes"], dns=["azure-prd-02"])
    k("create", "-f", "-", input=_csr("serving-1", "kubernetes.io/kubelet-serving",
                                      ["digital signature", "server auth"], pem))
    time.sleep(1.5)
    assert _issued(k, "serving-1") is None, "signed before anyone approved it"
    assert "approved" in k("certificate", "approve", "serving-1").stdout
    cert = wait_until(lambda: _issued(k, "serving-1"), 15, "the signed certificate")
    assert cert.issuer == x509.load_pem_x509_certificate(pki.ca.crt.read_bytes()).subject
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "system:node:azure-prd-02"
    assert cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
        x509.DNSName) == ["azure-prd-02"]
    assert k("get", "csr", "serving-1").stdout.splitlines()[1].split()[-1] == "Approved,Issued"
    node = kube(kubectl137, cluster, "ded-prd-01")
    node("create", "-f", "-", input=_csr("client-1", "kubernetes.io/kube-apiserver-client-kubelet",
                                         ["digital signature", "client auth"],
                                         _csr_pem("system:node:ded-prd-01", ["system:nodes"])))
    time.sleep(1.5)  # the bootstrap policy binds selfnodeclient to nobody: the approver's SAR says no
    assert k("get", "csr", "client-1").stdout.splitlines()[1].split()[-1] == "Pending"
    k("create", "-f", "-", input=json.dumps({  # kubeadm's binding for kubelet client certificate rotation
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": "kubeadm:node-autoapprove-certificate-rotation"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                    "name": "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "system:nodes"}]}))
    wait_until(lambda: _issued(k, "client-1"), 15, "the kubelet client CSR auto-approved and signed")
    conds = json.loads(k("get", "csr", "client-1", "-o", "json").stdout)["status"]["conditions"]
    assert [(c["type"], c["reason"]) for c in conds] == [("Approved", "AutoApproved")]


def test_a_kubelet_registers_as_the_real_one_does(cluster, kubectl137):
    k = kube(kubectl137, cluster)
    node = wait_until(lambda: json.loads(k("get", "node", "ded-prd-01", "-o", "json", check=False).stdout or "{}"),
                      15, "the node")
    labels = node["metadata"]["labels"]
    assert {k_: labels[k_] for k_ in ("kubernetes.io/hostname", "kubernetes.io/os", "kubernetes.io/arch",
                                      "beta.kubernetes.io/os", "beta.kubernetes.io/arch", "environment")} == {
        "kubernetes.io/hostname": "ded-prd-01", "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/os": "linux", "beta.kubernetes.io/arch": "amd64", "environment": "production"}
    assert node["metadata"]["annotations"]["volumes.kubernetes.io/controller-managed-attach-detach"] == "true"
    assert {a["type"]: a["address"] for a in node["status"]["addresses"]} == {
        "InternalIP": NODES["ded-prd-01"], "Hostname": "ded-prd-01"}
    lease = wait_until(lambda: json.loads(k("get", "lease", "-n", "kube-node-lease", "ded-prd-01", "-o", "json",
                                            check=False).stdout or "{}"), 15, "the node lease")
    assert lease["spec"]["holderIdentity"] == "ded-prd-01" and lease["spec"]["leaseDurationSeconds"] == 40
    assert lease["metadata"]["ownerReferences"][0]["uid"] == node["metadata"]["uid"]


def test_a_server_side_dry_run_reserves_no_service_address(cluster, kubectl137):
    """kubectl diff --server-side (kubefab's add-on plan) sends a dry-run apply: the real
    apiserver's dry-run allocator reserves nothing, so the apply that follows gets the address."""
    k = kube(kubectl137, cluster)
    svc = service("dry-one", "10.32.0.77")
    assert k("diff", "--server-side", "-f", "-", input=svc, check=False).returncode == 1  # a new object: a diff
    assert k("diff", "--server-side", "-f", "-", input=svc, check=False).returncode == 1  # still free
    assert k("apply", "--server-side", "-f", "-", input=svc).stdout.strip() == "service/dry-one serverside-applied"
    assert k("diff", "--server-side", "-f", "-", input=svc, check=False).returncode == 0  # as applied: no diff
    got = json.loads(k("get", "service", "dry-one", "-o", "json").stdout)
    assert got["spec"]["clusterIP"] == "10.32.0.77"

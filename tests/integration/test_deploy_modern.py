"""fab deploy of today's Kubernetes on the lab: the repo's hosts.yaml with only its
version changed (plus the lab's mirror and sums, kubefab's own etcd, the lab's network
unit), checked with the real kubectl of that minor and over SSH. For the minors in
PUBLISHED_SUMS the inventory has no sums: each download is verified against the sum
file the mirror publishes beside it, as from upstream. The lab serves the
release as a mirror (kubefab_lab.mirror): stand-in Kubernetes programs and containerd,
the real etcd (Debian's) and the real kubectl.

Every supported minor in turn (a lab boot and a deploy each, about 40 s);
KUBEFAB_MODERN_VERSIONS=v1.37.1 runs only that one. The tests of one version run in
file order."""
import base64
import json
import os
import ssl
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.x509.oid import NameOID

from kubefab.inventory import load
from kubefab_lab import Lab, kubectls

from .conftest import NET, ROOT, free_port_pair, lab_prerequisites, slotted
from .helpers import fab, on_host, unit_starts

pytestmark = pytest.mark.lab

VERSIONS = os.environ.get("KUBEFAB_MODERN_VERSIONS", "v1.35.9,v1.36.4,v1.37.1,v1.38.0").split(",")
MASTER_UNITS = ["kubernetes.apiserver.service", "kubernetes.scheduler.service",
                "kubernetes.controller-manager.service", "kubernetes.etcd.service"]
NODE_UNITS = ["kubernetes.containerd.service", "kubernetes.kubelet.service", "kubernetes.proxy.service"]
PUBLISHED_SUMS = {"1.37"}  # the others keep the inventory's sums, so both ways run for real
COREDNS = {"1.35": "v1.13.1", "1.36": "v1.14.2", "1.37": "v1.14.6", "1.38": "v1.14.7"}  # kubeadm's, per minor


@pytest.fixture(scope="module", params=VERSIONS)
def modern_lab(request):
    """The repo's cluster at this version, on 127.0.N.20.. (beside the session's v1.0
    lab, should both be up), with its own state, build dir and cgroup."""
    reason = lab_prerequisites()
    if reason:
        pytest.skip(f"no lab: {reason}")
    version = request.param
    minor = ".".join(version.lstrip("v").split(".")[:2])
    lab = Lab(Path(f"/var/lib/kubefab/{slotted('lab-modern')}"), ROOT / f"build/lab-v{minor}",
              first_address=20, net=NET, etcd_port=free_port_pair(), cgroup=slotted("lab-modern"))
    lab.up(ROOT / "hosts.yaml", version=version, pin_sums=minor not in PUBLISHED_SUMS)
    yield lab, minor
    lab.down()


@pytest.fixture(scope="module")
def inventory(modern_lab):
    return modern_lab[0].inventory_path


@pytest.fixture(scope="module")
def fresh(inventory):
    return fab(inventory, "deploy")


@pytest.fixture(scope="module")
def kubectl(modern_lab, inventory):
    """The real kubectl of this minor, as the operator with pki/admin.kubeconfig."""
    binary = kubectls.ensure(modern_lab[1])
    admin = load(inventory).kubernetes.pki_dir / "admin.kubeconfig"

    def run(*args, check=True):
        return subprocess.run([str(binary), "--kubeconfig", str(admin), *args], capture_output=True,
                              text=True, check=check, timeout=60)
    run.binary = binary
    return run


def all_starts(inventory):
    inv = load(inventory)
    return {h.name: unit_starts(inventory, h.name, MASTER_UNITS if h.is_master else NODE_UNITS)
            for h in inv.hosts}


def test_the_lab_inventory_is_hosts_yaml_with_the_version_and_the_labs_mirror(inventory, modern_lab):
    doc = yaml.safe_load(inventory.read_text())
    k = doc["kubernetes"]
    assert k["version"] == modern_lab[0].layout.read_state()["version"]
    assert k["mirror"].startswith("http://127.0.0.1:")
    assert ("sha256" not in k) if modern_lab[1] in PUBLISHED_SUMS else len(k["sha256"]) == 10
    assert "etcd_servers" not in k and "release_url" not in k
    assert load(inventory).kubernetes.managed_etcd


def test_fresh_deploy_gives_four_ready_nodes_with_their_labels(inventory, fresh, kubectl):
    assert "applied kubefab's objects" in fresh.stdout
    items = json.loads(kubectl("get", "nodes", "-o", "json").stdout)["items"]
    got = {i["metadata"]["name"]: i for i in items}
    inv = load(inventory)
    assert sorted(got) == sorted(h.name for h in inv.nodes)
    for h in inv.nodes:
        labels = got[h.name]["metadata"]["labels"]
        assert {k: labels.get(k) for k in inv.node_labels(h)} == inv.node_labels(h)
        ready = [c for c in got[h.name]["status"]["conditions"] if c["type"] == "Ready"]
        assert ready and ready[0]["status"] == "True"
    assert kubectl("get", "nodes").stdout.count(" Ready ") == 4


def test_the_cluster_dns_runs_as_kubeadm_deploys_it_for_this_minor(inventory, fresh, kubectl, modern_lab):
    """CoreDNS applied once the apiserver is ready: its Deployment, the Service kube-dns at
    the inventory's cluster DNS address (the kubelets' clusterDNS), seen by the real kubectl."""
    inv = load(inventory)
    assert f"applied add-on coredns {COREDNS[modern_lab[1]]} (6 objects)" in fresh.stdout
    dep = json.loads(kubectl("get", "deployment", "-n", "kube-system", "coredns", "-o", "json").stdout)
    assert dep["spec"]["replicas"] == 2
    assert dep["spec"]["template"]["spec"]["containers"][0]["image"] == \
        f"registry.k8s.io/coredns/coredns:{COREDNS[modern_lab[1]]}"
    svc = json.loads(kubectl("get", "service", "-n", "kube-system", "kube-dns", "-o", "json").stdout)
    assert svc["spec"]["clusterIP"] == inv.kubernetes.dns_address == "10.100.0.10"
    config = on_host(inventory, "azure-prd-02", ["cat", "/var/lib/kubelet/kubelet-config.yaml"]).stdout
    assert yaml.safe_load(config)["clusterDNS"] == [inv.kubernetes.dns_address]


def test_nodes_carry_what_a_kubelet_sets_when_kubefab_registers_them(inventory, fresh, kubectl):
    """hosts.yaml registers nodes by hand (registration: manual): the Node kubefab creates
    has the kubelet's own labels and annotation, hostname scheduling works on it."""
    for node in json.loads(kubectl("get", "nodes", "-o", "json").stdout)["items"]:
        meta = node["metadata"]
        assert {k: meta["labels"].get(k) for k in ("kubernetes.io/hostname", "kubernetes.io/os", "kubernetes.io/arch")} \
            == {"kubernetes.io/hostname": meta["name"], "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64"}
        assert meta["annotations"]["volumes.kubernetes.io/controller-managed-attach-detach"] == "true"


def test_the_admin_is_bound_by_rbac_and_the_super_admin_never_reaches_the_master(inventory, fresh, kubectl):
    pki_dir = load(inventory).kubernetes.pki_dir
    admin = yaml.safe_load((pki_dir / "admin.kubeconfig").read_text())["users"][0]["user"]
    cert = x509.load_pem_x509_certificate(base64.b64decode(admin["client-certificate-data"]))
    assert [a.value for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)] == ["kubeadm:cluster-admins"]
    assert kubectl("auth", "can-i", "create", "deployments").stdout.strip() == "yes"  # through its binding
    binding = json.loads(kubectl("get", "clusterrolebinding", "kubeadm:cluster-admins", "-o", "json").stdout)
    assert binding["roleRef"]["name"] == "cluster-admin" and binding["subjects"][0]["name"] == "kubeadm:cluster-admins"
    secret = yaml.safe_load((pki_dir / "super-admin.kubeconfig").read_text())["users"][0]["user"]["client-key-data"]
    key_line = base64.b64decode(secret).decode().splitlines()[1]  # a line of the super-admin's private key
    found = on_host(inventory, "azure-prd-01", ["grep", "-rlF", key_line, "/etc", "/var/lib", "/root", "/run", "/tmp"],
                    check=False)
    assert found.stdout == "" and "kubefab-super-admin" not in on_host(
        inventory, "azure-prd-01", ["ls", "-R", "/var/lib/kubernetes"]).stdout


def test_the_master_runs_the_real_etcd_over_tls_and_nodes_a_containerd(inventory, fresh):
    states = all_starts(inventory)
    assert all(s[0] == "active" for units in states.values() for s in units.values()), states
    etcd = on_host(inventory, "azure-prd-01", ["/opt/bin/etcd", "--version"]).stdout
    assert "etcd Version: 3." in etcd  # Debian's, served as the release's etcd
    log = on_host(inventory, "azure-prd-01", ["journalctl", "-u", "kubernetes.apiserver.service", "--no-pager",
                                             "-o", "cat"]).stdout
    assert "etcd: using https://" in log
    kubelet = on_host(inventory, "azure-prd-02", ["journalctl", "-u", "kubernetes.kubelet.service", "--no-pager",
                                                 "-o", "cat"]).stdout
    assert "Connected to the container runtime at unix:///run/containerd/containerd.sock" in kubelet


def test_each_download_was_verified_against_the_inventorys_or_the_published_sum(inventory, fresh, modern_lab):
    k = load(inventory).kubernetes
    source = "published" if modern_lab[1] in PUBLISHED_SUMS else "inventory"
    for host, binary in (("azure-prd-01", "etcd"), ("azure-prd-02", "kubelet"), ("azure-prd-02", "runc")):
        state = on_host(inventory, host, ["cat", f"{k.install_dir.rstrip('/')}/.kubefab-release",
                                          f"{k.install_dir.rstrip('/')}/{binary}.sha256"]).stdout.split("\n")
        assert f" sums={source}" in state[0]
        if binary != "etcd":  # an archive's sum is the tarball's
            assert state[1] == on_host(inventory, host, ["sha256sum", f"{k.bin_dir}/{binary}"]).stdout.split()[0]
    log = on_host(inventory, "azure-prd-02", ["journalctl", "-u", "kubernetes.download.service", "--no-pager",
                                             "-o", "cat"]).stdout
    assert "kubelet: downloading" in log and "installed" in log


def test_a_node_cannot_label_another_node(inventory, fresh):
    r = on_host(inventory, "azure-prd-02", ["/opt/bin/kubectl", "--kubeconfig", "/var/lib/kubelet/kubeconfig",
                                           "label", "--overwrite", "node", "azure-prd-03", "tier=stolen"],
                check=False)
    assert not r.ok and "Forbidden" in r.stderr and 'User "system:node:azure-prd-02"' in r.stderr
    own = on_host(inventory, "azure-prd-02", ["/opt/bin/kubectl", "--kubeconfig", "/var/lib/kubelet/kubeconfig",
                                             "label", "--overwrite", "node", "azure-prd-02",
                                             "node-role.kubernetes.io/admin=x"], check=False)
    assert not own.ok and "Forbidden" in own.stderr  # NodeRestriction


def test_anonymous_get_nodes_is_refused(inventory, fresh):
    inv = load(inventory)
    cafile = ssl.create_default_context(cafile=str(inv.kubernetes.pki_dir / "ca.crt"))  # no client certificate
    with pytest.raises(urllib.error.HTTPError) as anonymous:
        urllib.request.urlopen(f"{inv.secure_master_url}/api/v1/nodes", timeout=10, context=cafile)
    # Anonymous requests are on by default (--anonymous-auth): RBAC refuses them.
    assert anonymous.value.code == 403 and b'User \\"system:anonymous\\" cannot list' in anonymous.value.read()


def test_second_deploy_changes_nothing(inventory, fresh):
    before = all_starts(inventory)
    r = fab(inventory, "deploy")
    assert r.stdout.count("no changes: files, units and release already as wanted") == 5, r.stdout
    assert "wrote" not in r.stdout and "restarted" not in r.stdout and "RBAC" not in r.stdout
    assert "add-on" not in r.stdout and "preflight" not in r.stdout  # nothing to apply, no host to change
    assert all_starts(inventory) == before


def test_an_add_on_opted_out_is_deleted_and_stays_absent(inventory, fresh, kubectl):
    data = yaml.safe_load(inventory.read_text())
    data["kubernetes"]["addons"] = {"coredns": False}
    off = inventory.parent / "hosts-no-dns.yaml"
    off.write_text(yaml.safe_dump(data, sort_keys=False))
    dry = fab(off, "deploy", "--dry-run")
    assert "[azure-prd-01] delete add-on coredns (6 objects): kubernetes.addons.coredns is false" in dry.stdout
    assert kubectl("get", "deployment", "-n", "kube-system", "coredns", check=False).returncode == 0  # a dry run
    fab(off, "deploy")
    for kind, name in (("deployment", "coredns"), ("service", "kube-dns"), ("clusterrole", "system:coredns")):
        r = kubectl("get", kind, "-n", "kube-system", name, check=False)
        assert r.returncode == 1 and "NotFound" in r.stderr, (kind, r.stderr)
    assert "add-on" not in fab(off, "deploy").stdout  # absent stays absent
    back = fab(inventory, "deploy")
    assert "applied add-on coredns" in back.stdout


def test_changing_one_kubelet_setting_restarts_exactly_the_kubelets(inventory, fresh):
    data = yaml.safe_load(inventory.read_text())
    data["kubernetes"]["cluster_dns"] = "10.100.0.53"
    changed = inventory.parent / "hosts-changed.yaml"
    changed.write_text(yaml.safe_dump(data, sort_keys=False))
    before = all_starts(inventory)
    r = fab(changed, "deploy")
    after = all_starts(changed)
    moved = {(h, u) for h in after for u in after[h] if after[h][u] != before[h][u]}
    inv = load(inventory)
    assert moved == {(h.name, "kubernetes.kubelet.service") for h in inv.nodes}, r.stdout
    # the cluster DNS Service follows: its clusterIP cannot change, so it is made again
    assert "[azure-prd-01] deleted service kube-system/kube-dns to make it again" in r.stdout
    assert all(s[0] == "active" for units in after.values() for s in units.values())
    fab(inventory, "deploy")  # back as it was


def test_a_label_only_the_admin_may_set_comes_from_kubectl_on_the_master(inventory, fresh, kubectl):
    data = yaml.safe_load(inventory.read_text())
    data["hosts"]["ded-prd-01"]["labels"]["node-role.kubernetes.io/worker"] = "true"
    changed = inventory.parent / "hosts-roles.yaml"
    changed.write_text(yaml.safe_dump(data, sort_keys=False))
    # and a run that labels re-applies kubefab's RBAC objects, should they be gone
    kubectl("delete", "clusterrolebinding", "kubefab:apiserver-kubelet-client")
    before = all_starts(inventory)
    r = fab(changed, "deploy")
    assert "[azure-prd-01] label node ded-prd-01 node-role.kubernetes.io/worker=true" in r.stdout
    assert "kubefab:apiserver-kubelet-client created" in r.stdout
    assert all_starts(changed) == before  # the kubelet's flags and register_node.sh stay as they were
    row = next(line for line in kubectl("get", "nodes").stdout.splitlines() if line.startswith("ded-prd-01"))
    assert row.split()[2] == "worker"


def test_a_label_dropped_from_hosts_yaml_is_removed_by_the_next_deploy(inventory, fresh, kubectl):
    """Both kinds kubefab sets count as its own: one the kubelet registered with
    (--node-labels: workload) and one kubectl on the master set (the worker role, from the
    test before); a label set by hand stays."""
    fab(inventory.parent / "hosts-roles.yaml", "deploy")  # the worker role, as the test before left it
    kubectl("label", "node", "ded-prd-01", "team=blue")
    data = yaml.safe_load(inventory.read_text())
    del data["hosts"]["ded-prd-01"]["labels"]["workload"]
    dropped = inventory.parent / "hosts-dropped.yaml"
    dropped.write_text(yaml.safe_dump(data, sort_keys=False))
    dry = fab(dropped, "deploy", "--dry-run")
    assert ("[azure-prd-01] label node ded-prd-01 node-role.kubernetes.io/worker- (no longer in hosts.yaml) "
            "workload- (no longer in hosts.yaml)") in dry.stdout, dry.stdout
    fab(dropped, "deploy")
    got = json.loads(kubectl("get", "node", "ded-prd-01", "-o", "json").stdout)["metadata"]["labels"]
    assert "workload" not in got and "node-role.kubernetes.io/worker" not in got and got["team"] == "blue"
    kubectl("label", "node", "ded-prd-01", "team-")
    fab(inventory, "deploy")  # back as it was
    got = json.loads(kubectl("get", "node", "ded-prd-01", "-o", "json").stdout)["metadata"]["labels"]
    assert got["workload"] == "processing-intensive"


def test_master_restart_and_status_on_the_modern_master(inventory, fresh):
    before = unit_starts(inventory, "azure-prd-01", MASTER_UNITS)
    r = fab(inventory, "master.restart")
    assert "apiserver ok (https://" in r.stdout, r.stdout
    after = unit_starts(inventory, "azure-prd-01", MASTER_UNITS)
    for unit in MASTER_UNITS:
        assert after[unit][0] == "active" and after[unit][1] != before[unit][1], unit
    status = fab(inventory, "status", check=False)
    assert status.returncode == 0 and "OK: the cluster is as the inventory says" in status.stdout, status.stdout

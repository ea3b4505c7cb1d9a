"""The orchestration's modern-profile parts, pure: which labels a node sets itself and
which kubectl sets on the master, kubectl as the admin (root) instead of the insecure
port, the repo's hosts.yaml with only its version changed planned with the sums each
release publishes, and deploy refusing downloads without pinned sums, where the
inventory requires them, before it connects anywhere."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kubefab.profiles.modern import units as modern_units
from kubefab import pki
from kubefab.ops import steps

try:
    from modern_fixtures import modern_inventory
except ImportError:
    from tests.unit.modern_fixtures import modern_inventory

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("key,node_may", [
    ("environment", True), ("name", True), ("example.com/tier", True),
    ("kubernetes.io/hostname", True), ("topology.kubernetes.io/zone", True),
    ("node.kubernetes.io/instance-type", True), ("node.kubernetes.io/anything", True),
    ("kubelet.kubernetes.io/x", True), ("sub.node.kubernetes.io/y", True),
    ("node-role.kubernetes.io/worker", False), ("node-restriction.kubernetes.io/pool", False),
    ("kubernetes.io/role", False), ("k8s.io/x", False), ("foo.k8s.io/x", False),
])
def test_what_a_node_may_label_itself_with(key, node_may):
    assert modern_units.node_may_set(key) is node_may


def test_restricted_labels_stay_out_of_the_kubelet_flags_and_register_script():
    from dataclasses import replace

    from kubefab.model import SELF
    inv = modern_inventory("modern-1.38")
    host = inv.nodes[0]
    host = replace(host, labels=(*host.labels, ("node-role.kubernetes.io/worker", "")))
    inv = replace(inv, hosts=tuple(host if h.name == host.name else h for h in inv.hosts))
    assert inv.kubernetes.registration == SELF
    flag = next(a for a in modern_units.kubelet(inv, host).argv if a.startswith("--node-labels="))
    assert "node-role" not in flag and "name=" in flag
    assert "node-role.kubernetes.io/worker" in inv.node_labels(host)  # kubectl on the master sets it


def test_kubectl_on_the_master_is_the_admin_as_root_in_the_modern_profile():
    inv = modern_inventory("modern-1.37")
    assert inv.profile.kubectl() == ["/opt/bin/kubectl", "--kubeconfig", "/var/lib/kubernetes/admin.kubeconfig"]
    assert inv.profile.kubectl_as_root
    cmds = steps.commands(inv, {"azure-prd-02": {"name": "azure-prd-02"}}, '{"items": []}')
    assert cmds[0].argv[:3] == inv.profile.kubectl()


def only_the_version(tmp_path, version="v1.37.1", extra="\n  etcd_insecure: true"):
    """The repo's hosts.yaml with its version changed (and `extra` kubernetes keys: by
    default, its plain-http etcd servers accepted)."""
    text = (ROOT / "hosts.yaml").read_text()
    assert text.count("version: v1.0.1") == 1
    path = tmp_path / "hosts.yaml"
    path.write_text(text.replace("version: v1.0.1", f"version: {version}{extra}"))
    return path


def test_hosts_yaml_with_only_the_version_changed_is_refused_for_its_plain_http_etcd(tmp_path):
    """One line naming the key and both fixes, exit 2, before any connection or PKI."""
    inv = only_the_version(tmp_path, extra="")
    env = {**os.environ, "KUBEFAB_INVENTORY": str(inv), "KUBEFAB_REGISTRY_TOKEN": "x"}
    r = subprocess.run([str(Path(sys.executable).parent / "fab"), "deploy", "--dry-run"], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2, r.stdout + r.stderr
    [line] = r.stderr.strip().splitlines()
    assert "hosts.yaml:14: kubernetes.etcd_servers: http://10.1.0.1:2379 is plain http" in line
    assert "give etcd TLS" in line and "let kubefab run etcd (remove etcd_servers)" in line
    assert "Traceback" not in r.stderr and not (tmp_path / "pki").exists()


def test_hosts_yaml_with_only_the_version_changed_plans_the_releases_published_sums(tmp_path, capsys, monkeypatch):
    from fakehost import FakeCluster
    from kubefab.profiles.modern import downloads, paths as layout_modern
    from kubefab import render
    from kubefab.ops.deploy import Deploy, Options
    from kubefab.inventory import load
    monkeypatch.setenv("KUBEFAB_REGISTRY_TOKEN", "TOKEN-fake-0123456789abcdef")
    inv = load(only_the_version(tmp_path))
    assert (inv.profile.name == "modern") and not inv.kubernetes.require_pinned_sums and downloads.missing_message(inv) is None
    node = inv.host("azure-prd-02")
    assert "\tkubelet\tpublished\thttps://dl.k8s.io/release/v1.37.1/bin/linux/amd64/kubelet\t" in \
        render.render_host(inv, node, pki.ensure(inv))[layout_modern.DOWNLOAD_MANIFEST].content
    cluster = FakeCluster(inv)
    assert Deploy(inv, list(inv.hosts), Options(dry_run=True), connect=cluster.connect).run() == 0
    out = capsys.readouterr().out
    assert "[azure-prd-02] sha256 published: containerd, runc, cni-plugins, kubelet, kube-proxy, kubectl" in out
    assert "[azure-prd-01] sha256 published: kube-apiserver, kube-controller-manager, kube-scheduler, kubectl" in out
    assert " sums=published:" in out  # the stamp in the manifest's diff
    for m in cluster.machines.values():
        assert not m.files and {c.what for c in m.log} == {"probe", "preflight"}  # both only read


def test_deploy_refuses_a_modern_inventory_without_pinned_sums_where_it_requires_them(tmp_path):
    inv = only_the_version(tmp_path, extra="\n  etcd_insecure: true\n  require_pinned_sums: true")
    env = {**os.environ, "KUBEFAB_INVENTORY": str(inv), "KUBEFAB_REGISTRY_TOKEN": "x"}
    r = subprocess.run([str(Path(sys.executable).parent / "fab"), "deploy"], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2, r.stdout + r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "no sha256 known for kube-apiserver 1.37.1 amd64" in lines[0]
    assert "(kubernetes.require_pinned_sums: true)" in lines[0]
    assert "Traceback" not in r.stderr and not (tmp_path / "pki").exists()


def test_ignore_preflight_takes_check_names_only(tmp_path):
    """--ignore-preflight NAME is checked before anything runs: one line, exit 2."""
    inv = only_the_version(tmp_path)
    env = {**os.environ, "KUBEFAB_INVENTORY": str(inv), "KUBEFAB_REGISTRY_TOKEN": "x"}
    r = subprocess.run([str(Path(sys.executable).parent / "kubefab"), "deploy", "--dry-run", "--ignore-preflight", "swap",
                        "--ignore-preflight", "prot:6443"], cwd=ROOT, env=env, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 2, r.stdout + r.stderr
    [line] = r.stderr.strip().splitlines()
    assert line.startswith("error: --ignore-preflight 'prot:6443': 'prot:6443' names no preflight check; use one of")
    assert not (tmp_path / "pki").exists()

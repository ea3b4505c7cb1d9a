"""Preflight on the lab (v1.38.0, today's newest), each failure staged for real on one
host: a port taken (a listener on the kubelet's port), a module's setting missing
(br_netfilter's sysctls hidden under an empty file system: the container has no
modules to load it), a binary missing (iptables removed). The deploy refuses those
three hosts before any change; the master and the other node go on, Ready. Then an
external etcd older than 3.5 (the machine's Debian etcd) is refused before any change.

One lab and one deploy for all (about 30 s)."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from kubefab import layout
from kubefab.inventory import load
from kubefab_lab import Lab, kubectls

from .conftest import NET, ROOT, free_port_pair, lab_prerequisites, slotted
from .helpers import fab, on_host

pytestmark = pytest.mark.lab

VERSION = "v1.38.0"
PORT, MODULE, BINARY, GOOD = "azure-prd-02", "azure-prd-03", "azure-prd-04", "ded-prd-01"
KUBEFAB_FILES = ("/etc/systemd/system/kubernetes.kubelet.service", "/etc/kubernetes/downloads",
                 "/var/lib/kubelet/kubelet-config.yaml", "/var/lib/kubernetes/ca.crt")


@pytest.fixture(scope="module")
def lab():
    reason = lab_prerequisites()
    if reason:
        pytest.skip(f"no lab: {reason}")
    lab = Lab(Path(f"/var/lib/kubefab/{slotted('lab-preflight')}"), ROOT / "build/lab-preflight", first_address=40,
              net=NET, etcd_port=free_port_pair(), cgroup=slotted("lab-preflight"))
    lab.up(ROOT / "hosts.yaml", version=VERSION)
    yield lab
    lab.down()


@pytest.fixture(scope="module")
def staged(lab):
    """The three failures, each on its own node, staged as root on the host."""
    inv = load(lab.inventory_path)
    address = inv.host(PORT).bind_address
    lab.run_on(PORT, ["systemd-run", "--unit=squatter", "/usr/bin/python3", "-m", "http.server", "--bind", address,
                      str(inv.kubernetes.kubelet_port)])
    lab.run_on(MODULE, ["mount", "-t", "tmpfs", "hidden", "/proc/sys/net/bridge"])
    lab.run_on(BINARY, ["rm", "/usr/sbin/iptables"])
    return inv


@pytest.fixture(scope="module")
def deployed(lab, staged):
    return fab(lab.inventory_path, "deploy", check=False)


def test_each_staged_failure_is_one_line_naming_the_host_the_check_and_the_fix(deployed):
    out = deployed.stdout
    assert deployed.returncode == 1, out
    assert (f"[{PORT}] preflight port:10250 failed: port 10250 is taken by a process that is not kubefab's "
            "kubernetes.kubelet.service; fix: stop what listens on it (ss -ltnp 'sport = :10250')") in out
    assert (f"[{MODULE}] preflight module:br_netfilter failed: kernel module br_netfilter is not loaded and this "
            "kernel has no br_netfilter to load; fix: install the kernel's modules") in out
    assert f"[{BINARY}] preflight binary:iptables failed: iptables is not installed; fix: install it (iptables)" in out
    refused = {line.split()[0]: line for line in out.splitlines() if line.startswith("  ") and " failed " in line}
    assert set(refused) == {PORT, MODULE, BINARY}, out
    assert "not touched: preflight port:10250 failed" in refused[PORT]


def test_the_refused_hosts_are_not_touched(lab, deployed):
    for name in (PORT, MODULE, BINARY):
        r = on_host(lab.inventory_path, name, ["ls", *KUBEFAB_FILES], check=False)
        assert r.stdout == "" and r.stderr.count("No such file") == len(KUBEFAB_FILES), (name, r.stdout)


def test_the_master_and_the_other_node_go_on(lab, deployed, staged):
    admin = staged.kubernetes.pki_dir / "admin.kubeconfig"
    kubectl = kubectls.ensure(VERSION.lstrip("v").rsplit(".", 1)[0])
    nodes = json.loads(subprocess.run([str(kubectl), "--kubeconfig", str(admin), "get", "nodes", "-o", "json"],
                                      capture_output=True, text=True, check=True, timeout=60).stdout)["items"]
    ready = {n["metadata"]["name"] for n in nodes
             if any(c["type"] == "Ready" and c["status"] == "True" for c in n["status"]["conditions"])}
    assert ready == {GOOD}
    assert "[azure-prd-01] applied add-on coredns" in deployed.stdout


def test_a_waived_check_lets_its_host_through(lab, deployed):
    r = fab(lab.inventory_path, "deploy", "--dry-run", "--hosts", PORT, "--ignore-preflight", "port:10250")
    assert f"[{PORT}] preflight port:10250 failed: port 10250 is taken" in r.stdout and "(waived)" in r.stdout
    assert f"  {PORT}" in r.stdout and "pending" in r.stdout.split(f"  {PORT}")[1].split("\n")[0]


def test_an_external_etcd_older_than_3_5_is_refused_before_any_change(lab, deployed):
    """The machine's Debian etcd (3.4) as the cluster's external etcd, plain http accepted. A
    running cluster cannot move to an external etcd (issue 18 refuses that first), so the
    master's record goes: the check a first deploy with an external etcd meets."""
    lab.run_on("azure-prd-01", ["rm", "-f", layout.CLUSTER_FILE])
    data = yaml.safe_load(lab.inventory_path.read_text())
    data["kubernetes"].update(etcd_servers=[lab.info.etcd_url], etcd_insecure=True)
    old = lab.inventory_path.parent / "hosts-etcd34.yaml"
    old.write_text(yaml.safe_dump(data, sort_keys=False))
    before = on_host(old, "azure-prd-01", ["cat", "/etc/systemd/system/kubernetes.apiserver.service"]).stdout
    r = fab(old, "deploy", check=False)
    assert r.returncode == 1
    assert (f"[azure-prd-01] preflight etcd-version failed: etcd at {lab.info.etcd_url} is 3.4") in r.stdout, r.stdout
    assert "needs etcd 3.5 or later; fix: upgrade that etcd one minor at a time" in r.stdout
    assert on_host(old, "azure-prd-01", ["cat", "/etc/systemd/system/kubernetes.apiserver.service"]).stdout == before

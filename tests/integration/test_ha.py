"""Several masters (issue 21) on the lab at v1.37: the repo's hosts.yaml with three
masters and two nodes, deployed once for the module. The real etcd (Debian's 3.4) runs a
member on each master, the real haproxy balances each node's clients over the masters'
apiservers, the real kubectl of the minor looks at the cluster. Tests run in file order:
the fresh deploy, one master stopped (the first one), two of three stopped."""
from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from kubefab.inventory import load
from kubefab.profiles.modern import etcd as etcdctl
from kubefab_lab import Lab, kubectls

from .conftest import NET, ROOT, free_port_pair, lab_prerequisites, slotted
from .helpers import fab, on_host

pytestmark = pytest.mark.lab

VERSION, MINOR = "v1.37.1", "1.37"
FIRST_ADDRESS = 60


@pytest.fixture(scope="module")
def ha_lab():
    reason = lab_prerequisites()
    if reason:
        pytest.skip(f"no lab: {reason}")
    lab = Lab(Path(f"/var/lib/kubefab/{slotted('lab-ha')}"), ROOT / "build/lab-ha", first_address=FIRST_ADDRESS,
              net=NET, etcd_port=free_port_pair(), cgroup=slotted("lab-ha"))
    shutil.rmtree(lab.build_dir / "pki", ignore_errors=True)  # a fresh cluster
    lab.up(ROOT / "hosts.yaml", version=VERSION, pin_sums=False, masters=3, nodes=2)
    yield lab
    lab.down()


@pytest.fixture(scope="module")
def inventory(ha_lab):
    return ha_lab.inventory_path


@pytest.fixture(scope="module")
def inv(inventory):
    return load(inventory, secrets=False)


@pytest.fixture(scope="module")
def fresh(inventory):
    started = time.monotonic()
    r = fab(inventory, "deploy", timeout=600)
    r.seconds = time.monotonic() - started
    return r


def kubectl_at(inventory, server: str | None = None, tls_server_name: str | None = None):
    """The real kubectl of the minor with pki/admin.kubeconfig, at another server if given."""
    binary = kubectls.ensure(MINOR)
    admin = load(inventory, secrets=False).kubernetes.pki_dir / "admin.kubeconfig"
    extra = ([f"--server={server}"] if server else []) + ([f"--tls-server-name={tls_server_name}"]
                                                          if tls_server_name else [])

    def run(*args, check=True, timeout=20):
        return subprocess.run([str(binary), "--kubeconfig", str(admin), *extra, *args], capture_output=True,
                              text=True, check=check, timeout=timeout)
    return run


def members(inventory, inv, on: str) -> list[etcdctl.Member]:
    """The real `etcdctl member list` on a master."""
    out = on_host(inventory, on, etcdctl.members_argv(inv, inv.host(on))).stdout
    return etcdctl.parse_members(out)


def lease_holders(kubectl) -> dict[str, str]:
    out = json.loads(kubectl("-n", "kube-system", "get", "leases", "-o", "json").stdout)
    return {i["metadata"]["name"]: i["spec"].get("holderIdentity", "") for i in out["items"]}


def test_fresh_deploy_of_three_masters(fresh, inventory, inv):
    assert fresh.returncode == 0, fresh.stdout
    print(f"fresh 3-master deploy: {fresh.seconds:.1f}s")
    assert [m.name for m in inv.masters] and len(inv.masters) == 3
    listed = members(inventory, inv, inv.masters[1].name)
    assert sorted(m.name for m in listed) == sorted(m.name for m in inv.masters), listed
    assert all(m.started and not m.learner for m in listed), listed


def test_nodes_ready_through_their_load_balancer(fresh, inventory, inv):
    kubectl = kubectl_at(inventory)
    deadline = time.monotonic() + 60
    while True:
        items = json.loads(kubectl("get", "nodes", "-o", "json").stdout)["items"]
        ready = {i["metadata"]["name"]: any(c["type"] == "Ready" and c["status"] == "True"
                                            for c in i["status"].get("conditions", [])) for i in items}
        if all(ready.get(n.name) for n in inv.nodes) or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert all(ready.get(n.name) for n in inv.nodes), ready
    node = inv.nodes[0]
    kubeconfig = on_host(inventory, node.name, ["cat", "/var/lib/kubelet/kubeconfig"]).stdout
    assert f"server: \"https://{node.address}:6443\"" in kubeconfig and "tls-server-name: \"kubernetes\"" in kubeconfig
    assert on_host(inventory, node.name, ["systemctl", "is-active", "kubernetes.apiserver-lb.service"]).stdout.strip() \
        == "active"
    pids = on_host(inventory, node.name, ["pgrep", "-a", "haproxy"]).stdout
    assert "/usr/sbin/haproxy" in pids


def test_one_leader_each_and_every_master_serves(fresh, inventory, inv):
    kubectl = kubectl_at(inventory)
    holders = lease_holders(kubectl)
    masters = {m.name for m in inv.masters}
    for lease in ("kube-controller-manager", "kube-scheduler"):
        assert holders.get(lease, "").split("_")[0] in masters, holders
    for m in inv.masters:  # every master's address is in the certificate: each works as a server
        r = kubectl_at(inventory, f"https://{m.address}:6443")("get", "--raw", "/readyz")
        assert r.stdout.strip() == "ok"

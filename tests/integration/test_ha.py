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
from kubefab_lab import Lab, kubectls

from .conftest import NET, ROOT, free_port_pair, lab_prerequisites, slotted
from .halab import kubectl_at, lease_holders, members, node_lease_renewals, own_balancer, recap, requests_every, until
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


def test_fresh_deploy_of_three_masters(fresh, inventory, inv):
    assert fresh.returncode == 0, fresh.stdout
    print(f"fresh 3-master deploy: {fresh.seconds:.1f}s")
    assert [m.name for m in inv.masters] and len(inv.masters) == 3
    listed = members(inventory, inv, inv.masters[1].name)
    assert sorted(m.name for m in listed) == sorted(m.name for m in inv.masters), listed
    assert all(m.started and not m.learner for m in listed), listed
    status = fab(inventory, "status", check=False)
    assert status.returncode == 0, status.stdout
    assert "(leader)" in status.stdout and "DOWN" not in status.stdout, status.stdout
    again = fab(inventory, "deploy")
    assert set(recap(again.stdout).values()) == {"unchanged"}, again.stdout


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
        assert holders.get(lease, "") in masters, holders
    for m in inv.masters:  # every master's address is in the certificate: each works as a server
        r = kubectl_at(inventory, f"https://{m.address}:6443")("get", "--raw", "/readyz")
        assert r.stdout.strip() == "ok"


def test_master_restart_restarts_every_master_in_turn(ha_lab, fresh, inventory, inv):
    with own_balancer(ha_lab, inv, inv.nodes[-1]) as server:
        answers, failures = [], []
        with requests_every(kubectl_at(inventory, server, "kubernetes"), 0.5, answers, failures,
                            "get", "--raw", "/version"):  # not /readyz: a stopping apiserver fails it, on purpose
            r = fab(inventory, "master.restart")
    out = r.stdout
    done = [out.index(f"[{m.name}] verified: ") for m in inv.masters]
    started = [out.index(f"[{m.name}] restarted kubernetes.etcd.service") for m in inv.masters]
    assert done[0] < started[1] and done[1] < started[2], out  # one master at a time
    assert not failures and answers, failures
    assert set(recap(out).values()) == {"changed"}


def test_a_key_rotation_reaches_every_master(fresh, inventory, inv):
    """secrets.rotate-key syncs every master at each stage: a Secret written before reads
    back through each master's apiserver after."""
    kubectl = kubectl_at(inventory)
    kubectl("create", "-f", "-", stdin='{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "rotated"}, '
                                       '"stringData": {"k": "v"}}')
    started = time.monotonic()
    r = fab(inventory, "secrets.rotate-key")
    print(f"secrets.rotate-key with 3 masters: {time.monotonic() - started:.1f}s")
    print("\n".join(line for line in r.stdout.splitlines() if "waiting" in line or "rewrote" in line))
    for m in inv.masters:
        assert r.stdout.count(f"[{m.name}] encryption keys now") == 3, r.stdout  # added, made first, old dropped
        got = kubectl_at(inventory, f"https://{m.address}:6443")("get", "secret", "rotated", "-o",
                                                                  "jsonpath={.data.k}").stdout
        assert got == "dg=="  # base64 of "v"
    status = fab(inventory, "status", check=False)
    assert status.returncode == 0, status.stdout


def test_the_first_master_stopped(ha_lab, fresh, inventory, inv, tmp_path):
    first, others = inv.masters[0], inv.masters[1:]
    kubectl = kubectl_at(inventory)
    renewed = node_lease_renewals(kubectl)
    ha_lab.stop_host(first.name)
    try:
        # the admin kubeconfig names no endpoint: the one `kubeconfig` writes now names a master that is up
        written = tmp_path / "kubeconfig"
        fab(inventory, "kubeconfig", f"--out={written}")
        started = time.monotonic()
        binary = kubectls.ensure(MINOR)
        got = until(lambda: subprocess.run([str(binary), "--kubeconfig", str(written), "get", "nodes"],
                                           capture_output=True, text=True, timeout=10).returncode == 0, 10)
        assert got, f"kubectl through {written} did not answer within 10 s"
        print(f"kubectl answered {time.monotonic() - started:.1f}s after `kubeconfig`")
        for m in others:  # every master's address is a server for the admin's credentials
            assert kubectl_at(inventory, f"https://{m.address}:6443")("get", "--raw", "/readyz").stdout == "ok"
        survivor = kubectl_at(inventory, f"https://{others[0].address}:6443")
        # the kubelets keep reaching an apiserver through their load balancer: their heartbeats move on
        assert until(lambda: all(node_lease_renewals(survivor).get(n.name, "") > renewed.get(n.name, "")
                                 for n in inv.nodes), 30), node_lease_renewals(survivor)
        ready = json.loads(survivor("get", "nodes", "-o", "json").stdout)["items"]
        assert all(any(c["type"] == "Ready" and c["status"] == "True" for c in i["status"]["conditions"])
                   for i in ready if i["metadata"]["name"] in {n.name for n in inv.nodes})
        # the leaders are on the masters that run, whoever held them before
        assert until(lambda: all(h in {m.name for m in others} for h in lease_holders(survivor).values()
                                 if h) and len(lease_holders(survivor)) >= 2, 45), lease_holders(survivor)
        status = fab(inventory, "status", check=False)
        assert status.returncode != 0 and f"{first.name}: " in status.stdout.split("PROBLEMS:")[-1], status.stdout
        assert "(leader)" in status.stdout and "DOWN" in status.stdout, status.stdout
        deploy = fab(inventory, "deploy", check=False)
        rows = recap(deploy.stdout)
        assert deploy.returncode != 0 and rows[first.name] == "failed", deploy.stdout
        assert all(rows[h.name] == "unchanged" for h in inv.hosts if h != first), deploy.stdout
    finally:
        ha_lab.start_host(first.name)
    # back: no action needed (its units start at boot, its member catches up)
    assert until(lambda: fab(inventory, "status", check=False).returncode == 0, 90), \
        fab(inventory, "status", check=False).stdout


def test_a_master_whose_sshd_is_off(ha_lab, fresh, inventory, inv):
    """The host runs on (its apiserver and member too), kubefab cannot reach it: deploy
    converges the others and names it; status names it; back, all is OK."""
    last = inv.masters[-1]
    ha_lab.stop_sshd(last.name)
    try:
        deploy = fab(inventory, "deploy", check=False)
        rows = recap(deploy.stdout)
        assert deploy.returncode != 0 and rows[last.name] == "failed", deploy.stdout
        assert all(rows[h.name] == "unchanged" for h in inv.hosts if h != last), deploy.stdout
        status = fab(inventory, "status", check=False)
        assert status.returncode != 0 and f"{last.name}: " in status.stdout.split("PROBLEMS:")[-1], status.stdout
        assert "DOWN" not in status.stdout  # its member runs: etcd says so
    finally:
        ha_lab.start_sshd(last.name)
    assert fab(inventory, "status", check=False).returncode == 0


def test_two_of_three_stopped(ha_lab, fresh, inventory, inv):
    down = inv.masters[1:]
    for m in down:
        ha_lab.stop_host(m.name)
    try:
        status = fab(inventory, "status", check=False)
        assert status.returncode != 0 and "quorum lost" in status.stdout, status.stdout
        deploy = fab(inventory, "deploy", check=False)
        refused = [line for line in deploy.stdout.splitlines() if "refused: etcd has lost quorum" in line]
        assert deploy.returncode != 0 and len(refused) == 1, deploy.stdout
        assert "changed" not in recap(deploy.stdout).values()
    finally:
        for m in down:
            ha_lab.start_host(m.name)
    assert until(lambda: fab(inventory, "status", check=False).returncode == 0, 120), \
        fab(inventory, "status", check=False).stdout


def test_snapshot_from_a_member_that_runs_and_restore_of_the_whole_cluster(ha_lab, fresh, inventory, inv, tmp_path):
    """etcd.snapshot with the first master down takes it from another member; etcd.restore
    puts the whole cluster back: the first member restored, the others joined again."""
    kubectl = kubectl_at(inventory)
    kubectl("create", "-f", "-", stdin='{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "before"}}')
    first = inv.masters[0]
    ha_lab.stop_host(first.name)
    try:
        snap = fab(inventory, "etcd.snapshot", f"--out={tmp_path / 'snap.db'}", check=False)
    finally:
        ha_lab.start_host(first.name)
    assert f"[{inv.masters[1].name}] snapshot " in snap.stdout, snap.stdout
    assert until(lambda: fab(inventory, "status", check=False).returncode == 0, 90)
    kubectl("create", "-f", "-", stdin='{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "after"}}')
    fab(inventory, "etcd.restore", str(tmp_path / "snap.db"), "--yes", timeout=600)
    listed = members(inventory, inv, first.name)
    assert sorted(m.name for m in listed) == sorted(m.name for m in inv.masters), listed
    assert all(m.started and not m.learner for m in listed), listed
    names = kubectl("get", "configmaps", "-o", "jsonpath={.items[*].metadata.name}").stdout.split()
    assert "before" in names and "after" not in names, names
    assert until(lambda: fab(inventory, "status", check=False).returncode == 0, 90), \
        fab(inventory, "status", check=False).stdout


def one_master(inventory: Path, keep: str) -> Path:
    """The inventory with its other masters left out (beside it: the same pki/)."""
    import yaml
    data = yaml.safe_load(inventory.read_text())
    data["hosts"] = {n: h for n, h in data["hosts"].items() if h.get("role") != "master" or n == keep}
    path = inventory.parent / "hosts-one-master.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_three_masters_to_one(ha_lab, fresh, inventory, inv):
    """Each master but the first leaves (nodes.remove: its etcd member first, quorum
    checked), then the inventory names one master and deploy points the nodes at it."""
    kubectl = kubectl_at(inventory)
    kubectl("create", "-f", "-", stdin='{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "survivor"}, '
                                       '"data": {"grown": "no"}}')
    first, second, third = inv.masters
    refused = fab(inventory, "nodes.remove", first.name, check=False)
    assert refused.returncode != 0 and "first master" in refused.stdout + refused.stderr
    for m in (third, second):
        fab(inventory, "nodes.remove", m.name)
        left = [x.name for x in members(inventory, inv, first.name)]
        assert m.name not in left, left
    assert [x.name for x in members(inventory, inv, first.name)] == [first.name]
    single = one_master(inventory, first.name)
    fab(single, "deploy", timeout=600)
    node = inv.nodes[0]
    kubeconfig = on_host(inventory, node.name, ["cat", "/var/lib/kubelet/kubeconfig"]).stdout
    assert f"https://{first.address}:6443" in kubeconfig and "tls-server-name" not in kubeconfig
    assert "inactive" in on_host(inventory, node.name, ["systemctl", "is-active", "kubernetes.apiserver-lb.service"],
                                 check=False).stdout
    assert fab(single, "status", check=False).returncode == 0
    assert kubectl("get", "configmap", "survivor", "-o", "jsonpath={.data.grown}").stdout == "no"


def test_one_master_to_three_with_the_api_answering(ha_lab, fresh, inventory, inv):
    """The seed's one master grows to three with one deploy: every request of a kubectl
    loop (every 0.5 s, through a load balancer of the test's own over the three masters'
    addresses) is answered while it runs. The nodes' load balancer is nginx this time."""
    import yaml
    data = yaml.safe_load(inventory.read_text())
    data["kubernetes"].setdefault("apiserver", {})["load_balancer"] = "nginx"
    inventory = inventory.parent / "hosts-nginx.yaml"
    inventory.write_text(yaml.safe_dump(data, sort_keys=False))
    with own_balancer(ha_lab, inv, inv.nodes[-1]) as server:
        loop = kubectl_at(inventory, server, "kubernetes")
        answers, failures = [], []
        with requests_every(loop, 0.5, answers, failures, "get", "configmap", "survivor", "-o",
                            "jsonpath={.data.grown}"):
            grown = fab(inventory, "deploy", timeout=600)
    assert "nginx" in on_host(inventory, inv.nodes[0].name, ["pgrep", "-a", "nginx"]).stdout
    assert "etcd: promoted to a voting member" in grown.stdout
    assert not failures and len(answers) > 10, (failures, len(answers))
    listed = members(inventory, inv, inv.masters[2].name)
    assert sorted(m.name for m in listed) == sorted(m.name for m in inv.masters)
    assert all(m.started and not m.learner for m in listed)
    assert kubectl_at(inventory)("get", "configmap", "survivor", "-o", "jsonpath={.data.grown}").stdout == "no"
    assert until(lambda: fab(inventory, "status", check=False).returncode == 0, 60), \
        fab(inventory, "status", check=False).stdout

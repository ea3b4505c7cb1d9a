"""upgrade v1.36 -> v1.37 with three masters (issue 21) on a lab of its own (three
masters, two nodes) whose inventory names an endpoint: a load balancer of the test's own
over the masters (an operator's external one), which the kubelets, kube-proxy and the
admin kubeconfig use. The masters one at a time, each answering at the new release before
the next, then the nodes; a kubectl loop (every 0.5 s, the admin kubeconfig as deploy
wrote it) is answered at every moment."""
from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from kubefab.inventory import load

from .conftest import own_lab
from .halab import kubectl_at, members, own_balancer, requests_every, until
from .helpers import fab, on_host

pytestmark = pytest.mark.lab

FROM, TO = "v1.36.4", "v1.37.1"


@pytest.fixture(scope="module")
def lab():
    with own_lab("lab-ha-upgrade", 70, version=FROM, pin_sums=False, masters=3, nodes=2) as lab:
        yield lab


def edit(inventory: Path, change) -> None:
    data = yaml.safe_load(inventory.read_text())
    change(data)
    inventory.write_text(yaml.safe_dump(data, sort_keys=False))


@pytest.fixture(scope="module")
def endpoint(lab):
    """The inventory names the test's own load balancer as kubernetes.apiserver.endpoint,
    deployed; yields its URL while it runs."""
    inventory = lab.inventory_path
    inv = load(inventory, secrets=False)
    with own_balancer(lab, inv, inv.nodes[-1]) as server:
        edit(inventory, lambda d: d["kubernetes"].setdefault("apiserver", {}).update(endpoint=server.removeprefix(
            "https://")))
        fab(inventory, "deploy", timeout=600)
        yield server


def test_upgrade_with_three_masters_answers_throughout(lab, endpoint):
    inventory, server = lab.inventory_path, endpoint
    inv = load(inventory, secrets=False)
    node = inv.nodes[0]
    kubeconfig = on_host(inventory, node.name, ["cat", "/var/lib/kubelet/kubeconfig"]).stdout
    assert f'server: "{server}"' in kubeconfig and "tls-server-name" not in kubeconfig
    assert "inactive" in on_host(inventory, node.name, ["systemctl", "is-active",
                                                         "kubernetes.apiserver-lb.service"], check=False).stdout
    edit(inventory, lambda d: d["kubernetes"].update(version=TO))
    loop = kubectl_at(inventory, minor="1.36")  # pki/admin.kubeconfig names the endpoint
    assert f"server: {server}" in (load(inventory, secrets=False).kubernetes.pki_dir
                                    / "admin.kubeconfig").read_text()
    answers, failures = [], []
    started = time.monotonic()
    with requests_every(loop, 0.5, answers, failures, "get", "--raw", "/version"):
        upgraded = fab(inventory, "upgrade", timeout=900)
    took = time.monotonic() - started
    print(f"upgrade {FROM} -> {TO} with 3 masters: {took:.1f}s, {len(answers)} answers, {len(failures)} failures")
    assert not failures and len(answers) > 10, failures
    out = upgraded.stdout
    # the masters one at a time, each verified at the new release before the next, then the nodes
    order = [out.index(f"[{m.name}] verified: apiserver {TO} healthy") for m in inv.masters]
    assert order == sorted(order), out
    first_node = min(out.index(f"[{n.name}] Ready at {TO}") for n in inv.nodes)
    assert max(order) < first_node, out
    assert {m.name for m in members(inventory, inv, inv.masters[0].name)} == {m.name for m in inv.masters}
    assert until(lambda: fab(inventory, "status", check=False).returncode == 0, 60), \
        fab(inventory, "status", check=False).stdout


def test_the_admin_kubeconfig_naming_the_endpoint_answers_with_the_first_master_down(lab, endpoint):
    """Issue 21's proof: with an endpoint, kubectl through pki/admin.kubeconfig as deploy
    wrote it answers within 10 s of the first master's host going down (the balancer
    takes it out of the rotation); started again, status is OK."""
    inventory = lab.inventory_path
    inv = load(inventory, secrets=False)
    first = inv.masters[0]
    kubectl = kubectl_at(inventory, minor=TO[1:].rsplit(".", 1)[0])  # the admin kubeconfig as it is
    assert kubectl("get", "--raw", "/version").returncode == 0
    lab.stop_host(first.name)
    try:
        down = time.monotonic()
        answered = until(lambda: kubectl("get", "nodes", "-o", "name", timeout=5).stdout, 10)
        took = time.monotonic() - down
        assert answered and f"node/{inv.nodes[0].name}" in answered, kubectl("get", "nodes", check=False).stderr
        print(f"kubectl through the endpoint answered {took:.1f}s after {first.name} went down")
    finally:
        lab.start_host(first.name)
    assert until(lambda: fab(inventory, "status", check=False).returncode == 0, 120), \
        fab(inventory, "status", check=False).stdout

"""fab deploy on the lab's five real hosts, as an operator runs it, checked with the
real kubectl and over SSH. The tests run in file order on one lab."""
import re
import ssl
import subprocess
import time
import urllib.error
import urllib.request

import pytest
import yaml

from kubefab import health, pki, render
from kubefab.inventory import load

from .helpers import fab, journal_cursors, kubectl, nodes, on_host, real_kubectl, ssh_logins, sudo_commands, unit_starts
from kubefab.profiles.legacy import render as legacy_render

pytestmark = pytest.mark.lab

MASTER_UNITS = ["kubernetes.master.target", "kubernetes.apiserver.service",
                "kubernetes.scheduler.service", "kubernetes.controller-manager.service"]
NODE_UNITS = ["kubernetes.node.target", "kubernetes.kubelet.service", "kubernetes.proxy.service"]


@pytest.fixture(scope="module")
def inventory(lab):
    return lab.inventory_path


BEFORE_FRESH: dict[str, str] = {}  # each host's journal cursor before the fresh deploy


@pytest.fixture(scope="module")
def fresh(lab, inventory):
    """The first deploy of the module: from bare hosts to a running cluster."""
    BEFORE_FRESH.update(journal_cursors(lab))  # for the journals' look at what it did
    return fab(inventory, "deploy")


def all_starts(inventory):
    inv = load(inventory)
    return {h.name: unit_starts(inventory, h.name, MASTER_UNITS if h.is_master else NODE_UNITS)
            for h in inv.hosts}


def test_dry_run_on_bare_hosts_shows_diffs_and_touches_nothing(lab, inventory):
    inv = load(inventory)
    before = {h.name: sorted(p.relative_to(lab.upper_dir(h.name)).as_posix()
                             for p in lab.upper_dir(h.name).rglob("*")) for h in inv.hosts}
    r = fab(inventory, "deploy", "--dry-run")
    assert "[azure-prd-01] create /etc/systemd/system/kubernetes.apiserver.service" in r.stdout
    assert "+++ /etc/systemd/system/kubernetes.kubelet.service (wanted)" in r.stdout
    assert "secret created: /home/core/.dockercfg (content not shown)" in r.stdout
    after = {h.name: sorted(p.relative_to(lab.upper_dir(h.name)).as_posix()
                            for p in lab.upper_dir(h.name).rglob("*")) for h in inv.hosts}
    assert after == before


def test_fresh_deploy_registers_four_ready_nodes_with_labels(inventory, fresh):
    assert "RECAP" in fresh.stdout
    got = nodes(inventory)
    inv = load(inventory)
    assert sorted(got) == sorted(h.name for h in inv.nodes)
    for h in inv.nodes:
        labels = got[h.name]["metadata"]["labels"]
        assert {k: labels.get(k) for k in inv.node_labels(h)} == inv.node_labels(h)
        ready = [c for c in got[h.name]["status"]["conditions"] if c["type"] == "Ready"]
        assert ready and ready[0]["status"] == "True"
    table = kubectl(inventory, "get", "nodes").stdout
    assert len(re.findall(r"\bReady\b", table)) == 4


def test_a_fresh_deploy_starts_sudo_once_per_connection(lab, inventory, fresh):
    """Root commands go through one root shell per connection: sudo's log has one
    `sh -s` per login, and only the odd command asked while the shell was busy (the
    lock's renewal while a download is awaited) starts a sudo of its own."""
    for name, _ in lab.info.hosts:
        commands, logins = sudo_commands(lab, BEFORE_FRESH, name), ssh_logins(lab, BEFORE_FRESH, name)
        shells = [c for c in commands if c.endswith("/sh -s")]
        assert logins >= 1 and len(shells) == logins, (name, logins, commands)
        assert len(commands) - len(shells) <= 2, (name, [c[:80] for c in commands])


def test_master_units_only_on_master_node_units_only_on_nodes(inventory, fresh):
    inv = load(inventory)
    for h in inv.hosts:
        mine, other = (MASTER_UNITS, NODE_UNITS) if h.is_master else (NODE_UNITS, MASTER_UNITS)
        states = unit_starts(inventory, h.name, mine + other)
        assert all(states[u][0] == "active" for u in mine), states
        assert all(states[u][0] == "inactive" for u in other), states


def test_every_file_lands_with_its_content_mode_and_owner(lab, inventory, fresh):
    inv = load(inventory)
    certs = pki.ensure(inv)  # the lab's, made by the first deploy
    for h in inv.hosts:
        for path, f in render.render_host(inv, h, certs).items():
            out = on_host(inventory, h.name, ["stat", "-c", "%a %U %G", path]).stdout.split()
            assert out == [format(f.mode, "o"), f.owner, f.group], path
            assert (lab.upper_dir(h.name) / path.lstrip("/")).read_text() == f.content, path


def test_second_deploy_uploads_and_restarts_nothing(inventory, fresh):
    before = all_starts(inventory)
    r = fab(inventory, "deploy")
    assert r.stdout.count("no changes: files, units and release already as wanted") == 5
    assert "wrote" not in r.stdout and "restarted" not in r.stdout
    assert len(re.findall(r"unchanged", r.stdout)) == 5
    assert all_starts(inventory) == before


def test_changing_one_flag_restarts_exactly_that_unit(lab, inventory, fresh):
    data = yaml.safe_load(open(inventory))
    url = data["kubernetes"]["etcd_servers"][0]
    data["kubernetes"]["etcd_servers"] = [url, url + "/"]  # the apiserver's flag alone
    changed = inventory.parent / "hosts-changed.yaml"
    changed.write_text(yaml.safe_dump(data, sort_keys=False))
    before = all_starts(inventory)
    dry = fab(changed, "deploy", "--dry-run")
    assert f"-    --etcd-servers={url} \\" in dry.stdout.replace("[azure-prd-01] ", "")
    assert all_starts(inventory) == before
    r = fab(changed, "deploy")
    assert "[azure-prd-01] restarted kubernetes.apiserver.service" in r.stdout
    after = all_starts(changed)
    moved = {(h, u) for h in after for u in after[h] if after[h][u] != before[h][u]}
    assert moved == {("azure-prd-01", "kubernetes.apiserver.service")}
    fab(inventory, "deploy")  # back as it was, for the tests after this one


def apiserver_cursor(inventory) -> str:
    """Where the apiserver's journal on the master is now (journalctl's cursor)."""
    out = on_host(inventory, "azure-prd-01", ["journalctl", "-u", "kubernetes.apiserver.service", "-n", "1",
                                              "--show-cursor", "-o", "cat", "--no-pager"]).stdout
    return next(line[len("-- cursor: "):] for line in out.splitlines() if line.startswith("-- cursor: "))


def apiserver_starts_since(inventory, cursor: str) -> int:
    """How often systemd started the apiserver on the master after the journal's `cursor`
    (exact: a time in whole seconds also counted a start just before it, as the one of
    the previous test's last deploy)."""
    log = on_host(inventory, "azure-prd-01", ["journalctl", "-u", "kubernetes.apiserver.service",
                                              "--after-cursor", cursor, "-o", "cat", "--no-pager"]).stdout
    return sum(line.startswith("Started kubernetes.apiserver.service") for line in log.splitlines())


def test_master_only_hosts_restarts_a_changed_apiserver_exactly_once(inventory, fresh):
    """`--hosts <master>` once activated the master twice (an empty node list meant every host)."""
    data = yaml.safe_load(open(inventory))
    url = data["kubernetes"]["etcd_servers"][0]
    data["kubernetes"]["etcd_servers"] = [url, url + "/"]  # the apiserver's flag alone
    changed = inventory.parent / "hosts-master-only.yaml"
    changed.write_text(yaml.safe_dump(data, sort_keys=False))
    since = apiserver_cursor(inventory)
    try:
        r = fab(changed, "deploy", "--hosts", "azure-prd-01")
        master = next(l for l in r.stdout.splitlines() if l.startswith("  azure-prd-01 "))
        assert master.count("restarted kubernetes.apiserver.service") == 1, master
        assert apiserver_starts_since(inventory, since) == 1
        assert [l.split()[0] for l in r.stdout.split("RECAP")[1].splitlines() if l.startswith("  ")] == ["azure-prd-01"]
    finally:
        fab(inventory, "deploy")  # back as it was, for the tests after this one


def test_master_restart_restarts_apiserver_then_the_others(inventory, fresh):
    before = unit_starts(inventory, "azure-prd-01", MASTER_UNITS)
    r = fab(inventory, "master.restart")
    assert f"apiserver ok ({(load(inventory)).profile.health().says})" in r.stdout  # the secure port, as nodes
    after = unit_starts(inventory, "azure-prd-01", MASTER_UNITS)
    for unit in MASTER_UNITS[1:]:
        assert after[unit][0] == "active" and after[unit][1] != before[unit][1], unit
    assert int(after["kubernetes.apiserver.service"][1]) < int(after["kubernetes.scheduler.service"][1])


def test_nodes_register_label_production_and_any_label(inventory, fresh):
    r = fab(inventory, "nodes.register", "--label", "production", "--label", "tier=gold")
    assert "label node azure-prd-02" in r.stdout
    for name, node in nodes(inventory).items():
        labels = node["metadata"]["labels"]
        assert labels["environment"] == "production" and labels["tier"] == "gold"
        assert labels["name"] == name
    again = fab(inventory, "nodes.register", "--label", "production", "--label", "tier=gold")
    assert "no changes: every node registered with its labels" in again.stdout


def test_bad_label_is_refused_before_anything_is_sent(inventory, fresh):
    r = fab(inventory, "nodes.register", "--label", "tier=not ok!", check=False)
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert "--label 'tier=not ok!'" in r.stderr


def test_systemd_brings_back_a_killed_apiserver(inventory, fresh):
    on_host(inventory, "azure-prd-01", ["systemctl", "kill", "-s", "KILL", "kubernetes.apiserver.service"])
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline:
        r = kubectl(inventory, "get", "--raw", "/healthz", check=False)
        state = on_host(inventory, "azure-prd-01", ["systemctl", "show", "-p", "NRestarts",
                                                    "kubernetes.apiserver.service"]).stdout
        if r.returncode == 0 and r.stdout.strip() == "ok" and state.strip() != "NRestarts=0":
            break
        time.sleep(1)
    else:
        pytest.fail("the apiserver did not come back after kill -9")
    deadline = time.monotonic() + 40  # the scheduler may have restarted too: wait for all
    while fab(inventory, "status", check=False).returncode != 0:
        assert time.monotonic() < deadline, fab(inventory, "status", check=False).stdout
        time.sleep(2)


def test_nodes_and_operator_talk_tls_with_their_own_certificates(inventory, fresh):
    inv = load(inventory)
    admin = inv.kubernetes.pki_dir / "admin.kubeconfig"
    r = subprocess.run([real_kubectl(), "--kubeconfig", str(admin), "get", "nodes", "-o", "name"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and len(r.stdout.split()) == 4, r.stderr
    with pytest.raises(urllib.error.HTTPError) as anonymous:  # no client certificate
        urllib.request.urlopen(f"{legacy_render.node_master_url(inv)}/api/v1/nodes", timeout=10,
                               context=ssl._create_unverified_context())
    assert anonymous.value.code == 401
    journal = on_host(inventory, "azure-prd-01", ["journalctl", "-u", "kubernetes.apiserver.service",
                                                  "--no-pager", "-o", "cat"]).stdout
    for h in inv.nodes:
        assert f"system:node:{h.name}" in journal, f"{h.name}'s kubelet never authenticated"
    assert "system:kube-proxy" in journal

"""Trust under operator error, on fake hosts: a second folder, a dry run of a changed
inventory, settings that cannot change, units of a role a host no longer has, a node
pointed at a master that did not answer, a run whose lock another run took, a dead
run's lock on this machine. Each test says the regression it guards."""
import shutil
import subprocess
import threading
import time

import pytest

import fakehost
from fakehost import FakeCluster, FakeFile, Unit, recap
from kubefab import status
from kubefab.inventory import load
from kubefab.layout import APISERVER, CLUSTER_FILE, LOCK_DIR, STAGE_DIR, UNIT_DIR
from kubefab.ops import host
from kubefab.ops.deploy import Deploy
from kubefab.ops.operation import Options
from kubefab.profiles.legacy import paths as legacy
from kubefab.remote import lease

MASTER, NODE = "azure-prd-01", "azure-prd-02"
NOOP = "no changes: files, units and release already as wanted"
FOREIGN = "alice@laptop pid 42 since 2024-01-01 00:00:00 UTC (run 0123456789ab)"


def deploy(inv, cluster, hosts=None, **opts) -> int:
    targets = [h for h in inv.hosts if hosts is None or h.name in hosts]
    return Deploy(inv, targets, Options(**opts), connect=cluster.connect).run()


def variant(inv, name: str, *changes) -> object:
    text = inv.path.read_text()
    for old, new in changes:
        assert old in text
        text = text.replace(old, new)
    path = inv.path.parent / f"hosts-{name}.yaml"
    path.write_text(text)
    return load(path)


def hosts_state(cluster) -> dict:
    return {n: ({p: (f.content, f.mode) for p, f in m.files.items()}, m.starts(),
                {u: (x.enabled, x.active) for u, x in m.units.items()}) for n, m in cluster.machines.items()}


def folder_state(folder) -> dict:
    """Every file under `folder`: bytes and mtime (a write that leaves the bytes shows)."""
    return {p.relative_to(folder).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def converged(inv, cluster, capsys):
    assert deploy(inv, cluster) == 0
    assert CLUSTER_FILE in cluster[MASTER].files and CLUSTER_FILE not in cluster[NODE].files
    capsys.readouterr()
    return cluster


def test_a_second_folder_without_the_pki_is_refused_before_any_change(inv, converged, tmp_path, capsys):
    """Regression: the same inventory without its pki/ minted a new CA and encryption key,
    pushed them, and the control plane lost etcd and every Secret."""
    second = tmp_path / "colleague"
    second.mkdir()
    shutil.copy(inv.path, second / "hosts.yaml")
    other = load(second / "hosts.yaml")
    before, locks = hosts_state(converged), len(converged[MASTER].calls("lock"))
    for dry_run in (True, False):
        assert deploy(other, converged, dry_run=dry_run) == 1
        out = capsys.readouterr().out
        assert f"refused: {second}/pki/ca.crt is missing, the cluster CA of the running cluster is sha256:" in out
        assert f"copy the cluster's {second}/pki folder here (or `kubefab pki.import`)" in out
        assert recap(out)[NODE] == ("failed", f"not touched: refused, as {MASTER} says")
        assert hosts_state(converged) == before
        assert sorted(p.name for p in second.iterdir()) == ["hosts.yaml"]  # nothing made here
        assert len(converged[MASTER].calls("lock")) == locks  # not even the lock taken


def test_a_dry_run_of_a_changed_inventory_writes_nothing_and_shows_what_it_would_issue(inv, converged, capsys):
    """Regression: a dry run re-issued certificates and rewrote pki/admin.kubeconfig."""
    moved = variant(inv, "bind", ("    role: master\n", "    role: master\n    bind_address: 10.1.0.11\n"))
    folder = inv.path.parent / "pki"
    before = folder_state(folder)
    assert deploy(moved, converged, dry_run=True) == 0
    out = capsys.readouterr().out
    assert folder_state(folder) == before  # bytes and mtimes
    assert "pki: would: " in out and "apiserver.crt: its names (SANs) differ; fab deploy re-issues it" in out
    assert (f"[{MASTER}] {legacy.APISERVER_CERT}: its new content comes from what the real run issues in the "
            "local pki") in out
    assert deploy(moved, converged) == 0  # the real run issues it, after the plan
    assert folder_state(folder)["apiserver.crt"] != before["apiserver.crt"]


@pytest.mark.parametrize("name, changes, says", [
    ("service range", [("10.100.0.0/16", "10.101.0.0/16")],
     "refused: kubernetes.apiserver.service_cluster_ip_range is 10.101.0.0/16 in hosts-service range.yaml, the "
     "cluster was made with 10.100.0.0/16: it cannot change on a running cluster"),
    ("role swap", [("    role: master\n", ""), ("  azure-prd-02:\n    address: 10.1.0.2\n",
                                                 "  azure-prd-02:\n    address: 10.1.0.2\n    role: master\n")],
     "refused: the master is azure-prd-02 in hosts-role swap.yaml, the cluster's master is azure-prd-01 (10.1.0.1)"),
    ("master address typo", [("address: 10.1.0.1\n", "address: 10.1.0.50\n")],
     "refused: hosts.azure-prd-01.address is 10.1.0.50 in hosts-master address typo.yaml, the cluster's master "
     "answers at 10.1.0.1"),
])
def test_settings_that_cannot_change_are_refused_before_any_change(inv, converged, capsys, name, changes, says):
    """Regression: a changed service range was applied (the apiserver's certificate lost the
    Service's address, every kubelet pointed at another DNS address); swapped roles planned
    a fresh etcd on the new master."""
    before, folder = hosts_state(converged), folder_state(inv.path.parent / "pki")
    locks = sum(len(m.calls("lock")) for m in converged.machines.values())
    assert deploy(variant(inv, name, *changes), converged) == 1
    out = capsys.readouterr().out
    assert says in out, out
    assert hosts_state(converged) == before and folder_state(inv.path.parent / "pki") == folder
    assert sum(len(m.calls("lock")) for m in converged.machines.values()) == locks


def test_units_of_a_role_a_host_no_longer_has_are_reported_then_stopped_and_disabled(inv, converged, capsys):
    """Regression: after roles were swapped back, status said OK while the old master kept
    node units enabled (and a node kept a master's)."""
    node = converged[NODE]
    node.files[f"{UNIT_DIR}/{APISERVER}"] = FakeFile(converged[MASTER].files[f"{UNIT_DIR}/{APISERVER}"].content)
    node.units[APISERVER] = Unit(enabled=True, active="active")
    wanted, _ = status.wanted(inv)
    facts = {h.name: host.probe(converged.connect(h).open(), inv, wanted[h.name]) for h in inv.hosts}
    said = status.report(inv, wanted, facts, {})["problems"]
    assert said == [f"{NODE}: {APISERVER} is enabled, active, but a node does not run it; kubefab deploy stops "
                    f"and disables it"]
    assert deploy(inv, converged, dry_run=True) == 0
    assert f"[{NODE}] stop and disable {APISERVER} (a node does not run it)" in capsys.readouterr().out
    assert deploy(inv, converged) == 0
    assert recap(capsys.readouterr().out)[NODE] == ("changed", f"stopped and disabled {APISERVER}")
    assert (node.unit(APISERVER).enabled, node.unit(APISERVER).active) == (False, "inactive")
    assert deploy(inv, converged) == 0 and capsys.readouterr().out.count(NOOP) == 5


def test_a_node_is_pointed_at_the_master_only_once_it_answered(inv, cluster, capsys):
    """Regression: with the master's address wrong (nothing answered there) every node had
    already written kubeconfigs pointing at it; one rebooted never came back."""
    cluster[MASTER].faults.add("healthz")
    assert deploy(inv, cluster, timeout=3) == 1
    node = cluster[NODE]
    names_master = [p for p, f in node.files.items() if inv.secure_master_url in f.content]
    assert names_master == [] and legacy.ENV_FILE in node.files  # written: what does not name it
    assert "files that name the master not written" in recap(capsys.readouterr().out)[NODE][1]
    cluster[MASTER].faults.discard("healthz")
    assert deploy(inv, cluster) == 0
    assert any(inv.secure_master_url in f.content for f in node.files.values())


def test_a_run_whose_lock_another_run_took_writes_nothing_more_and_names_it(inv, cluster, monkeypatch, capsys):
    """Regression: `unlock --force` did not stop the run it unlocked; when a second run took
    the lock meanwhile, both wrote the same hosts and both reported success."""
    monkeypatch.setattr(fakehost, "nap", lambda clock, seconds: (time.sleep(seconds), clock.sleep(seconds)))
    cluster[MASTER].faults.add("healthz")  # the nodes wait at the gate, their kubeconfigs not written
    box = {}
    thread = threading.Thread(target=lambda: box.update(code=deploy(inv, cluster, timeout=20)))
    thread.start()
    deadline = time.monotonic() + 10
    while not cluster[MASTER].calls("curl") and time.monotonic() < deadline:
        time.sleep(0.01)
    with cluster.lock:  # another run took the lock on this node (after unlock --force)
        cluster[NODE].drop_lock(LOCK_DIR)
        cluster[NODE].put_lock(LOCK_DIR, FOREIGN, "60")
        cluster[MASTER].faults.discard("healthz")  # the gate opens: the node's next write is refused
    thread.join(30)
    assert box["code"] == 1
    rows = recap(capsys.readouterr().out)
    assert rows[NODE][0] == "failed" and rows[NODE][1].startswith(
        f"lost the cluster lock on {NODE} (now held by {FOREIGN}): stopped before its next change"), rows
    assert not [p for p, f in cluster[NODE].files.items() if inv.secure_master_url in f.content]
    assert cluster[NODE].held(LOCK_DIR)[0] == FOREIGN  # the other run's lock stays


def test_a_dead_runs_lock_on_this_machine_is_free_at_once(inv, cluster, capsys):
    """Regression: a SIGKILLed run's lock held the next run for its whole lease."""
    proc = subprocess.Popen(["sleep", "60"])
    holder = lease.holder_for("root", proc.pid, "2026-01-01 00:00:00 UTC", "0123456789ab")
    proc.kill()
    proc.wait()
    for m in cluster.machines.values():
        m.lock(LOCK_DIR, holder, str(lease.LEASE), STAGE_DIR)
    assert deploy(inv, cluster) == 0
    out = capsys.readouterr().out
    said = [line for line in out.splitlines() if "is free" in line]
    assert said == [f"the lock of {lease.who(holder)} is free: its process (pid {proc.pid} on this machine, "
                    f"this boot) is gone"]
    assert not any(m.held(LOCK_DIR) for m in cluster.machines.values())


@pytest.mark.parametrize("machine, boot, ticks, free", [
    ("here", "boot-1", None, True),  # the pid is gone
    ("here", "boot-1", "999", True),  # the pid is another process now
    ("here", "boot-1", "123", False),  # it still runs
    ("here", "boot-2", None, False),  # another boot: its pid means nothing now
    ("elsewhere", "boot-1", None, False),  # another machine: kubefab cannot tell
])
def test_which_locks_are_free_at_once(machine, boot, ticks, free):
    holder = "root@here pid 4242 since 2026-01-01 00:00:00 UTC (run abc; boot boot-1, start 123)"
    said = lease.gone_here(holder.replace("@here", f"@{machine}"), "here", boot, lambda pid: ticks)
    assert bool(said) == free
    assert lease.who(holder) == "root@here pid 4242 since 2026-01-01 00:00:00 UTC (run abc)"


@pytest.mark.parametrize("own_ca", [False, True], ids=["no pki", "another CA"])
def test_a_cluster_an_older_kubefab_made_is_not_given_a_new_ca_either(inv, converged, tmp_path, capsys, own_ca):
    """No record on the master (an older kubefab deployed it): a folder without its pki/,
    or with a CA of its own, is refused all the same, from the master's CA file."""
    del converged[MASTER].files[CLUSTER_FILE]
    second = tmp_path / "colleague"
    second.mkdir()
    shutil.copy(inv.path, second / "hosts.yaml")
    other = load(second / "hosts.yaml")
    if own_ca:
        from kubefab import pki
        pki.ensure(other)
    before = hosts_state(converged)
    assert deploy(other, converged) == 1
    out = capsys.readouterr().out
    said = (f"refused: {legacy.CA_CERT} on {MASTER} is not {second}/pki/ca.crt" if own_ca else
            f"refused: {second}/pki/ca.crt is missing and {MASTER} runs a cluster: kubefab never makes a CA")
    assert said in out, out
    assert hosts_state(converged) == before
    assert (second / "pki").exists() == own_ca

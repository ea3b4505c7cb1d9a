"""A deploy stopped at any point is finished by the next one (fake hosts): killed after the
writes, a full disk, Ctrl-C during the download (which completes after fab gave up), an
apiserver that never got healthy. Afterwards every running unit runs its unit file and
the installed release (the fake's /proc/<pid>/cmdline), status is OK, and the run after
that changes nothing. Also: a Node deleted under self registration, and the recap's
words for repairs, dry runs and Ctrl-C."""
import re

import pytest

from kubefab import render, status
from kubefab.ops import host
from kubefab.profiles.legacy.render import MASTER_UNITS, NODE_UNITS
from kubefab.layout import (APISERVER, DOWNLOAD, KUBELET, LOCK_DIR, ONESHOTS,
                            OWED_DIR, stamp_path)

import fakehost
from fakehost import FakeCluster, Killed, recap
from test_deploy_fake import ALL, MASTER, NEW_RELEASE, NODE, NOOP, ONE_FLAG, deploy, variant

KUBELET_FLAG = ("  bind_address: 0.0.0.0", "  kubelet_port: 10251\n  bind_address: 0.0.0.0")
SELF = ("registration: manual", "registration: self")


def change(inv, *changes):
    text = inv.path.read_text()
    for old, new in changes:
        assert old in text
        text = text.replace(old, new)
    path = inv.path.parent / "hosts-changed.yaml"
    path.write_text(text)
    from kubefab.inventory import load
    return load(path)


def running_as_written(inv, cluster) -> dict:
    """Units whose running process does not match its unit file or the release: {} when
    every one does (as /proc/<MainPID>/cmdline against the unit file on a real host)."""
    stamp = inv.profile.release_stamp()
    wrong = {}
    for h in inv.hosts:
        m = cluster[h.name]
        for unit in inv.profile.unit_order(h):
            u = m.unit(unit)
            if unit in ONESHOTS:
                continue
            if u.active != "active" or u.ran != m.unit_file(unit) or u.release != stamp:
                wrong[(h.name, unit)] = u.active
    return wrong


def status_problems(inv, cluster) -> list[str]:
    wanted, _ = status.wanted(inv)
    facts = {h.name: host.probe(cluster.connect(h).open(), inv, wanted[h.name]) for h in inv.hosts}
    return status.report(inv, wanted, facts, {})["problems"]


def finished(inv, cluster, capsys) -> str:
    """The re-run: it converges, everything runs as written, status OK, then a no-op."""
    for m in cluster.machines.values():  # a killed run's lock stays behind: kubefab unlock
        m.unlock(LOCK_DIR, "", "force")
    assert deploy(inv, cluster) == 0
    out = capsys.readouterr().out
    assert running_as_written(inv, cluster) == {}
    assert status_problems(inv, cluster) == []
    assert not any(p.startswith(OWED_DIR + "/") for m in cluster.machines.values() for p in m.files)
    assert deploy(inv, cluster) == 0
    assert capsys.readouterr().out.count(NOOP) == 5
    return out


@pytest.fixture
def converged(inv, cluster, capsys):
    assert deploy(inv, cluster) == 0
    capsys.readouterr()
    return cluster


def test_killed_after_the_writes_the_next_run_restarts_what_they_owe(inv, converged, capsys):
    new = change(inv, ONE_FLAG, KUBELET_FLAG)
    for m in converged.machines.values():
        m.faults.add("killed")
    with pytest.raises(Killed):
        deploy(new, converged)
    for m in converged.machines.values():
        m.faults.discard("killed")
    # the master's new unit is written, not running; the nodes' kubelet units name the master:
    # not written before it answered in this run, their restarts owed all the same
    assert set(running_as_written(new, converged)) == {(MASTER, APISERVER)}
    assert all(f"{OWED_DIR}/{KUBELET}" in converged[h].files for h in ALL[1:])
    capsys.readouterr()

    dry = deploy(new, converged, dry_run=True)
    out = capsys.readouterr().out
    assert dry == 0 and f"[{MASTER}] restart {APISERVER} (owed by an earlier run)" in out
    assert f"[{NODE}] restart {KUBELET}" in out
    assert recap(out)[NODE] == ("pending", f"write 1 files; systemctl daemon-reload; restart {KUBELET}")
    assert f"{NODE}: restart of {KUBELET} owed (owed by an earlier run)" in status_problems(new, converged)

    out = finished(new, converged, capsys)
    assert recap(out)[NODE] == ("changed", f"wrote 1 files; restarted {KUBELET}")


def test_a_full_disk_fails_the_host_and_the_next_run_finishes(inv, converged, capsys):
    new = change(inv, KUBELET_FLAG, ("  environment: production\n", "  environment: production\n  rack: r1\n"),
                 ('  email: ""', "  email: ops@example.com"))  # two files that do not name the master
    converged[NODE].faults.add("full-disk")
    assert deploy(new, converged) == 1
    row = recap(capsys.readouterr().out)[NODE]
    assert row[0] == "failed" and "no space left on device" in row[1]
    converged[NODE].faults.discard("full-disk")
    finished(new, converged, capsys)


def test_ctrl_c_during_the_download_and_a_download_that_ends_later(inv, converged, capsys):
    new = change(inv, NEW_RELEASE)
    for m in converged.machines.values():
        m.faults |= {"download-hangs"}
    converged[NODE].faults.add("interrupt-download")
    assert deploy(new, converged) == 130
    out = capsys.readouterr().out
    assert "interrupted" in out and recap(out)[NODE][0] == "failed"
    for m in converged.machines.values():
        m.finish_download()  # the unit went on after fab gave up: the stamp is the new one
        assert m.files[stamp_path(inv.kubernetes.install_dir)].content.strip() == new.profile.release_stamp()
    assert running_as_written(new, converged)  # but nothing runs the new release yet
    out = finished(new, converged, capsys)
    assert f"run {DOWNLOAD}" not in out  # installed already: only the restarts were owed
    assert recap(out)[MASTER] == ("changed", "; ".join(f"restarted {u} (owed by an earlier run)"
                                                       for u in MASTER_UNITS))


def test_the_download_is_watched_and_bounded(inv, converged, capsys):
    """A download that never ends: progress while it runs, and the run's bound (the
    unit's own 15 minutes and 30 s) ends the wait, on the cluster's clock (no real time)."""
    converged[NODE].faults.add("download-hangs")
    assert deploy(change(inv, NEW_RELEASE), converged, hosts=[NODE]) == 1
    out = capsys.readouterr().out
    assert re.search(rf"\[{NODE}\] waiting for {re.escape(DOWNLOAD)} \(\d+s\): activating", out)
    assert recap(out)[NODE][1].startswith(f"{DOWNLOAD} still activating after 930s: kubernetes-download: downloading")


@pytest.mark.parametrize("name", [MASTER, NODE])
def test_the_download_is_awaited_on_the_host_in_one_round_trip(inv, converged, capsys, monkeypatch, name):
    """The download's end is awaited on the host (its journal, scripts/wait-unit.sh), not
    looked at by a round trip a second: a download that takes 12 s ends within the one
    command that waits for it after the batch that started it followed its first 5 s."""
    host = converged[name]
    host.faults.add("download-hangs")
    naps = []

    def nap(clock, seconds):
        naps.append(seconds)
        clock.sleep(seconds)
        if len(naps) == 12:
            host.finish_download()
    monkeypatch.setattr(fakehost, "nap", nap)
    before = len(host.log)
    assert deploy(change(inv, NEW_RELEASE), converged, hosts=[name]) == 0
    waits = [c for c in host.log[before:] if c.what == "wait" and DOWNLOAD in c.argv]
    assert [w.argv[3] for w in waits] == ["kubefab-wait-unit"] * 2
    assert [w.argv[5] for w in waits] == ["5", "30"]  # the batch's slice, then one round trip's
    assert recap(capsys.readouterr().out)[name][0] == "changed"


def test_scheduler_and_controller_manager_restart_after_a_failed_apiserver_wait(inv, converged, capsys):
    new = change(inv, NEW_RELEASE)
    converged[MASTER].faults.add("healthz")
    assert deploy(new, converged, hosts=[MASTER], timeout=0) == 1
    row = recap(capsys.readouterr().out)[MASTER]
    assert row[0] == "failed" and f"changed before that: wrote" in row[1] and f"restarted {APISERVER}" in row[1]
    assert {u for h, u in running_as_written(new, converged) if h == MASTER} == set(MASTER_UNITS[1:])
    converged[MASTER].faults.discard("healthz")
    out = finished(new, converged, capsys)
    assert recap(out)[MASTER] == ("changed", "; ".join(f"restarted {u} (owed by an earlier run)"
                                                       for u in MASTER_UNITS[1:]))


def test_a_node_deleted_under_self_registration_is_repaired(inv, capsys):
    own = change(inv, SELF)
    cluster = FakeCluster(own)
    assert deploy(own, cluster) == 0
    del cluster.api.nodes[NODE]
    capsys.readouterr()
    assert deploy(own, cluster, dry_run=True) == 0
    why = f"Node {NODE} missing from the cluster"
    assert f"[{NODE}] restart {KUBELET} ({why})" in capsys.readouterr().out
    assert f"{NODE}: node not registered" in status_problems(own, cluster)
    assert deploy(own, cluster, timeout=0) == 0
    assert recap(capsys.readouterr().out)[NODE] == ("changed", f"restarted {KUBELET} ({why})")
    assert NODE in cluster.api.nodes and status_problems(own, cluster) == []


def test_repairs_say_what_they_did(inv, converged, capsys):
    node = converged[NODE]
    node.units[KUBELET].enabled = False
    node.units[NODE_UNITS[1]].active = "failed"
    assert deploy(inv, converged, dry_run=True) == 0
    assert recap(capsys.readouterr().out)[NODE] == (
        "pending", f"systemctl daemon-reload; systemctl enable {KUBELET}; "
                   f"systemctl start kubernetes.node.target {NODE_UNITS[1]}")
    assert deploy(inv, converged) == 0
    assert recap(capsys.readouterr().out)[NODE] == (
        "changed", f"enabled {KUBELET}; started kubernetes.node.target, {NODE_UNITS[1]}")
    assert node.units[KUBELET].enabled and node.units[NODE_UNITS[1]].active == "active"


def test_ctrl_c_says_what_each_host_changed_before(inv, capsys):
    cluster = FakeCluster(inv)
    cluster[MASTER].faults |= {"interrupt", "healthz"}
    assert deploy(inv, cluster) == 130
    rows = recap(capsys.readouterr().out)
    assert all(rows[h][0] == "failed" and "changed before that: wrote" in rows[h][1] for h in ALL), rows


def test_the_node_ready_wait_says_who_is_pending(inv, capsys):
    cluster = FakeCluster(inv)
    cluster["ded-prd-01"].faults.add("not-ready")
    assert deploy(inv, cluster, timeout=12) == 1
    out = capsys.readouterr().out
    assert f"[{MASTER}] waiting for the nodes (5s): 1 node(s): ded-prd-01 registered, not Ready" in out
    assert f"[{MASTER}] waiting for the nodes (10s)" in out

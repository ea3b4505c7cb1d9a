"""etcd.snapshot and etcd.restore on fake hosts: a modern master with kubefab's etcd
(its units, etcdctl and the admin's files put in place as deploy leaves them), the
snapshot holding the fake apiserver's nodes. The order of a restore, what stops it before
anything is stopped, and what a failure at each step leaves."""
import json
import os
import stat

import pytest

from kubefab.ops.etcd_restore import Restore
from kubefab.ops.etcd_snapshot import Snapshot
from kubefab.layout import ETCD_SNAPSHOTS, LOCK_DIR
from kubefab.layout import APISERVER, CONTROLLER_MANAGER, ETCD, SCHEDULER, UNIT_DIR
from kubefab.profiles.modern.paths import ADMIN_CERT, ADMIN_KEY, CA, ETCD_DATA
from kubefab.ops.operation import Options

from fakehost import FakeCluster, FakeFile, Unit, recap

try:
    from modern_fixtures import modern_inventory
except ImportError:
    from tests.unit.modern_fixtures import modern_inventory

MASTER, NODE = "azure-prd-01", "azure-prd-02"
CONTROL_PLANE = (ETCD, APISERVER, CONTROLLER_MANAGER, SCHEDULER)
OLD_WAL = f"{ETCD_DATA}/member/wal/0000000000000000-0000000000000000.wal"


@pytest.fixture
def inv():
    return modern_inventory("modern-1.36")


def running_master(inv, etcd="3.4.23", etcdutl=None) -> FakeCluster:
    cluster = FakeCluster(inv)
    m = cluster[MASTER]
    for unit in CONTROL_PLANE:
        m.files[f"{UNIT_DIR}/{unit}"] = FakeFile("[Service]\n")
        m.units[unit] = Unit(enabled=True, active="active", starts=1)
    for path in (CA, ADMIN_CERT, ADMIN_KEY, OLD_WAL):
        m.files[path] = FakeFile("x", 0o600)
    m.files["/usr/local/bin/etcdctl"] = FakeFile(f"#!etcdctl {etcd}", 0o755)
    if etcdutl:
        m.files["/usr/local/bin/etcdutl"] = FakeFile(f"#!etcdutl {etcdutl}", 0o755)
    cluster.api.nodes = {NODE: {"kubernetes.io/hostname": NODE}}
    return cluster


def snapshot(inv, cluster, out, **opts) -> int:
    return Snapshot(inv, Options(**opts), out, connect=cluster.connect).run()


def restore(inv, cluster, path, **opts) -> int:
    return Restore(inv, Options(timeout=3, **opts), path, path.read_bytes(), connect=cluster.connect).run()


def commands(machine, since=0) -> list[str]:
    """The master's systemctl and etcd tool calls, in order, as 'verb what'."""
    out = []
    for c in machine.log[since:]:
        if c.argv[0] == "systemctl" and c.argv[1] in ("stop", "start"):
            out.append(" ".join(c.argv[1:]))
        elif c.what in ("etcdctl", "etcdutl") and "snapshot" in c.argv:
            out.append(f"{c.what} snapshot {c.argv[c.argv.index('snapshot') + 1]}")
        elif c.what in ("swap", "put"):
            out.append(c.what)
        elif c.what == "curl" and (not out or out[-1] != "readyz"):
            out.append("readyz")
    return out


def test_a_snapshot_comes_back_verified_0600_and_leaves_no_copy(inv, tmp_path, capsys):
    cluster, out = running_master(inv), tmp_path / "s.db"
    assert snapshot(inv, cluster, out) == 0
    said = capsys.readouterr().out
    assert json.loads(out.read_text()) == {"nodes": {NODE: {"kubernetes.io/hostname": NODE}}}
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    assert f"snapshot {out} (" in said and "revision 41, 1 keys, db 20480 bytes, hash " in said
    assert recap(said)[MASTER][0] == "changed"
    m = cluster[MASTER]
    assert not [p for p in m.files if p.startswith(ETCD_SNAPSHOTS)] and ETCD_SNAPSHOTS in m.dirs
    assert [c.argv[-1] for c in m.calls("etcdctl") if "save" in c.argv][0].startswith(f"{ETCD_SNAPSHOTS}/")
    assert f"{LOCK_DIR}/holder" not in m.files  # the lock was taken and given back
    assert m.calls("lock")


def test_a_dry_run_snapshot_only_says_what_it_would_do(inv, tmp_path, capsys):
    cluster, out = running_master(inv), tmp_path / "s.db"
    assert snapshot(inv, cluster, out, dry_run=True) == 0
    said = capsys.readouterr().out
    assert "would: etcdctl snapshot save" in said and recap(said)[MASTER][0] == "pending"
    assert not out.exists() and not [c for c in cluster[MASTER].calls("etcdctl") if "save" in c.argv]


def test_no_snapshot_of_an_etcd_that_does_not_run(inv, tmp_path, capsys):
    cluster = running_master(inv)
    cluster[MASTER].units[ETCD].active = "failed"
    assert snapshot(inv, cluster, tmp_path / "s.db") == 1
    said = capsys.readouterr().out
    assert f"{ETCD} is failed: nothing to snapshot" in recap(said)[MASTER][1]
    assert f"Re-run: kubefab etcd.snapshot --out {tmp_path / 's.db'}" in said
    assert not (tmp_path / "s.db").exists()


def test_restore_stops_the_control_plane_restores_swaps_and_starts_it_in_order(inv, tmp_path, capsys):
    cluster, out = running_master(inv), tmp_path / "s.db"
    assert snapshot(inv, cluster, out) == 0
    cluster.api.nodes[NODE]["restore-test"] = "after"  # a change after the snapshot
    since = len(cluster[MASTER].log)
    assert restore(inv, cluster, out, ) == 0
    said = capsys.readouterr().out
    assert cluster.api.nodes == {NODE: {"kubernetes.io/hostname": NODE}}  # the snapshot's state
    assert commands(cluster[MASTER], since) == [
        "put", "etcdctl snapshot status", f"stop {SCHEDULER}", f"stop {CONTROLLER_MANAGER}", f"stop {APISERVER}",
        f"stop {ETCD}", "etcdctl snapshot restore", "swap", f"start {ETCD}", f"start {APISERVER}", "readyz",
        f"start {CONTROLLER_MANAGER} {SCHEDULER}"]
    m = cluster[MASTER]
    aside = next(p for p in m.files if p.endswith(".wal")).split("/member/")[0]
    assert aside.startswith(f"{ETCD_DATA}.before-restore-") and f"the old data dir is {aside}" in said
    assert f"{ETCD_DATA}/member/snap/db" in m.files
    assert all(m.unit(u).active == "active" for u in CONTROL_PLANE)
    assert not [p for p in m.files if p.startswith(ETCD_SNAPSHOTS)]  # the uploaded copy is gone
    assert "verified: " in said and recap(said)[MASTER][0] == "changed"


def test_a_file_that_is_no_snapshot_stops_nothing(inv, tmp_path, capsys):
    cluster, bad = running_master(inv), tmp_path / "bad.db"
    bad.write_text("not a snapshot")
    assert restore(inv, cluster, bad) == 1
    assert "is no etcd snapshot (etcdctl snapshot status: Error: invalid database)" in \
        recap(capsys.readouterr().out)[MASTER][1]
    m = cluster[MASTER]
    assert commands(m) == ["put", "etcdctl snapshot status"]
    assert all(m.unit(u).starts == 1 and m.unit(u).active == "active" for u in CONTROL_PLANE)
    assert OLD_WAL in m.files and not [p for p in m.files if p.startswith(ETCD_SNAPSHOTS)]


def test_a_dry_run_restore_says_each_step_and_changes_nothing(inv, tmp_path, capsys):
    cluster, out = running_master(inv), tmp_path / "s.db"
    out.write_text(json.dumps({"nodes": {}}))
    assert restore(inv, cluster, out, dry_run=True) == 0
    said = capsys.readouterr().out
    assert f"would: stop {SCHEDULER}, {CONTROLLER_MANAGER}, {APISERVER}, then {ETCD}" in said
    assert recap(said)[MASTER][0] == "pending" and commands(cluster[MASTER]) == []


def test_a_failed_restore_brings_the_old_data_back_up(inv, tmp_path, capsys):
    cluster, out = running_master(inv), tmp_path / "s.db"
    assert snapshot(inv, cluster, out) == 0
    cluster.api.nodes[NODE]["kept"] = "yes"
    cluster[MASTER].faults.add("etcd-restore-fails")
    assert restore(inv, cluster, out) == 1
    why = recap(capsys.readouterr().out)[MASTER][1]
    assert "snapshot restore failed: Error: write" in why
    assert "nothing restored: etcd and the control plane started again on the old data" in why
    m = cluster[MASTER]
    assert OLD_WAL in m.files and all(m.unit(u).active == "active" for u in CONTROL_PLANE)
    assert cluster.api.nodes[NODE]["kept"] == "yes"


def test_etcd_that_does_not_start_after_the_swap_says_where_the_old_data_is(inv, tmp_path, capsys):
    cluster, out = running_master(inv), tmp_path / "s.db"
    assert snapshot(inv, cluster, out) == 0
    cluster[MASTER].faults.add("etcd-fails")
    assert restore(inv, cluster, out) == 1
    said = capsys.readouterr().out
    why = recap(said)[MASTER][1]
    assert f"the data from before the restore is in {ETCD_DATA}.before-restore-" in why
    assert f"Job for {ETCD} failed" in why
    assert said.rstrip().endswith(f"Re-run: kubefab etcd.restore {out}")  # never --yes, which it did not give


def test_etcd_3_6_restores_with_etcdutl_and_refuses_without_it(inv, tmp_path, capsys):
    cluster, out = running_master(inv, etcd="3.6.14"), tmp_path / "s.db"
    out.write_text(json.dumps({"nodes": {}}))
    assert restore(inv, cluster, out) == 1
    assert "etcd 3.6.14 reads and restores snapshots with etcdutl, and there is none at /usr/local/bin/etcdutl" \
        in recap(capsys.readouterr().out)[MASTER][1]
    assert commands(cluster[MASTER]) == []

    cluster = running_master(inv, etcd="3.6.14", etcdutl="3.6.14")
    assert restore(inv, cluster, out) == 0
    used = commands(cluster[MASTER])
    assert "etcdutl snapshot status" in used and "etcdutl snapshot restore" in used
    assert cluster.api.nodes == {}

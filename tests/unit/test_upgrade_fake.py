"""kubefab upgrade's orchestration on fake hosts: the control plane first, then the nodes
in batches (cordon, drain, release, restart, Ready at the new version, uncordon); the
first failed batch stops the run and a re-run finishes; refusals change nothing."""
import pytest

from kubefab.ops.deploy import Deploy
from kubefab import versions
from kubefab.inventory import load
from kubefab import layout
from kubefab.layout import APISERVER, CORDONED_BY, DOWNLOAD, KUBELET
from kubefab.ops.operation import Options
from kubefab.ops.upgrade import Upgrade

from fakehost import recap
from test_deploy_fake import ALL, MASTER

NODES = ALL[1:]
OLD, NEW = "v1.18.1", "v1.19.2"  # kubectl drain exists from v1.2; eviction from v1.18 is policy/v1beta1


def _version(inv, version, name="hosts-changed.yaml"):
    """The inventory at another release (its version and release URL)."""
    path = inv.path.parent / name
    text = inv.path.read_text().replace("v1.0.1", version)
    if versions.profile(versions.parse(version)) == versions.MODERN:  # it takes hosts.yaml's plain etcd only so
        text = text.replace(f"version: {version}", f"version: {version}\n  etcd_insecure: true")
    path.write_text(text)
    return load(path)


def upgrade(inv, cluster, batch="1", **opts) -> int:
    return Upgrade(inv, list(inv.hosts), Options(**{"timeout": 3, **opts}), batch, 30,
                   connect=cluster.connect).run()


@pytest.fixture
def running(inv, cluster):
    """The repo's cluster deployed at OLD."""
    old = _version(inv, OLD, "hosts-old.yaml")
    assert Deploy(old, list(old.hosts), Options(), connect=cluster.connect).run() == 0
    cluster.history.clear()
    return cluster


def kubelet_version(cluster, name):
    return (cluster[name].unit(KUBELET).release or "").split(" ")[0]


def test_master_first_then_each_node_cordoned_drained_restarted_uncordoned(inv, running, capsys):
    running.api.pods = {"web-1": NODES[0], "web-2": NODES[2]}
    assert upgrade(_version(inv, NEW), running) == 0
    h = running.history
    assert h.index((MASTER, f"start {APISERVER}")) < h.index((NODES[0], "cordon"))
    for node in NODES:
        assert [w for n, w in h if n == node] == ["cordon", "drain", f"start {DOWNLOAD}", f"start {KUBELET}",
                                                  "start kubernetes.proxy.service", "uncordon"]
        assert kubelet_version(running, node) == NEW
    order = [n for n, w in h if w == "cordon"]
    assert order == NODES
    firsts = [h.index((n, "cordon")) for n in NODES]
    lasts = [h.index((n, "uncordon")) for n in NODES]
    assert all(lasts[i] < firsts[i + 1] for i in range(len(NODES) - 1))  # one node at a time
    assert running.api.pods == {}  # evicted by the drains
    assert not any(s["unschedulable"] or CORDONED_BY in s["annotations"] for s in running.api.specs.values())
    rows = recap(capsys.readouterr().out)
    assert all(rows[n][0] == "changed" and f"Ready at {NEW}" in rows[n][1] for n in NODES)


def test_batches_of_two_and_of_a_percentage(inv, running):
    assert upgrade(_version(inv, NEW), running, batch="50%") == 0
    h = running.history
    assert max(h.index((n, "uncordon")) for n in NODES[:2]) < min(h.index((n, "cordon")) for n in NODES[2:])
    assert h.index((NODES[1], "cordon")) < h.index((NODES[0], "uncordon"))  # together


def test_a_kubelet_that_fails_stops_at_its_batch_and_a_rerun_finishes(inv, running, capsys):
    new = _version(inv, NEW)
    running[NODES[1]].faults.add("kubelet-fails")
    assert upgrade(new, running) == 1
    rows = recap(capsys.readouterr().out)
    assert rows[NODES[0]][0] == "changed"
    assert rows[NODES[1]][0] == "failed" and "failed to run Kubelet" in rows[NODES[1]][1]
    for n in NODES[2:]:
        assert rows[n] == ("failed", f"not upgraded: batch 2 failed ({NODES[1]}); fix it and run kubefab upgrade again")
        assert kubelet_version(running, n) == OLD and CORDONED_BY not in running.api.specs[n]["annotations"]  # never cordoned
    assert running.api.specs[NODES[1]]["unschedulable"]  # left cordoned: it is broken
    assert CORDONED_BY in running.api.specs[NODES[1]]["annotations"]
    running[NODES[1]].faults.discard("kubelet-fails")
    running.history.clear()
    assert upgrade(new, running) == 0
    touched = {n for n, w in running.history if w in ("cordon", "drain")}
    assert touched == set(NODES[1:])  # the node done before is skipped
    assert all(kubelet_version(running, n) == NEW for n in NODES)
    assert not any(s["unschedulable"] for s in running.api.specs.values())
    capsys.readouterr()
    assert upgrade(new, running) == 0  # and then nothing is left to do
    assert set(r[0] for r in recap(capsys.readouterr().out).values()) == {"unchanged"}


def test_a_drain_that_times_out_uncordons_the_node_and_stops(inv, running, capsys):
    running[NODES[0]].faults.add("drain-stuck")
    assert upgrade(_version(inv, NEW), running) == 1
    rows = recap(capsys.readouterr().out)
    assert rows[NODES[0]][0] == "failed" and "global timeout reached: 30s" in rows[NODES[0]][1]
    assert kubelet_version(running, NODES[0]) == OLD and not running.api.specs[NODES[0]]["unschedulable"]
    assert all(kubelet_version(running, n) == OLD for n in NODES)


def test_a_node_the_operator_cordoned_stays_cordoned(inv, running):
    running.api.specs[NODES[2]] = {"unschedulable": True, "annotations": {}}
    assert upgrade(_version(inv, NEW), running) == 0
    assert running.api.specs[NODES[2]]["unschedulable"] and kubelet_version(running, NODES[2]) == NEW
    assert (NODES[2], "uncordon") not in running.history


def test_a_node_kubefab_left_cordoned_at_the_new_version_is_only_uncordoned(inv, running):
    new = _version(inv, NEW)
    assert upgrade(new, running) == 0
    running.api.specs[NODES[0]] = {"unschedulable": True, "annotations": {CORDONED_BY: "an earlier run"}}
    running.history.clear()
    assert upgrade(new, running) == 0
    assert running.history == [(NODES[0], "uncordon")]


@pytest.mark.parametrize("version,says", [
    ("v1.0.7", "v1.18.1 -> v1.0.7 downgrades a minor"),
    ("v1.35.0", "crosses from kubefab's v1.0 profile to the modern one"),
])
def test_refused_before_any_change(inv, running, capsys, version, says):
    before = {n: (m.writes, len(m.calls("lock"))) for n, m in running.machines.items()}
    pki_before = {p: p.read_bytes() for p in (inv.path.parent / "pki").iterdir()}
    assert upgrade(_version(inv, version), running) == 1
    out = capsys.readouterr().out
    assert "refused: " in out and says in out
    assert {n: (m.writes, len(m.calls("lock"))) for n, m in running.machines.items()} == before
    assert running.history == [] and "pki:" not in out
    assert {p: p.read_bytes() for p in (inv.path.parent / "pki").iterdir()} == pki_before


def test_dry_run_shows_order_batches_downloads_and_restarts(inv, running, capsys):
    assert upgrade(_version(inv, NEW), running, batch="2", dry_run=True) == 0
    out = capsys.readouterr().out
    assert f"upgrade {OLD} -> {NEW}: the master first, then 4 node(s) in 2 batch(es) of 2" in out
    assert f"  master {MASTER}: download https://" in out and f"restart {APISERVER}" in out
    assert f"  batch 2/2 {NODES[3]}: cordon, drain (at most 30s), download" in out
    assert f"wait Ready at {NEW}, uncordon" in out
    assert running.history == [] and all(kubelet_version(running, n) == OLD for n in NODES)
    assert all(r[0] == "pending" for r in recap(out).values())


def test_deploy_refuses_a_version_change_on_a_running_cluster_and_names_fab_upgrade(inv, running, capsys):
    since = {n: len(running[n].log) for n in ALL}
    assert Deploy(_version(inv, NEW), list(inv.hosts), Options(), connect=running.connect).run() == 1
    out = capsys.readouterr().out
    said = [line for line in out.splitlines() if "refused" in line and "kubefab upgrade" in line]
    assert said == [f"refused: kubernetes.version is {NEW} in hosts-changed.yaml, the cluster runs {OLD}: "
                    "run `kubefab upgrade` to roll it (control plane first, nodes in batches)"]
    assert out.rstrip().endswith("Re-run: kubefab upgrade")
    assert all(c.what == "probe" for n in ALL for c in running[n].log[since[n]:])  # nothing changed
    assert all(kubelet_version(running, n) == OLD for n in NODES)


def test_deploy_refuses_a_node_left_at_the_old_version_once_the_master_runs_the_new(inv, running, capsys):
    new = _version(inv, NEW)
    assert Deploy(new, [new.master], Options(), connect=running.connect).run() == 1  # refused: the master
    assert upgrade(new, running) == 0
    stamp = f"{layout.stamp_path(inv.kubernetes.install_dir)}"
    running[NODES[1]].files[stamp].content = running[NODES[1]].files[stamp].content.replace(NEW, OLD)
    capsys.readouterr()
    assert Deploy(new, list(new.hosts), Options(dry_run=True), connect=running.connect).run() == 1
    assert f"node {NODES[1]} runs {OLD}: run `kubefab upgrade`" in capsys.readouterr().out


def test_deploy_of_another_version_goes_on_where_the_master_has_no_release_yet(inv, running, capsys):
    """A first deploy stopped before the master's release was complete (its nodes have
    one): not a running cluster, so deploy installs the inventory's version."""
    running[MASTER].files.pop(layout.stamp_path(inv.kubernetes.install_dir))
    new = _version(inv, NEW)
    assert Deploy(new, list(new.hosts), Options(timeout=3), connect=running.connect).run() == 0
    assert "refused" not in capsys.readouterr().out
    assert all(kubelet_version(running, n) == NEW for n in NODES)

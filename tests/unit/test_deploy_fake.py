"""kubefab deploy's orchestration on fake hosts (tests/fakehost.py), one table of
scenarios: what the recap says per host, which units (re)started how often, which
files were written, the exit code, and that no lock of this run is left behind."""
from dataclasses import dataclass, field


import pytest

from kubefab import pki, render
from kubefab.ops.deploy import Deploy, Options
from kubefab.inventory import load
from kubefab.profiles.legacy.render import MASTER_UNITS, NODE_UNITS
from kubefab.layout import (APISERVER, DOWNLOAD, KUBELET, LOCK_DIR, MASTER_TARGET,
                            NODE_TARGET, REGISTER, STAGE_DIR, stamp_path)

from fakehost import FakeCluster, FakeFile, recap
from kubefab import layout

MASTER, NODE, OTHER = "azure-prd-01", "azure-prd-02", "ded-prd-01"
ALL = [MASTER, NODE, "azure-prd-03", "azure-prd-04", OTHER]
NOOP = "no changes: files, units and release already as wanted"


def deploy(inv, cluster, hosts=None, **opts) -> int:
    targets = [h for h in inv.hosts if hosts is None or h.name in hosts]
    return Deploy(inv, targets, Options(**opts), connect=cluster.connect).run()


def variant(inv, old: str, new: str):
    """The inventory with one piece of text changed (beside it: the same PKI)."""
    path = inv.path.parent / "hosts-changed.yaml"
    text = inv.path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))
    return load(path)


ONE_FLAG = ("- http://10.1.0.2:2379", "- http://10.1.0.9:2379")  # the apiserver's etcd servers: the master's only
CLUSTER_LABEL = ("  environment: production\n", "  environment: production\n  rack: r1\n")
NEW_RELEASE = ("releases/download/v1.0.1/kubernetes.tar.gz", "releases/download/v1.0.1/kubernetes-2.tar.gz")
FOREIGN = "alice@laptop pid 42 since 2024-01-01 00:00:00 UTC (run 0123456789ab)"


@dataclass
class Case:
    start: str  # "bare" hosts or a "converged" cluster
    change: tuple = ()  # (old, new) text in hosts.yaml
    hosts: list | None = None  # --hosts
    faults: dict = field(default_factory=dict)  # host -> fault names
    opts: dict = field(default_factory=dict)
    code: int = 0
    recap: dict = field(default_factory=dict)  # host -> status or (status, text in its line)
    started: dict = field(default_factory=dict)  # host -> {unit: starts in this run}, for hosts listed
    written: tuple = ()  # hosts that got files
    hint: str | None = None  # the hosts the re-run hint names
    locked_by: str | None = None  # another run holds the master's lock


CASES = {
    "fresh deploy": Case(
        "bare", recap={h: "changed" for h in ALL}, written=tuple(ALL),
        started={MASTER: dict.fromkeys((DOWNLOAD, *MASTER_UNITS, MASTER_TARGET), 1),
                 NODE: dict.fromkeys((DOWNLOAD, REGISTER, *NODE_UNITS, NODE_TARGET), 1)}),
    "no-op": Case("converged", recap={h: "unchanged" for h in ALL}, started={h: {} for h in ALL}),
    "one flag changed": Case(
        "converged", ONE_FLAG, recap={MASTER: ("changed", f"restarted {APISERVER}"),
                                      **{h: "unchanged" for h in ALL[1:]}},
        started={MASTER: {APISERVER: 1}, **{h: {} for h in ALL[1:]}}, written=(MASTER,)),
    "master-only --hosts": Case(
        "converged", ONE_FLAG, hosts=[MASTER], recap={MASTER: ("changed", f"restarted {APISERVER}")},
        started={MASTER: {APISERVER: 1}, NODE: {}}, written=(MASTER,)),
    "node-only --hosts": Case(
        "converged", CLUSTER_LABEL, hosts=[NODE],
        recap={MASTER: ("changed", f"label node {NODE} rack=r1"), NODE: ("changed", "wrote")},
        started={MASTER: {}, NODE: {}, OTHER: {}},  # labels: the master's kubectl, no restart
        written=(NODE,)),
    "a failing probe on a targeted host": Case(
        "converged", CLUSTER_LABEL, faults={NODE: {"probe"}}, code=1,
        recap={MASTER: "changed", NODE: ("failed", "probe failed: sudo asks for a password for core; name it in the inventory"),
               OTHER: "changed"},
        started={NODE: {}}, written=tuple(h for h in ALL if h not in (MASTER, NODE)), hint=NODE),
    "a failing probe, that node only": Case(
        "converged", CLUSTER_LABEL, hosts=[NODE], faults={NODE: {"probe"}}, code=1,
        recap={MASTER: "unchanged", NODE: ("failed", "probe failed")}, hint=NODE),
    "a host that does not answer": Case(
        "converged", CLUSTER_LABEL, faults={OTHER: {"connect"}}, code=1,
        recap={NODE: "changed", OTHER: ("failed", "no route to host 10.")}, hint=OTHER,
        written=(NODE, "azure-prd-03", "azure-prd-04")),
    "an unknown host key": Case(
        "converged", ONE_FLAG, faults={OTHER: {"host-key"}}, code=1, started={h: {} for h in ALL},
        recap={MASTER: ("failed", "not touched: another host's key is unknown or changed"),
               OTHER: ("failed", "is not in known_hosts")}, hint=",".join(ALL)),
    "a held lock": Case(
        "converged", ONE_FLAG, locked_by=FOREIGN, code=1, started={h: {} for h in ALL},
        recap={h: ("failed", f"cluster locked by {FOREIGN} (lock on {MASTER}, lease expires in ",
                   "if that run was killed, re-run once its lease expires, or wait with --wait-lock")
               for h in ALL},
        hint=",".join(ALL)),
    "a failed download": Case(
        "converged", NEW_RELEASE, faults={h: {"download"} for h in ALL}, code=1,
        recap={h: ("failed", f"{DOWNLOAD} failed: ", "returned error: 404") for h in ALL},
        started={h: {} for h in ALL}, written=tuple(ALL), hint=",".join(ALL)),
    "an apiserver that never gets healthy": Case(
        "bare", faults={MASTER: {"healthz"}}, opts={"timeout": 0}, code=1,
        recap={MASTER: ("failed", "not healthy after 0s (last answer: [-]etcd failed"),
               NODE: ("failed", "not started: the master failed", "installed the release")},
        started={MASTER: dict.fromkeys((DOWNLOAD, *MASTER_UNITS, MASTER_TARGET), 1),  # the target starts all
                 NODE: {DOWNLOAD: 1}},  # its release in place, nothing started without an apiserver
        written=tuple(ALL), hint=",".join(ALL)),
    "a node that never gets Ready": Case(
        "bare", faults={OTHER: {"not-ready"}}, opts={"timeout": 0}, code=1,
        recap={NODE: "changed", OTHER: ("failed", f"registered, not Ready after 0s (check its kubelet: "
                                                  f"journalctl -u {KUBELET})")},
        written=tuple(ALL), hint=OTHER),
    "Ctrl-C while waiting for the apiserver": Case(
        "bare", faults={MASTER: {"interrupt", "healthz"}}, code=130,
        recap={h: ("failed", "interrupted (Ctrl-C)") for h in ALL},
        started={MASTER: dict.fromkeys((DOWNLOAD, *MASTER_UNITS, MASTER_TARGET), 1), NODE: {DOWNLOAD: 1}},
        written=tuple(ALL), hint=",".join(ALL)),
    "Ctrl-C while connecting": Case(
        "converged", ONE_FLAG, faults={OTHER: {"interrupt-connect"}}, code=130,
        recap={h: ("failed", "interrupted (Ctrl-C)") for h in ALL}, started={h: {} for h in ALL},
        hint=",".join(ALL)),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_deploy(inv, case, capsys):
    cluster = FakeCluster(inv)
    if case.start == "converged":
        assert deploy(inv, cluster) == 0
    if case.locked_by:
        cluster[MASTER].lock(LOCK_DIR, case.locked_by, "60", STAGE_DIR)
    capsys.readouterr()
    before = {name: (m.starts(), m.writes) for name, m in cluster.machines.items()}
    for host, faults in case.faults.items():
        cluster[host].faults |= faults
    target = variant(inv, *case.change) if case.change else inv

    code = deploy(target, cluster, case.hosts, **case.opts)
    out = capsys.readouterr().out

    assert code == case.code, out
    rows = recap(out)
    for host, want in case.recap.items():
        status, *texts = (want,) if isinstance(want, str) else want
        assert rows[host][0] == status and all(t in rows[host][1] for t in texts), (host, rows[host])
    if case.hosts is not None:  # the master is always connected: it registers the nodes
        assert set(rows) == set(case.hosts) | {MASTER}
    for host, units in case.started.items():
        starts, was = cluster[host].starts(), before[host][0]
        assert {u: n - was.get(u, 0) for u, n in starts.items() if n != was.get(u, 0)} == units, host
    assert {h for h, m in cluster.machines.items() if m.writes > before[h][1]} == set(case.written)
    hint = next((line for line in out.splitlines() if line.startswith("Re-run just")), None)
    assert hint == (case.hint and f"Re-run just the failed hosts: kubefab deploy --hosts {case.hint}")
    held = {h: m.files[f"{LOCK_DIR}/holder"].content.strip() for h, m in cluster.machines.items()
            if f"{LOCK_DIR}/holder" in m.files}
    assert held == ({MASTER: case.locked_by} if case.locked_by else {})  # ours released, theirs kept


def test_fresh_deploy_leaves_every_file_the_cluster_and_the_release_as_wanted(inv, cluster, capsys):
    assert deploy(inv, cluster) == 0
    keys = pki.ensure(inv)
    for h in inv.hosts:
        m = cluster[h.name]
        for path, f in render.render_host(inv, h, keys).items():
            got = m.files[path]
            assert (got.content, got.mode, got.owner, got.group) == (f.content, f.mode, f.owner, f.group), path
        assert m.files[stamp_path(inv.kubernetes.install_dir)].content.strip() == inv.profile.release_stamp()
        assert all(u.enabled and u.active == "active" for u in m.units.values()), h.name
        assert not any(p.startswith(("/tmp/", STAGE_DIR)) or "kubefab-new" in p for p in m.files), \
            "staged files left behind"
    assert cluster.api.nodes == {h.name: inv.node_labels(h) for h in inv.nodes}
    assert all(cluster.kubelet_ready(h.name) for h in inv.nodes)
    assert "verified: 4 node(s) registered, labelled, Ready" in capsys.readouterr().out


def test_apply_twice_the_second_run_changes_nothing_in_one_round_trip(inv, cluster, capsys):
    assert deploy(inv, cluster) == 0
    before = {name: (m.starts(), m.writes, len(m.log)) for name, m in cluster.machines.items()}
    capsys.readouterr()
    assert deploy(inv, cluster) == 0
    out = capsys.readouterr().out
    assert out.count(NOOP) == 5 and "wrote" not in out and "restarted" not in out
    for name, m in cluster.machines.items():
        assert (m.starts(), m.writes) == before[name][:2], name
        assert [c.what for c in m.log[before[name][2]:]] == ["probe"], name  # no lock, no kubectl


def test_a_changed_file_is_backed_up_and_replaced_atomically(inv, cluster, capsys):
    assert deploy(inv, cluster) == 0
    unit = f"{layout.UNIT_DIR}/{APISERVER}"
    old = cluster[MASTER].files[unit].content
    assert deploy(variant(inv, *ONE_FLAG), cluster) == 0
    assert cluster[MASTER].files[f"/var/lib/kubefab/backup{unit}.1"].content == old
    assert "http://10.1.0.9:2379" in cluster[MASTER].files[unit].content
    assert f"-    --etcd-servers=http://10.1.0.1:2379,http://10.1.0.2:2379" in \
        capsys.readouterr().out.replace(f"[{MASTER}] ", "")


def test_dry_run_shows_the_plan_and_changes_nothing(inv, cluster, capsys):
    assert deploy(inv, cluster, dry_run=True) == 0
    out = capsys.readouterr().out
    assert f"[{MASTER}] create {layout.UNIT_DIR}/{APISERVER}" in out
    assert "secret created: /home/core/.dockercfg (content not shown)" in out
    assert f"[{MASTER}] register the nodes once the apiserver is up" in out
    for m in cluster.machines.values():
        assert not m.files and not m.units and {c.what for c in m.log} == {"probe"}


def test_master_only_hosts_activates_the_master_once(inv, capsys):
    """Regression: --hosts <master> restarted each changed unit twice and listed it twice
    (an empty host list meant every host)."""
    cluster = FakeCluster(inv)
    assert deploy(inv, cluster) == 0
    before = cluster[MASTER].starts()
    assert deploy(variant(inv, *ONE_FLAG), cluster, hosts=[MASTER]) == 0
    after = cluster[MASTER].starts()
    assert {u: after[u] - before[u] for u in after if after[u] != before[u]} == {APISERVER: 1}
    (status, what), = recap(capsys.readouterr().out).values()
    assert status == "changed" and what.count("restarted") == 1 and what.endswith(f"restarted {APISERVER}")


def test_node_only_hosts_with_a_failing_probe_fails_that_node_alone(inv, capsys):
    """Regression: the master was reported `failed KeyError: '<master>'` and the hint
    said to re-run both."""
    cluster = FakeCluster(inv)
    assert deploy(inv, cluster) == 0
    capsys.readouterr()
    cluster[NODE].faults.add("probe")
    assert deploy(inv, cluster, hosts=[NODE]) == 1
    out = capsys.readouterr().out
    assert recap(out)[MASTER] == ("unchanged", "")
    assert recap(out)[NODE][0] == "failed"
    assert recap(out)[NODE][1].startswith("probe failed: sudo asks for a password for core; name it in the inventory")
    assert f"Re-run just the failed hosts: kubefab deploy --hosts {NODE}\n" in out
    assert LOCK_DIR not in cluster[MASTER].dirs


def test_json_puts_only_the_recap_on_stdout(inv, cluster, capsys, monkeypatch):
    import json
    from kubefab import report
    monkeypatch.setitem(report._progress, "stream", None)
    report.progress_to_stderr()
    cluster.machines[OTHER].faults.add("probe")
    assert deploy(inv, cluster, json=True) == 1
    captured = capsys.readouterr()
    data = json.loads(captured.out)  # nothing else on stdout
    assert data["ok"] is False and data["rerun"] == f"kubefab deploy --hosts {OTHER}"
    assert data["hosts"][MASTER]["result"] == "changed" and data["hosts"][OTHER]["result"] == "failed"
    assert "probe failed" in data["hosts"][OTHER]["reason"]
    assert f"[{MASTER}] create " in captured.err  # progress went to stderr


def staged(machine) -> list[str]:
    """What an upload left: temp files in their targets' staging folders, older kubefabs' stages."""
    return sorted(p for p in machine.files if "/.kubefab-new/" in p or
                  p.startswith((STAGE_DIR + "/", "/tmp/.kubefab-")))


def test_a_kill_during_upload_leaves_root_files_no_more_open_than_their_targets_the_next_run_removes(inv, cluster,
                                                                                                     capsys):
    assert deploy(inv, cluster) == 0
    old = cluster[OTHER]
    old.files["/tmp/.kubefab-0123abcd/0"] = FakeFile("token", 0o600, "core", "core")  # an older kubefab's
    cluster[NODE].faults.add("sigkill-upload")
    assert deploy(variant(inv, *CLUSTER_LABEL), cluster) == 1
    left = staged(cluster[NODE])
    files = cluster[NODE].files
    target = {p: p.replace("/.kubefab-new/", "/") for p in left}
    assert left and all(files[p].owner == "root" and files[p].mode == files[target[p]].mode for p in left)
    assert recap(capsys.readouterr().out)[NODE] == ("failed", "sh: lost the connection (the root shell was "
                                                              "killed while the upload ran)")
    cluster[NODE].faults.clear()
    assert deploy(variant(inv, *CLUSTER_LABEL), cluster) == 0  # writes the same files again, over the temps
    assert staged(cluster[NODE]) == [] and staged(old) == []


@pytest.mark.parametrize("fault, says", [
    ("read-only", f"writing 16 files failed: read-only file system: /etc/systemd/system/{APISERVER}"),
    ("disk-full", "writing 16 files failed: no space left on device: /etc/kubernetes.env"),
])
def test_a_write_that_fails_is_one_line_naming_the_cause_and_a_fixed_host_converges(inv, capsys, fault, says):
    cluster = FakeCluster(inv)
    cluster[MASTER].faults.add(fault)
    assert deploy(inv, cluster) == 1
    out = capsys.readouterr().out
    assert recap(out)[MASTER] == ("failed", says)
    assert "set -eu" not in out and not staged(cluster[MASTER])
    cluster[MASTER].faults.clear()  # the operator fixed the disk
    assert deploy(inv, cluster) == 0
    capsys.readouterr()
    assert deploy(inv, cluster) == 0 and capsys.readouterr().out.count(NOOP) == 5


def test_a_leftover_upload_on_a_converged_host_is_removed_by_the_next_run(inv, cluster, capsys):
    """A run with nothing else to do still takes the lock to clear a killed run's stage
    (status calls it a difference, so deploy must end it)."""
    assert deploy(inv, cluster) == 0
    cluster[NODE].files[f"{STAGE_DIR}/0123456789ab/0"] = FakeFile("token", 0o600)
    capsys.readouterr()
    assert deploy(inv, cluster, dry_run=True) == 0
    assert f"[{NODE}] remove leftover {STAGE_DIR}/0123456789ab" in capsys.readouterr().out
    assert staged(cluster[NODE])
    assert deploy(inv, cluster) == 0
    assert recap(capsys.readouterr().out)[NODE] == ("changed", "removed 1 leftover upload(s)")
    assert staged(cluster[NODE]) == []
    assert deploy(inv, cluster) == 0 and capsys.readouterr().out.count(NOOP) == 5


@pytest.mark.parametrize("keep", [1, 3])
def test_backups_are_bounded_after_more_deploys_than_kept(inv, cluster, keep):
    """kubernetes.backups: N; N + 2 deploys that each change the apiserver's unit leave
    N versions of it, the newest first, and the registry token's backups private."""
    assert deploy(inv, cluster) == 0
    unit = f"{layout.UNIT_DIR}/{APISERVER}"
    text = inv.path.read_text().replace("\n  registration: manual", f"\n  backups: {keep}\n  registration: manual")
    versions = []
    for i in range(keep + 2):
        versions.append(cluster[MASTER].files[unit].content)
        inv.path.write_text(text.replace("http://10.1.0.2:2379", f"http://10.1.0.{11 + i}:2379"))
        assert deploy(load(inv.path), cluster) == 0
    kept = sorted(p for p in cluster[MASTER].files if p.startswith(f"/var/lib/kubefab/backup{unit}"))
    assert kept == [f"/var/lib/kubefab/backup{unit}.{n}" for n in range(1, keep + 1)]
    assert [cluster[MASTER].files[p].content for p in kept] == versions[::-1][:keep]


def test_wait_lock_waits_in_the_one_wait_then_gives_up_at_the_timeout(inv, capsys):
    """--wait-lock tries every LOCK_RETRY seconds of the hosts' clock (no real sleep), says
    whom it waits for once, then a progress line every 5 s, and fails as the held lock
    does at --timeout."""
    cluster = FakeCluster(inv)
    assert deploy(inv, cluster) == 0
    cluster[MASTER].lock(LOCK_DIR, FOREIGN, "600", STAGE_DIR)
    capsys.readouterr()
    start = cluster.time.monotonic()

    code = deploy(variant(inv, *ONE_FLAG), cluster, wait_lock=True, timeout=20)
    out = capsys.readouterr().out

    assert code == 1, out
    assert out.count("waiting for the lock held by alice@laptop") == 1, out
    progress = [line for line in out.splitlines() if line.startswith("waiting for the cluster lock (")]
    assert len(progress) >= 2 and all("s): held by alice@laptop" in line for line in progress), out
    assert 20 <= cluster.time.monotonic() - start < 30
    rows = recap(out)
    assert all(rows[h][0] == "failed" and "cluster locked by alice@laptop" in rows[h][1] for h in ALL), rows
    assert cluster[MASTER].files[f"{LOCK_DIR}/holder"].content.strip() == FOREIGN

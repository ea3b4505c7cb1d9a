"""kubefab rollback on fake hosts (tests/fakehost.py): the last run's list (transport.INSTALL's
LAST_RUN) read back, its files put back from their newest backups, only the units that
use them restarted, the apiserver first; secrets never shown. And the pure parts as tables."""
import pytest

from kubefab import backups
from kubefab.profiles import Legacy, Modern
from kubefab.ops.deploy import Deploy
from kubefab.inventory import load
from kubefab.layout import APISERVER, BACKUP_DIR, LAST_RUN, ROLLED_BACK, UNIT_DIR
from kubefab.ops.operation import Options
from kubefab.ops.rollback import Rollback

from fakehost import FakeCluster, recap

MASTER, NODE = "azure-prd-01", "azure-prd-02"
UNIT = f"{UNIT_DIR}/{APISERVER}"
DOCKERCFG = "/home/core/.dockercfg"


def run(op, inv, cluster, hosts=None, **opts) -> int:
    targets = [h for h in inv.hosts if hosts is None or h.name in hosts]
    return op(inv, targets, Options(**opts), connect=cluster.connect).run()


ETCD = ("- http://10.1.0.2:2379", "- http://10.1.0.9:2379")  # the apiserver's etcd servers: its unit only
BIND = ("    role: master\n", "    role: master\n    bind_address: 10.1.0.11\n")  # its certificate too


def changed(inv, old, new):
    inv.path.write_text(inv.path.read_text().replace(old, new))
    return load(inv.path)


# -- pure: the list, the plan ---------------------------------------------------------
LIST = ("run\tme pid 1 (run abc)\n"
        "replaced\t/etc/a.conf\t644\troot\troot\t\tkubernetes.apiserver.service\n"
        "replaced\t/etc/k.key\t600\tcore\tcore\tsecret\tkubernetes.kubelet.service kubernetes.proxy.service\n"
        "created\t/etc/new.conf\t\t\t\t\t\n"
        "replaced\t/etc/a.conf\t600\troot\troot\t\t\n")  # installed twice: the first entry is the older


@pytest.mark.parametrize("text, run, paths", [
    (None, None, []),
    ("", None, []),
    ("garbage\n", None, []),
    ("run\tr1\n", "r1", []),
    (LIST, "me pid 1 (run abc)", ["/etc/a.conf", "/etc/k.key", "/etc/new.conf"]),
])
def test_parse(text, run, paths):
    got_run, entries = backups.parse(text)
    assert (got_run, [e.path for e in entries]) == (run, paths)


def test_parse_keeps_mode_owner_secret_and_restarts():
    _, (a, key, new) = backups.parse(LIST)
    assert (a.mode, a.owner, a.secret, a.restarts) == ("644", "root", False, (APISERVER,))
    assert (key.owner, key.secret, key.restarts) == ("core", True, ("kubernetes.kubelet.service",
                                                                     "kubernetes.proxy.service"))
    assert not new.replaced and a.backup == f"{BACKUP_DIR}/etc/a.conf.1"


UNITS = ("kubernetes.download.service", "kubernetes.kubelet.service", "kubernetes.proxy.service", APISERVER)


@pytest.mark.parametrize("looks, restore, restart, steps", [
    ({"/etc/a.conf": "differs", "/etc/k.key": "differs"}, ["/etc/a.conf", "/etc/k.key"],
     ("kubernetes.kubelet.service", "kubernetes.proxy.service", APISERVER),
     ["put back /etc/a.conf (from before r)", "put back /etc/k.key (from before r)",
      "/etc/new.conf: made by that run (no earlier version), stays", "restart kubernetes.kubelet.service",
      "restart kubernetes.proxy.service", f"restart {APISERVER}"]),
    ({"/etc/a.conf": "same", "/etc/k.key": "nobackup"}, [], (),
     ["/etc/a.conf: as before that run already", "/etc/k.key: no backup left, stays",
      "/etc/new.conf: made by that run (no earlier version), stays"]),
])
def test_plan_host(looks, restore, restart, steps):
    _, entries = backups.parse(LIST)
    plan = backups.plan_host("r", entries, looks, UNITS)
    assert ([e.path for e in plan.restore], plan.restart, plan.steps()) == (restore, restart, steps)
    assert plan.changes == bool(restore)


@pytest.mark.parametrize("done_before, says", [
    (False, "nothing to roll back: no run of kubefab replaced files here"),
    (True, "nothing to roll back: the last run's files were put back already; kubefab deploy applies the "
           "inventory again"),
])
def test_nothing_to_roll_back_says_why(done_before, says):
    plan = backups.plan_host(None, [], {}, UNITS, done_before)
    assert not plan.changes and plan.steps() == [says]


# -- on fake hosts ----------------------------------------------------------------------
@pytest.fixture
def flag_changed(inv, cluster):
    """Deployed, then deployed again with the apiserver's etcd servers changed."""
    assert run(Deploy, inv, cluster) == 0
    old = cluster[MASTER].files[UNIT].content
    assert run(Deploy, changed(inv, *ETCD), cluster) == 0
    return old


def test_rollback_after_a_flag_change_restores_it_and_restarts_only_that_unit(inv, cluster, flag_changed, capsys):
    starts = {n: m.starts() for n, m in cluster.machines.items()}
    capsys.readouterr()
    assert run(Rollback, inv, cluster) == 0
    out = capsys.readouterr().out
    master = cluster[MASTER]
    assert master.files[UNIT].content == flag_changed and master.unit(APISERVER).ran == flag_changed
    assert {u: n - starts[MASTER][u] for u, n in master.starts().items() if n != starts[MASTER][u]} == {APISERVER: 1}
    for name, m in cluster.machines.items():
        assert name == MASTER or m.starts() == starts[name], name
    rows = recap(out)
    assert rows[MASTER] == ("changed", f"put back 1 files; restarted {APISERVER}")
    assert rows[NODE] == ("unchanged", "")
    assert "the next kubefab deploy applies it again" in out
    assert LAST_RUN not in master.files and ROLLED_BACK in master.files
    assert not [p for p in master.files if p.startswith("/var/lib/kubefab/owed/")]
    again = run(Rollback, inv, cluster)  # nothing left to put back
    assert again == 0 and "the last run's files were put back already" in capsys.readouterr().out


def test_dry_run_shows_the_diff_and_changes_nothing(inv, cluster, flag_changed, capsys):
    files = dict(cluster[MASTER].files)
    starts = cluster[MASTER].starts()
    capsys.readouterr()
    assert run(Rollback, inv, cluster, dry_run=True) == 0
    out = capsys.readouterr().out.replace(f"[{MASTER}] ", "")
    assert "-    --etcd-servers=http://10.1.0.1:2379,http://10.1.0.9:2379" in out
    assert "+    --etcd-servers=http://10.1.0.1:2379,http://10.1.0.2:2379" in out
    assert f"put back {UNIT} (from before " in out
    assert recap(out)[MASTER] == ("pending", f"put back 1 files; restart {APISERVER}")
    assert cluster[MASTER].files == files and cluster[MASTER].starts() == starts


def test_a_rotated_token_goes_back_unseen(inv, cluster, monkeypatch, capsys):
    assert run(Deploy, inv, cluster) == 0
    first = cluster[NODE].files[DOCKERCFG].content
    monkeypatch.setenv("KUBEFAB_REGISTRY_TOKEN", "TOKEN-second-fedcba9876543210")
    assert run(Deploy, load(inv.path), cluster) == 0
    capsys.readouterr()
    assert run(Rollback, inv, cluster, dry_run=True) == 0
    dry = capsys.readouterr().out
    assert f"[{NODE}] secret put back: {DOCKERCFG} (content not shown)" in dry
    assert run(Rollback, inv, cluster) == 0
    out = dry + capsys.readouterr().out
    assert "TOKEN-" not in out
    assert cluster[NODE].files[DOCKERCFG].content == first
    assert (cluster[NODE].files[DOCKERCFG].mode, cluster[NODE].files[DOCKERCFG].owner) == (0o600, "core")


def test_only_the_hosts_asked(inv, cluster, flag_changed):
    assert run(Rollback, inv, cluster, hosts=[NODE]) == 0
    assert cluster[MASTER].files[UNIT].content != flag_changed


def test_a_host_that_cannot_write_fails_alone(inv, cluster, capsys):
    assert run(Deploy, inv, cluster) == 0
    monkey = changed(inv, "  environment: production\n", "  environment: production\n  rack: r1\n")
    assert run(Deploy, monkey, cluster) == 0  # every node's files change
    cluster[NODE].faults.add("read-only")
    capsys.readouterr()
    assert run(Rollback, inv, cluster) == 1
    rows = recap(capsys.readouterr().out)
    assert rows[NODE][0] == "failed" and "read-only file system" in rows[NODE][1]
    assert rows["azure-prd-03"][0] == "changed"
    assert LAST_RUN in cluster[NODE].files  # a re-run tries again


def test_hosts_the_last_run_did_not_touch_stay_as_they_are(inv, cluster, capsys):
    """A node's list from an earlier run is not the last run's: rolling it back too would
    undo a change nobody asked to undo (and restart its kubelet)."""
    assert run(Deploy, inv, cluster) == 0
    labelled = changed(inv, "  environment: production\n", "  environment: production\n  rack: r1\n")
    assert run(Deploy, labelled, cluster) == 0  # every node's files change
    old = cluster[MASTER].files[UNIT].content
    assert run(Deploy, changed(labelled, *ETCD), cluster) == 0  # the master's only
    node_files = {n: dict(m.files) for n, m in cluster.machines.items() if n != MASTER}
    starts = {n: m.starts() for n, m in cluster.machines.items()}
    capsys.readouterr()
    assert run(Rollback, inv, cluster) == 0
    rows = recap(capsys.readouterr().out)
    assert cluster[MASTER].files[UNIT].content == old and rows[MASTER][0] == "changed"
    for name, files in node_files.items():
        assert rows[name] == ("unchanged", ""), (name, rows[name])
        assert cluster[name].starts() == starts[name]
        assert {p: f.content for p, f in cluster[name].files.items() if not p.startswith("/var/lib/kubefab/")} == \
               {p: f.content for p, f in files.items() if not p.startswith("/var/lib/kubefab/")}, name


# -- a run that changed the release: binaries have no backups, so rollback refuses ------
def at_release(inv, version, name):
    path = inv.path.parent / name
    path.write_text(inv.path.read_text().replace("v1.0.1", version))
    return load(path)


def upgraded(inv, cluster, old, new):
    """Deployed at `old`, then upgraded to `new` (kubefab upgrade's way)."""
    from kubefab.ops.upgrade import Upgrade
    before = at_release(inv, old, "hosts-old.yaml")
    assert run(Deploy, before, cluster) == 0
    after = at_release(inv, new, "hosts-new.yaml")
    assert Upgrade(after, list(after.hosts), Options(timeout=3), "1", 30, connect=cluster.connect).run() == 0
    return after


@pytest.mark.parametrize("old, new, says", [
    ("v1.18.1", "v1.19.2", "kubefab upgrade cannot go back either: v1.19.2 -> v1.18.1 downgrades a minor"),
    ("v1.19.1", "v1.19.2", "to go back, set kubernetes.version to v1.19.1 and run kubefab upgrade"),
])
def test_rollback_after_an_upgrade_is_refused_and_changes_nothing(inv, cluster, capsys, old, new, says):
    after = upgraded(inv, cluster, old, new)
    files = {n: {p: f.content for p, f in m.files.items()} for n, m in cluster.machines.items()}
    starts = {n: m.starts() for n, m in cluster.machines.items()}
    capsys.readouterr()
    assert run(Rollback, after, cluster) == 1
    out = capsys.readouterr().out
    refusal = [line for line in out.splitlines() if line.startswith("refused: ")]
    assert len(refusal) == 1 and f"the last run changed the release on {MASTER} ({old} -> {new})" in refusal[0]
    assert says in refusal[0], refusal[0]
    assert "put back" not in out.replace("rollback puts back", "")
    assert {n: {p: f.content for p, f in m.files.items()} for n, m in cluster.machines.items()} == files
    assert {n: m.starts() for n, m in cluster.machines.items()} == starts
    assert run(Rollback, after, cluster, dry_run=True) == 1  # the dry run says the same


def test_the_refusal_names_a_patch_downgrade_that_upgrade_then_does(inv, cluster):
    upgraded(inv, cluster, "v1.19.1", "v1.19.2")
    back = at_release(inv, "v1.19.1", "hosts-back.yaml")
    from kubefab.ops.upgrade import Upgrade
    assert Upgrade(back, list(back.hosts), Options(timeout=3), "1", 30, connect=cluster.connect).run() == 0


def test_a_flag_change_after_an_upgrade_rolls_back(inv, cluster):
    after = upgraded(inv, cluster, "v1.18.1", "v1.19.2")
    old = cluster[MASTER].files[UNIT].content
    assert run(Deploy, changed(after, *ETCD), cluster) == 0
    assert run(Rollback, after, cluster) == 0
    assert cluster[MASTER].files[UNIT].content == old


@pytest.mark.parametrize("profile, text, stamp", [
    (Legacy, "A=1\nKUBE_RELEASE_STAMP='v1.18.1 http://x/k.tgz sha256=ab'\nB=2\n", "v1.18.1 http://x/k.tgz sha256=ab"),
    (Modern, "# c\nstamp\tv1.37.1 etcd=3.7.1 arch=amd64\nstate\t/opt\n", "v1.37.1 etcd=3.7.1 arch=amd64"),
    (Modern, None, None),
    (Legacy, "stamp\tv1.37.1\n", None),
])
def test_stamp_in(profile, text, stamp):
    """Each profile reads the release stamp from its own file (rollback's release check)."""
    assert profile.stamp_in(text) == stamp


def test_release_refusal_for_a_modern_minor_and_a_same_version_change():
    from kubefab.ops.rollback import release_refusal
    minor = release_refusal("m", "v1.36.4 etcd=3.6.14", "v1.37.1 etcd=3.7.1")
    assert "(v1.36.4 -> v1.37.1)" in minor and "v1.37.1 -> v1.36.4 downgrades a minor" in minor
    assert "\n" not in minor
    same = release_refusal("m", "v1.37.1 mirror=a", "v1.37.1 mirror=b")
    assert "set the release settings in the inventory as they were" in same


def test_rollback_puts_back_the_local_certificate_the_hosts_get_back(inv, cluster, capsys):
    """A deploy that re-issued the apiserver's certificate (the master's bind address is in
    it), rolled back: the master has the old one again, and so has pki/; so with the
    inventory as it was, status sees nothing to do and a deploy changes nothing.
    Regression: pki/ kept the new certificate and status reported the apiserver's as
    differing (the next deploy re-issued yet another one)."""
    assert run(Deploy, inv, cluster) == 0
    folder = inv.path.parent / "pki"
    before = (folder / "apiserver.crt").read_text(), (folder / "apiserver.key").read_text()
    original = inv.path.read_text()
    assert run(Deploy, changed(inv, *BIND), cluster) == 0
    assert (folder / "apiserver.crt").read_text() != before[0]
    inv.path.write_text(original)  # the operator puts hosts.yaml back, and the hosts with it
    inv = load(inv.path)
    capsys.readouterr()
    assert run(Rollback, inv, cluster, dry_run=True) == 0
    assert f"pki: would put back {folder / 'apiserver'}.crt and .key as kept" in capsys.readouterr().out
    assert (folder / "apiserver.crt").read_text() != before[0]  # a dry run writes nothing
    assert run(Rollback, inv, cluster) == 0
    assert "pki: put back apiserver.crt and .key" in capsys.readouterr().out
    assert ((folder / "apiserver.crt").read_text(), (folder / "apiserver.key").read_text()) == before
    assert run(Deploy, inv, cluster) == 0
    assert capsys.readouterr().out.count("no changes: files, units and release already as wanted") == 5


def test_a_second_rollback_leaves_an_older_run_on_other_hosts_alone(inv, cluster, capsys):
    """Regression: once the master's last run was put back, a second rollback took the
    nodes' older run (a release change) for the last one and refused."""
    assert run(Deploy, inv, cluster) == 0
    release = ("releases/download/v1.0.1/kubernetes.tar.gz", "releases/download/v1.0.1/kubernetes-2.tar.gz")
    assert run(Deploy, changed(inv, *release), cluster) == 0  # every host: another release
    assert run(Deploy, changed(inv, *ETCD), cluster) == 0  # then the master alone
    assert run(Rollback, inv, cluster) == 0
    node_files = dict(cluster[NODE].files)
    capsys.readouterr()
    assert run(Rollback, inv, cluster) == 0
    out = capsys.readouterr().out
    assert "the last run's files were put back already" in out and "refused" not in out
    assert cluster[NODE].files == node_files

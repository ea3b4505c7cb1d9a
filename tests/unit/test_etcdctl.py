"""kubefab.profiles.modern.etcd, pure: which inventories a snapshot covers, etcdctl's argv as the
apiserver's etcd client, the tool chosen by etcd's version, and what it prints. And
transport's FETCH and PUT scripts run by the local sh."""
import base64
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kubefab.profiles.modern import etcd as ctl, units as modern_units
from kubefab.profiles.modern.paths import ETCD_CA, ETCD_CLIENT_CERT, ETCD_CLIENT_KEY
from kubefab.remote.hostfiles import FETCH, PUT

try:
    from modern_fixtures import modern_inventory
    from test_render import seed_inventory
except ImportError:
    from tests.unit.modern_fixtures import modern_inventory
    from tests.unit.test_render import seed_inventory

MANAGED = "modern-1.36"  # kubefab's etcd on the master


def test_only_the_etcd_kubefab_runs_is_covered():
    assert modern_inventory(MANAGED).profile.etcd_refusal("etcd.snapshot") is None
    legacy = seed_inventory().profile.etcd_refusal("etcd.snapshot")
    assert legacy.startswith("etcd.snapshot: the v1.0 profile's") and "v2 store" in legacy
    assert "etcdctl backup" in legacy and "\n" not in legacy
    external = modern_inventory("modern-1.37").profile.etcd_refusal("etcd.restore")
    assert "kubefab does not run this cluster's etcd (kubernetes.etcd_servers: http://10.1.0.1:2379" in external


def test_etcdctl_is_the_masters_own_as_the_apiservers_etcd_client():
    inv = modern_inventory(MANAGED)
    assert ctl.client(inv) == ["/usr/local/bin/etcdctl", f"--endpoints={modern_units.etcd_url(inv)}",
                               f"--cacert={ETCD_CA}", f"--cert={ETCD_CLIENT_CERT}", f"--key={ETCD_CLIENT_KEY}"]
    api = modern_units.apiserver(inv).argv
    assert f"--etcd-servers={modern_units.etcd_url(inv)}" in api and f"--etcd-keyfile={ETCD_CLIENT_KEY}" in api
    assert ctl.save_argv(inv, "/x/s.db")[-3:] == ["snapshot", "save", "/x/s.db"]


@pytest.mark.parametrize("version,tool", [((3, 4, 23), "etcdctl"), ((3, 5, 0), "etcdutl"), ((3, 6, 14), "etcdutl"),
                                          ((3, 7, 1), "etcdutl")])
def test_status_and_restore_run_with_etcdutl_from_etcd_3_5(version, tool):
    inv = modern_inventory(MANAGED)
    assert ctl.offline_tool(inv, version) == f"/usr/local/bin/{tool}"


def test_restore_makes_the_member_the_unit_runs():
    inv = modern_inventory(MANAGED)
    unit = modern_units.etcd(inv).argv
    argv = ctl.restore_argv(inv, "/usr/local/bin/etcdctl", "/s.db", "/var/lib/etcd.new")
    assert argv[:4] == ["/usr/local/bin/etcdctl", "snapshot", "restore", "/s.db"]
    for flag in ("--name=", "--initial-cluster=", "--initial-advertise-peer-urls=", "--initial-cluster-token="):
        assert next(a for a in argv if a.startswith(flag)) == next(a for a in unit if a.startswith(flag))
    assert "--data-dir=/var/lib/etcd.new" in argv


def test_what_etcdctl_prints():
    assert ctl.parse_version("etcdctl version: 3.4.23\nAPI version: 3.4\n") == (3, 4, 23)
    assert ctl.parse_version("sudo: command not found") is None
    s = ctl.parse_status('{"hash":6814669,"revision":2,"totalKey":5,"totalSize":20480}\n')
    assert s == ctl.Status(6814669, 2, 5, 20480)
    assert s.says() == "revision 2, 5 keys, db 20480 bytes, hash 0067fbcd"
    with pytest.raises(ValueError, match="not a snapshot status"):
        ctl.parse_status("Error: invalid database")


def test_fetch_and_put_carry_bytes_and_their_sum(tmp_path):
    data = bytes(range(256)) * 40
    (tmp_path / "snap.db").write_bytes(data)
    out = subprocess.run([*FETCH.argv(), str(tmp_path / "snap.db")], capture_output=True, text=True,
                         check=True).stdout
    digest, _, body = out.partition("\n")
    assert digest == hashlib.sha256(data).hexdigest() and base64.b64decode(body) == data

    dst = tmp_path / "up/restore.db"
    ok = subprocess.run([*PUT.argv(), str(dst), hashlib.sha256(data).hexdigest()], input=data,
                        capture_output=True)
    assert ok.returncode == 0 and dst.read_bytes() == data
    assert dst.stat().st_mode & 0o777 == 0o600 and dst.parent.stat().st_mode & 0o777 == 0o700
    bad = subprocess.run([*PUT.argv(), str(tmp_path / "up/bad.db"), "0" * 64], input=data,
                         capture_output=True, text=False)
    assert bad.returncode == 1 and b"sha256" in bad.stderr
    assert sorted(p.name for p in dst.parent.iterdir()) == ["restore.db"]  # no part file left


# -- the tasks' refusals: one line, exit 2, before any host is asked ----------------------

ROOT = Path(__file__).resolve().parents[2]


def fab_cli(*args, inventory):
    env = {**os.environ, "KUBEFAB_INVENTORY": str(inventory), "KUBEFAB_REGISTRY_TOKEN": "x"}
    return subprocess.run([str(Path(sys.executable).parent / "fab"), *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


@pytest.fixture
def modern_yaml(tmp_path):
    """hosts.yaml at v1.37 with kubefab's etcd (no etcd_servers); hosts nobody can reach."""
    text = (ROOT / "hosts.yaml").read_text().replace("version: v1.0.1", "version: v1.37.1")
    lines, skip = [], False
    for line in text.splitlines():
        if line.startswith("  etcd_servers:"):
            skip = True
            continue
        if skip and line.startswith("    - "):
            continue
        skip = False
        lines.append(line)
    path = tmp_path / "hosts.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("args,says", [
    (["etcd.snapshot"], "the v1.0 profile's apiserver keeps its objects in etcd's v2 store"),
    (["etcd.restore", "x.db", "--yes"], "the v1.0 profile's apiserver keeps its objects in etcd's v2 store"),
])
def test_the_legacy_profile_is_refused_in_one_line(args, says):
    r = fab_cli(*args, inventory=ROOT / "hosts.yaml")
    assert r.returncode == 2 and says in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert "Traceback" not in r.stderr


def test_restore_needs_a_readable_file_and_yes(modern_yaml, tmp_path):
    missing = fab_cli("etcd.restore", str(tmp_path / "none.db"), "--yes", inventory=modern_yaml)
    assert missing.returncode == 2 and missing.stderr.strip() == f"error: {tmp_path / 'none.db'}: No such file or directory"
    snap = tmp_path / "s.db"
    snap.write_bytes(b"x")
    no_yes = fab_cli("etcd.restore", str(snap), inventory=modern_yaml)
    assert no_yes.returncode == 2 and "add --yes (or --dry-run to see each step)" in no_yes.stderr
    assert len(no_yes.stderr.strip().splitlines()) == 1


def test_snapshot_never_overwrites_a_file(modern_yaml, tmp_path):
    there = tmp_path / "there.db"
    there.write_bytes(b"keep me")
    r = fab_cli("etcd.snapshot", "--out", str(there), inventory=modern_yaml)
    assert r.returncode == 2 and "exists; name a new file" in r.stderr and there.read_bytes() == b"keep me"


# what real etcd 3.4.23 printed for a one-member cluster and a learner added to it
MEMBERS = ('{"header":{"cluster_id":324952591200643719,"member_id":3319814642761637952,"raft_term":2},"members":['
           '{"ID":3319814642761637952,"name":"m1","peerURLs":["https://10.1.0.1:2380"],'
           '"clientURLs":["https://10.1.0.1:2379"]},{"ID":17981774603777329652,"peerURLs":["https://10.1.0.2:2380"],'
           '"isLearner":true}]}')
ADDED = ('Member f98c18bb0949c9f4 added to cluster  48276a8f75b6a87\n\nETCD_NAME="m2"\n'
         'ETCD_INITIAL_CLUSTER="m1=https://10.1.0.1:2380,m2=https://10.1.0.2:2380"\n'
         'ETCD_INITIAL_ADVERTISE_PEER_URLS="https://10.1.0.2:2380"\nETCD_INITIAL_CLUSTER_STATE="existing"\n')
STATUS = ('[{"Endpoint":"https://10.1.0.1:2379","Status":{"header":{"member_id":3319814642761637952},'
          '"version":"3.4.23","leader":3319814642761637952,"raftTerm":2}}]')


def test_members_learners_and_the_leader_are_read_as_etcd_prints_them():
    m1, m2 = ctl.parse_members(MEMBERS)
    assert (m1.id, m1.name, m1.started, m1.learner) == ("2e1259d415f2a040", "m1", True, False)
    assert (m2.id, m2.started, m2.learner, m2.peer_urls) == ("f98c18bb0949c9f4", False, True, ("https://10.1.0.2:2380",))
    assert ctl.joining_env(ADDED) == {"ETCD_NAME": "m2", "ETCD_INITIAL_CLUSTER": "m1=https://10.1.0.1:2380,m2=https://10.1.0.2:2380",
                                      "ETCD_INITIAL_ADVERTISE_PEER_URLS": "https://10.1.0.2:2380",
                                      "ETCD_INITIAL_CLUSTER_STATE": "existing"}
    assert ctl.leader(STATUS) == "2e1259d415f2a040" and ctl.leader("[]") is None
    with pytest.raises(ValueError, match="not a member list"):
        ctl.parse_members("Error: context deadline exceeded")
    inv = modern_inventory(MANAGED)
    assert ctl.add_learner_argv(inv, "m2", "https://10.1.0.2:2380")[-5:] == [
        "member", "add", "m2", "--learner", "--peer-urls=https://10.1.0.2:2380"]

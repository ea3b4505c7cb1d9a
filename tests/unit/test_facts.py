import base64
import hashlib
import subprocess

import pytest

from kubefab import facts
from kubefab.ops import host


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_parse_files_units_stamp_lock_and_api():
    out = "\n".join([
        "sum\t/etc/kubernetes.env\t" + "a" * 64,
        "stat /etc/kubernetes.env 644 root root",
        "unit\tActiveState=active",
        "unit\tId=kubernetes.apiserver.service",
        "unit\tNeedDaemonReload=no",
        "unit\tUnitFileState=enabled",
        "unit\t",
        "unit\tId=kubernetes.master.target",
        "unit\tUnitFileState=",
        "unit\tActiveState=inactive",
        "unit\tNeedDaemonReload=yes",
        "stamp\t" + b64("v1.0.1 url sha\n"),
        "lock\t" + b64("ops@box pid 12\n"),
        "healthz\t" + b64("ok"),
        "nodes\t" + b64('{"items": []}'),
    ])
    got = facts.parse(out, ["/etc/kubernetes.env", "/opt/bin/wupiao"])
    assert got.files == {"/etc/kubernetes.env": facts.FileFact("a" * 64, 0o644, "root", "root"),
                         "/opt/bin/wupiao": None}
    assert got.units == {
        "kubernetes.apiserver.service": facts.UnitFact("enabled", "active", False),
        "kubernetes.master.target": facts.UnitFact("", "inactive", True),
    }
    assert (got.stamp, got.holder, got.healthz, got.nodes_json) == \
        ("v1.0.1 url sha", "ops@box pid 12", "ok", '{"items": []}')


def test_parse_nothing_installed():
    assert facts.parse("", ["/x"]) == facts.HostFacts(files={"/x": None})


def run_probe(*args):
    return subprocess.run([*host.PROBE.argv(), *args], capture_output=True, text=True,
                          check=True).stdout


def test_probe_runs_under_posix_sh_on_real_files(tmp_path):
    """The probe is plain sh: run it here on real files (no units: no systemd here)."""
    present, absent = tmp_path / "present", tmp_path / "absent"
    present.write_text("hello\n")
    present.chmod(0o640)
    (tmp_path / "stamp").write_text("v1.0.1\n")
    paths = [str(present), str(absent)]
    got = facts.parse(run_probe(*facts.probe_args(str(tmp_path / "stamp"), str(tmp_path / "lock"),
                                                  paths, [])), paths)
    assert got.files[str(present)].sha256 == hashlib.sha256(b"hello\n").hexdigest()
    assert got.files[str(present)].mode == 0o640
    assert got.files[str(absent)] is None
    assert got.stamp == "v1.0.1" and got.holder is None and got.healthz is None


def test_probe_asks_the_api_only_on_the_master(tmp_path):
    """On the master the probe also runs the health checks and lists the nodes (one
    round trip); each argv arrives word for word, whatever its characters."""
    kubectl, check = tmp_path / "kube ctl", tmp_path / "check"
    kubectl.write_text('#!/bin/sh\necho \'{"items": [], "args": "\'"$*"\'"}\'\n')
    check.write_text('#!/bin/sh\nprintf "%s|" "$@"\n')
    for f in (kubectl, check):
        f.chmod(0o755)
    args = facts.probe_args("/nonexistent", "/nonexistent", [], [], healthz=[str(check), "a b", "*", "$x"],
                            loopback=[str(check), "lo"], kubectl=[str(kubectl), "-s", "http://127.0.0.1:9"])
    got = facts.parse(run_probe(*args))
    assert (got.healthz, got.loopback) == ("a b|*|$x|", "lo|")
    assert got.nodes_json == '{"items": [], "args": "-s http://127.0.0.1:9 get nodes -o json"}'
    node = facts.parse(run_probe(*facts.probe_args("/n", "/n", [], [])))
    assert (node.healthz, node.loopback, node.nodes_json) == (None, None, None)


def test_probe_says_why_a_check_failed():
    args = facts.probe_args("/n", "/n", [], [], healthz=["curl", "-sS", "--max-time", "2", "http://127.0.0.1:9/healthz"])
    assert facts.parse(run_probe(*args)).healthz.startswith("curl: (7)")  # nothing listens there


@pytest.mark.parametrize("bad", [["a\nb"], [""]])
def test_probe_refuses_an_argument_it_could_not_pass_whole(bad):
    with pytest.raises(ValueError, match="would not come back whole"):
        facts.probe_args("/n", "/n", [], [], healthz=bad)


def test_probe_lists_owed_restarts_and_staged_leftovers(tmp_path):
    """OWED_DIR's marks (name and content; never a half-written dot file) and STAGE_DIR's
    entries come back in the same round trip; absent folders say nothing."""
    owed, stage = tmp_path / "owed", tmp_path / "stage"
    owed.mkdir()
    stage.mkdir()
    (owed / "kubernetes.kubelet.service").write_text("run 1\n")
    (owed / ".kubernetes.proxy.service.new").write_text("half")
    (stage / "up-1").mkdir()
    (stage / ".hidden").write_text("")
    args = facts.probe_args("/n", "/n", [], [], owed_dir=str(owed), stage_dir=str(stage))
    got = facts.parse(run_probe(*args))
    assert got.owed == {"kubernetes.kubelet.service": "run 1"}
    assert got.leftovers == (".hidden", "up-1")
    none = facts.parse(run_probe(*facts.probe_args("/n", "/n", [], [], owed_dir="/nonexistent",
                                                   stage_dir="/nonexistent")))
    assert (none.owed, none.leftovers) == ({}, ())

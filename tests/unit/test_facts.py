import base64
import subprocess

from kubefab import facts


def test_parse_files_units_stamp_and_lock():
    out = "\n".join([
        "file\t/etc/kubernetes.env\t" + "a" * 64 + "\t644 root root",
        "file\t/opt/bin/wupiao\t-",
        "unit\tActiveState=active",
        "unit\tId=kubernetes.apiserver.service",
        "unit\tNeedDaemonReload=no",
        "unit\tUnitFileState=enabled",
        "unit\t",
        "unit\tId=kubernetes.master.target",
        "unit\tUnitFileState=",
        "unit\tActiveState=inactive",
        "unit\tNeedDaemonReload=yes",
        "stamp\t" + base64.b64encode(b"v1.0.1 url sha\n").decode(),
        "lock\t" + base64.b64encode(b"ops@box pid-run 12\n").decode(),
    ])
    got = facts.parse(out)
    assert got.files == {"/etc/kubernetes.env": facts.FileFact("a" * 64, 0o644, "root", "root"),
                         "/opt/bin/wupiao": None}
    assert got.units == {
        "kubernetes.apiserver.service": facts.UnitFact("enabled", "active", False),
        "kubernetes.master.target": facts.UnitFact("", "inactive", True),
    }
    assert got.stamp == "v1.0.1 url sha"
    assert got.holder == "ops@box pid-run 12"


def test_parse_nothing_installed():
    assert facts.parse("file\t/x\t-\n") == facts.HostFacts(files={"/x": None})


def test_probe_script_runs_under_posix_sh(tmp_path):
    """The probe is plain sh: run it here on real files (units left out: no systemd)."""
    present = tmp_path / "present"
    present.write_text("hello\n")
    present.chmod(0o640)
    (tmp_path / "stamp").write_text("v1.0.1\n")
    args = facts.probe_args(str(tmp_path / "stamp"), str(tmp_path / "lock"),
                            [str(present), str(tmp_path / "absent")], [])
    out = subprocess.run(["sh", "-c", facts.PROBE, "sh", *args], capture_output=True, text=True, check=True)
    got = facts.parse(out.stdout)
    assert got.files[str(present)].sha256 == \
        "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
    assert got.files[str(present)].mode == 0o640
    assert got.files[str(tmp_path / "absent")] is None
    assert got.stamp == "v1.0.1" and got.holder is None

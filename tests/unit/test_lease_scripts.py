"""kubefab.remote.lease's scripts run by the local sh (with flock and date, as on a host), on
a temporary folder: the fake host reimplements them, this checks the real text."""
import subprocess

from kubefab.remote import lease


def sh(verb, *args, tmp_path):
    script = lease.LEASE_SCRIPT.text.replace("/tmp/.kubefab-", f"{tmp_path}/tmp/.kubefab-")  # never the machine's /tmp
    r = subprocess.run(["sh", "-c", script, "kubefab-lease", verb, *args], capture_output=True, text=True, timeout=30)
    return r.returncode, r.stdout, r.stderr


def test_take_renew_release_and_unlock(tmp_path):
    lock, stage = str(tmp_path / "state/lock"), str(tmp_path / "state/stage")
    (tmp_path / "state/stage/dead-run").mkdir(parents=True)
    (tmp_path / "tmp/.kubefab-0123").mkdir(parents=True)
    assert sh("take", lock, "run A", "60", stage, tmp_path=tmp_path) == (0, "", "")
    assert (tmp_path / "state/lock/holder").read_text() == "run A\n"
    assert not (tmp_path / "state/stage").exists() and not (tmp_path / "tmp/.kubefab-0123").exists()

    code, out, _ = sh("take", lock, "run B", "60", stage, tmp_path=tmp_path)
    held = lease.parse(out)
    assert code == 3 and held.holder == "run A" and 58 <= held.left <= 60  # a second may tick
    assert sh("renew", lock, "run A", "60", tmp_path=tmp_path)[0] == 0
    code, out, _ = sh("renew", lock, "run B", "60", tmp_path=tmp_path)
    assert code == 3 and lease.parse(out).holder == "run A"

    code, out, _ = sh("release", lock, "", "", tmp_path=tmp_path)  # fab unlock: a live lease
    assert code == 3 and out.startswith("held\t") and out.endswith("\trun A\n")
    assert sh("release", lock, "run B", "", tmp_path=tmp_path)[0] == 0  # not B's: kept
    assert (tmp_path / "state/lock/holder").exists()
    assert sh("release", lock, "run A", "", tmp_path=tmp_path)[0] == 0
    assert not (tmp_path / "state/lock").exists()
    assert sh("release", lock, "", "", tmp_path=tmp_path) == (0, "none\t\t\n", "")


def test_an_expired_lease_is_taken_over_and_removed_without_force(tmp_path):
    lock, stage = str(tmp_path / "lock"), str(tmp_path / "stage")
    assert sh("take", lock, "run A", "-30", stage, tmp_path=tmp_path)[0] == 0  # expired 30s ago
    code, out, _ = sh("take", lock, "run B", "60", stage, tmp_path=tmp_path)
    assert code == 0 and lease.parse(out).holder == "run A" and -32 <= lease.parse(out).left <= -30
    code, out, _ = sh("renew", lock, "run A", "60", tmp_path=tmp_path)
    assert code == 3 and lease.parse(out).holder == "run B"  # A learns it lost the lock
    (tmp_path / "lock/expires").write_text("0\n")
    code, out, _ = sh("release", lock, "", "", tmp_path=tmp_path)
    assert code == 0 and out.startswith("removed\t-") and out.endswith("\trun B\n")


def test_a_lock_without_a_lease_is_refused_and_forced(tmp_path):
    (tmp_path / "lock").mkdir()
    (tmp_path / "lock/holder").write_text("old kubefab\n")
    lock = str(tmp_path / "lock")
    code, out, _ = sh("take", lock, "run B", "60", str(tmp_path / "stage"), tmp_path=tmp_path)
    assert code == 3 and lease.parse(out) == lease.Held("old kubefab", None)
    assert sh("release", lock, "", "", tmp_path=tmp_path)[1] == "held\t\told kubefab\n"
    assert sh("release", lock, "", "force", tmp_path=tmp_path)[1] == "removed\t\told kubefab\n"

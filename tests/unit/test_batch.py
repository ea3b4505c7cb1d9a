"""kubefab.remote.script.together: several host scripts in one round trip, by the real sh
on this machine (a connection that runs argv here): each part's answer read apart, and
a failing part named, with how many were done before it."""
import subprocess

import pytest

from kubefab.remote.script import BatchError, HostScript, together
from kubefab.remote.transport import Result

LIST = HostScript("list", what="listing", read=lambda r: r.stdout)
OWE = HostScript("owe", what="recording the restarts owed")
RELOAD = HostScript("reload", what="systemctl enable/daemon-reload")


class Here:
    """A Connection that runs argv on this machine (no sudo: the test owns its files)."""
    host = None

    def __init__(self):
        self.runs = 0

    def run(self, argv, *, sudo=False, stdin=None, check=True, timeout=300, cancel=None):
        self.runs += 1
        r = subprocess.run(argv, input=stdin, capture_output=True, timeout=timeout)
        return Result(" ".join(argv[:3]), r.returncode, r.stdout.decode(), r.stderr.decode())


def test_each_part_answers_apart_in_one_round_trip(tmp_path):
    (tmp_path / "a").write_text("")
    cxn = Here()
    answers = together(cxn, [LIST.part(str(tmp_path / "a"), str(tmp_path / "none")),
                             OWE.part(str(tmp_path / "owed"), "run 1", "x.service"),
                             LIST.part(str(tmp_path / "owed"))])
    assert cxn.runs == 1
    assert answers[0] == f"file\t{tmp_path}/a\n"
    assert answers[2] == f"folder\t{tmp_path}/owed\t1\n"
    assert (tmp_path / "owed" / "x.service").read_text() == "run 1\n"


def test_a_failing_part_is_named_and_ends_the_batch(tmp_path):
    cxn = Here()
    with pytest.raises(BatchError) as failed:
        together(cxn, [OWE.part(str(tmp_path / "owed"), "run 1", "x.service"),
                       RELOAD.part("", "x.service", what="enabling x.service"),  # no systemctl here, or no unit
                       OWE.part(str(tmp_path / "owed"), "run 1", "y.service")])
    assert failed.value.done == 1
    assert str(failed.value).startswith("enabling x.service failed: ")
    assert not (tmp_path / "owed" / "y.service").exists()


def test_a_batch_that_never_ran_names_its_first_part():
    class Refused(Here):
        def run(self, argv, **kwargs):
            return Result("sudo", 1, "", "sudo: a password is required\n", "core")
    with pytest.raises(BatchError) as failed:
        together(Refused(), [OWE.part("/nowhere", "run 1", "x.service")])
    assert failed.value.done == 0
    assert str(failed.value).startswith("recording the restarts owed failed: sudo asks for a password for core; "
                                        "name it in the inventory (ssh.sudo_password_env")

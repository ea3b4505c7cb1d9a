"""Every host script (kubefab/remote/scripts/*.sh) against a table of cases, run by the real
sh on a temporary root and by the fake host's Python twin: both must give the case's exit
code, stdout and state after (tests/unit/script_cases.py says what a case holds). So the
fake hosts the orchestration tests use do what the real scripts do.

Not in the table: look.sh (test_look.py, with commands of its own to run), and what a
table cannot say: a connection dropped in the middle of an upload."""
import os
import signal
import subprocess
import time
from importlib.resources import files
from pathlib import Path

import pytest

import cases_batch
import cases_files
import cases_install
import cases_lease
import cases_preflight
import cases_system
import cases_units
from fakehost import FakeConnection
from kubefab.inventory import load
from kubefab.remote.hostfiles import INSTALL, archive
from script_worlds import FakeHost, RealHost, USER, GROUP, expected

ROOT = Path(__file__).resolve().parents[2]
CASES = [*cases_batch.CASES, *cases_files.CASES, *cases_install.CASES, *cases_lease.CASES, *cases_system.CASES,
         *cases_units.CASES, *cases_preflight.CASES]
NOT_HERE = {"look"}  # its own file: test_look.py


def scripts() -> set[str]:
    return {p.name[:-3] for p in files("kubefab.remote").joinpath("scripts").iterdir() if p.name.endswith(".sh")}


def params(world: str) -> list:
    """The cases for a world (the fake's: not those it cannot hold, a real_only case says
    why); a case showing a bug is expected to fail (strict: its fix is seen)."""
    return [pytest.param(case, id=case.id, marks=[pytest.mark.xfail(reason=case.bug, strict=True)] if case.bug else [])
            for case in CASES if world == "real" or not case.real_only]


@pytest.fixture(scope="module")
def inv(tmp_path_factory):
    copy = tmp_path_factory.mktemp("cluster") / "hosts.yaml"
    copy.write_text((ROOT / "hosts.yaml").read_text())
    with pytest.MonkeyPatch.context() as env:
        env.setenv("KUBEFAB_REGISTRY_TOKEN", "TOKEN-scripts-0123456789")
        return load(copy)


def check(case, seen) -> None:
    assert (seen.exit, seen.out) == (case.exit, case.out), seen.err
    assert case.err in seen.err
    assert seen.state == expected(case.after or case.before)


@pytest.mark.parametrize("case", params("real"))
def test_the_real_script(case, tmp_path):
    host = RealHost(tmp_path)
    check(case, host.run(case))
    assert {folder: host.mode(folder) for folder in case.modes} == case.modes


@pytest.mark.parametrize("case", params("fake"))
def test_the_fake_hosts_twin(case, inv):
    check(case, FakeHost(inv).run(case))


def test_every_script_has_cases_and_a_twin(inv):
    """A new script comes with its cases, and the fake host with its twin."""
    assert len({c.id for c in CASES}) == len(CASES), "two cases share a name"
    assert scripts() - NOT_HERE - {c.script for c in CASES} == set()
    assert {c.script for c in CASES} <= scripts()
    twins = {*FakeHost(inv).machine.scripts, *FakeConnection.SCRIPTS}  # the waits' are the connection's
    assert scripts() <= twins


def test_the_scripts_are_posix_sh():
    """dash -n: no bashism that a host's /bin/sh would refuse."""
    for name in sorted(scripts()):
        text = files("kubefab.remote").joinpath("scripts", f"{name}.sh").read_text()
        r = subprocess.run(["dash", "-n", "-c", text], capture_output=True, text=True)
        assert r.returncode == 0, f"{name}.sh: {r.stderr}"


@pytest.mark.parametrize("how", ["stdin ends", "SIGHUP"])
def test_a_connection_dropped_mid_upload_leaves_nothing_behind(tmp_path, how):
    """A killed kubefab's connection drops: sshd closes the command's stdin (tar reads a
    truncated stream), or its process group gets SIGHUP. The trap removes the staging
    folder tar was writing in beside the target; the target is never made."""
    target = tmp_path / "x.conf"
    temp = tmp_path / ".kubefab-new" / "x.conf"
    args = [str(tmp_path / "backup"), "3", str(tmp_path / "last-run"), "run1", "", "",
            str(target), "644", USER, GROUP, "", ""]
    proc = subprocess.Popen([*INSTALL.argv(), *args], stdin=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    stream = archive([(str(target), "x" * 100_000, 0o644)])
    proc.stdin.write(stream[:50_000])  # half the upload
    proc.stdin.flush()
    deadline = time.monotonic() + 10
    while not temp.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert temp.exists()
    if how == "SIGHUP":
        os.killpg(proc.pid, signal.SIGHUP)
    proc.stdin.close()
    proc.wait(timeout=10)
    assert proc.returncode != 0 and not target.exists()
    assert sorted(p.name for p in tmp_path.rglob("*")) == []

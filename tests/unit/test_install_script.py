"""transport.INSTALL run by the local sh, on a temporary folder: the tar stream on
stdin lands in its final place, and whatever stops the script (a failed write, the
connection's SIGHUP) leaves no staged file and no half-written temp file."""
import grp
import os
import pwd
import signal
import subprocess
import time

import pytest

from kubefab.transport import INSTALL, archive

USER = pwd.getpwuid(os.getuid()).pw_name
GROUP = grp.getgrgid(os.getgid()).gr_name


def install(tmp_path, files: dict, stdin: bytes | None = None):
    """files: path under tmp_path -> (content, mode)."""
    args = []
    for path, (_, mode) in files.items():
        args += [str(tmp_path / path), format(mode, "o"), USER, GROUP]
    stream = archive([content for content, _ in files.values()]) if stdin is None else stdin
    return subprocess.run(["sh", "-c", INSTALL, "sh", str(tmp_path / "stage/run1"), str(tmp_path / "backup"),
                           *args], input=stream, capture_output=True, timeout=30)


def leftovers(tmp_path) -> list[str]:
    return sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")
                  if p.name.endswith(".kubefab-new") or "stage/" in p.relative_to(tmp_path).as_posix())


def test_files_land_with_their_mode_and_the_previous_version_is_kept(tmp_path):
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/a.conf").write_text("old\n")
    r = install(tmp_path, {"etc/a.conf": ("new\n", 0o644), "etc/pki/k.key": ("secret\n", 0o600)})
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "etc/a.conf").read_text() == "new\n"
    assert oct((tmp_path / "etc/pki/k.key").stat().st_mode & 0o777) == "0o600"
    assert oct((tmp_path / "etc/pki").stat().st_mode & 0o777) == "0o755"  # only the stage is root-only
    assert (tmp_path / f"backup{tmp_path}/etc/a.conf").read_text() == "old\n"
    assert leftovers(tmp_path) == [] and oct((tmp_path / "stage").stat().st_mode & 0o777) == "0o700"


def test_a_failed_write_leaves_nothing_staged(tmp_path):
    (tmp_path / "etc").write_text("a file where a folder should be\n")
    r = install(tmp_path, {"ok.conf": ("fine\n", 0o644), "etc/b.conf": ("b\n", 0o644)})
    assert r.returncode != 0 and b"etc" in r.stderr
    assert (tmp_path / "ok.conf").read_text() == "fine\n"  # what was written before stays
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("how", ["stdin ends", "SIGHUP"])
def test_a_dropped_connection_mid_upload_leaves_nothing_staged(tmp_path, how):
    """A killed kubefab's connection drops: sshd closes the command's stdin (tar reads a
    truncated stream), or its process group gets SIGHUP."""
    args = [str(tmp_path / "x.conf"), "644", USER, GROUP]
    proc = subprocess.Popen(["sh", "-c", INSTALL, "sh", str(tmp_path / "stage/run1"), str(tmp_path / "backup"),
                             *args], stdin=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    stream = archive(["x" * 100_000])
    proc.stdin.write(stream[:50_000])  # half the upload
    proc.stdin.flush()
    deadline = time.monotonic() + 10
    while not (tmp_path / "stage/run1/0").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert (tmp_path / "stage/run1").is_dir()
    if how == "SIGHUP":
        os.killpg(proc.pid, signal.SIGHUP)
    proc.stdin.close()
    proc.wait(timeout=10)
    assert proc.returncode != 0
    assert leftovers(tmp_path) == [] and not (tmp_path / "x.conf").exists()

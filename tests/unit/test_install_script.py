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

from kubefab.remote.hostfiles import INSTALL, archive

USER = pwd.getpwuid(os.getuid()).pw_name
GROUP = grp.getgrgid(os.getgid()).gr_name


def head(tmp_path, keep=3, run="run1") -> list[str]:
    """INSTALL's first arguments: stage, backups, how many, the manifest, the run."""
    return [str(tmp_path / "stage/run1"), str(tmp_path / "backup"), str(keep), str(tmp_path / "last-run"), run]


def install(tmp_path, files: dict, stdin: bytes | None = None, keep=3, run="run1", secret=()):
    """files: path under tmp_path -> (content, mode); secret: those paths are secrets."""
    args = []
    for path, (_, mode) in files.items():
        args += [str(tmp_path / path), format(mode, "o"), USER, GROUP, "secret" if path in secret else "",
                 "a.service b.service"]
    stream = archive([content for content, _ in files.values()]) if stdin is None else stdin
    return subprocess.run([*INSTALL.argv(), *head(tmp_path, keep, run), *args], input=stream,
                          capture_output=True, timeout=30)


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
    assert (tmp_path / f"backup{tmp_path}/etc/a.conf.1").read_text() == "old\n"
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
    args = [str(tmp_path / "x.conf"), "644", USER, GROUP, "", ""]
    proc = subprocess.Popen([*INSTALL.argv(), *head(tmp_path), *args], stdin=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
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


def backups(tmp_path, path) -> dict[str, str]:
    folder = tmp_path / f"backup{tmp_path}" / path
    return {p.name: p.read_text() for p in sorted(folder.parent.glob(folder.name + "*"))}


@pytest.mark.parametrize("keep, runs, kept", [
    (3, 5, {"a.conf.1": "v4\n", "a.conf.2": "v3\n", "a.conf.3": "v2\n"}),
    (1, 3, {"a.conf.1": "v2\n"}),
    (3, 1, {"a.conf.1": "v0\n"}),
])
def test_backups_are_bounded_newest_first(tmp_path, keep, runs, kept):
    (tmp_path / "a.conf").write_text("v0\n")
    (tmp_path / "a.conf.env").write_text("other\n")  # its backups' names share a prefix
    assert install(tmp_path, {"a.conf.env": ("other 2\n", 0o644)}).returncode == 0
    for i in range(1, runs + 1):
        r = install(tmp_path, {"a.conf": (f"v{i}\n", 0o644)}, keep=keep, run=f"run{i}")
        assert r.returncode == 0, r.stderr
    assert {k: v for k, v in backups(tmp_path, "a.conf").items() if ".env" not in k} == kept
    assert backups(tmp_path, "a.conf.env") == {"a.conf.env.1": "other\n"}


def test_a_lowered_keep_prunes_the_older_ones_and_the_unbounded_copy_from_before(tmp_path):
    (tmp_path / "a.conf").write_text("v0\n")
    for i in range(1, 5):
        install(tmp_path, {"a.conf": (f"v{i}\n", 0o644)}, keep=4)
    (tmp_path / f"backup{tmp_path}/a.conf").write_text("from before\n")
    assert install(tmp_path, {"a.conf": ("v5\n", 0o644)}, keep=2).returncode == 0
    assert backups(tmp_path, "a.conf") == {"a.conf.1": "v4\n", "a.conf.2": "v3\n"}


def test_a_secrets_backup_is_private_whatever_its_mode(tmp_path):
    (tmp_path / "token").write_text("old token\n")
    (tmp_path / "token").chmod(0o644)
    assert install(tmp_path, {"token": ("new token\n", 0o644)}, secret={"token"}).returncode == 0
    copy = tmp_path / f"backup{tmp_path}/token.1"
    assert copy.read_text() == "old token\n" and oct(copy.stat().st_mode & 0o777) == "0o600"


def test_the_manifest_lists_one_runs_files_with_their_old_mode_and_restarts(tmp_path):
    (tmp_path / "a.conf").write_text("old\n")
    (tmp_path / "a.conf").chmod(0o640)
    install(tmp_path, {"a.conf": ("new\n", 0o644)}, run="run1")
    install(tmp_path, {"a.conf": ("newer\n", 0o644)}, run="run2")
    install(tmp_path, {"b.conf": ("b\n", 0o600)}, run="run2", secret={"b.conf"})  # the same run: appended
    lines = (tmp_path / "last-run").read_text().splitlines()
    assert lines == ["run\trun2",
                     f"replaced\t{tmp_path}/a.conf\t644\t{USER}\t{GROUP}\t\ta.service b.service",
                     f"created\t{tmp_path}/b.conf\t\t\t\tsecret\ta.service b.service"]

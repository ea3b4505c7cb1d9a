"""Root commands through one root shell per connection (kubefab.remote.ssh.rootshell),
against a local SSH server running the real sh with a stand-in sudo (sshd_local): one
sudo per connection, each command's output, exit code and stdin exactly as its own
session gave them, a busy shell leaving the next root command its own session, and a
cancelled or dead shell replaced by the next root command."""
import hashlib
import os
import threading
import time

import pytest

from kubefab.remote.ssh import Remote
from kubefab.remote.ssh.remote import SHELL_STDIN_AT_MOST
from kubefab.remote.transport import Interrupted, RemoteError
from sshd_local import Sshd

SHELL = "-n -- sh -s"  # how the stand-in sudo logs the root shell's start


@pytest.fixture
def sshd(tmp_path):
    server = Sshd(tmp_path)
    yield server
    server.close()


@pytest.fixture
def remote(sshd, inv):
    r = Remote(sshd.host(inv.hosts[0]), timeout=5).open()
    yield r
    r.close()


def test_a_runs_root_commands_start_sudo_once(sshd, remote):
    for i in range(5):
        assert remote.run(["echo", f"n{i}"], sudo=True).stdout == f"n{i}\n"
    assert remote.run(["id", "-u"]).ok  # not root: its own session, no sudo
    assert sshd.sudos() == [SHELL]
    assert len(sshd.sessions) == 2


def test_output_comes_back_exactly_with_the_exit_code(remote):
    r = remote.run(["sh", "-c", "printf 'no newline'; printf 'err, none either' >&2; exit 3"], sudo=True, check=False)
    assert (r.exit_code, r.stdout, r.stderr) == (3, "no newline", "err, none either")
    assert r.command == "sudo -n -- sh -c 'printf '\"'\"'no newline'\"'\"'; printf '\"'\"'err, none either'\"'\"' >&2; exit 3'"
    r = remote.run(["true"], sudo=True)
    assert (r.exit_code, r.stdout, r.stderr) == (0, "", "")
    marks = "0 \n\n\036probe 0\n. 0\n"  # lines like the shell's ends and batch.sh's marks
    assert remote.run(["printf", "%s", marks], sudo=True).stdout == marks
    with pytest.raises(RemoteError, match=r"^false failed: exit code 1$"):
        remote.run(["false"], sudo=True)


def test_megabytes_on_stdout_and_stderr_at_once_do_not_stall(remote):
    both = "yes out | head -c 3000000 & yes err | head -c 3000000 >&2; wait"
    r = remote.run(["sh", "-c", both], sudo=True)
    assert (len(r.stdout), len(r.stderr)) == (3000000, 3000000)
    assert set(r.stdout.split()) == {"out"} and set(r.stderr.split()) == {"err"}


def test_stdin_bytes_with_nuls_reach_the_command_exactly(remote):
    data = os.urandom(300000) + b"\0\0 no newline at the end"
    r = remote.run(["sha256sum"], sudo=True, stdin=data)
    assert r.stdout.split()[0] == hashlib.sha256(data).hexdigest()
    assert remote.run(["cat"], sudo=True).stdout == ""  # no stdin: /dev/null, not the shell's
    assert remote.run(["wc", "-c"], sudo=True, stdin=b"").stdout.strip() == "0"


def test_a_command_cannot_change_the_shell(sshd, remote):
    for argv in (["cd", "/"], ["exit", "9"], ["umask", "077"], ["exec", "false"]):
        r = remote.run(argv, sudo=True, check=False)
        assert r.exit_code == 127, (argv, r)  # never a builtin: a program on PATH, as sudo runs
    assert remote.run(["sh", "-c", "umask 077; cd /; trap 'echo bye' EXIT; exit 4"], sudo=True, check=False).exit_code == 4
    r = remote.run(["sh", "-c", 'pwd; umask; echo "${PWD+set}"'], sudo=True)
    assert r.stdout.split() == [str(sshd.sudo_log.parent), "0022", "set"]
    assert sshd.sudos() == [SHELL]


def test_the_environment_is_sudos(sshd, remote):
    in_shell = remote.run(["env"], sudo=True).stdout
    own = remote._exec(["env"], True, None, 30, None).stdout
    assert sorted(in_shell.splitlines()) == sorted(own.splitlines())


def soon(condition, seconds: float = 10) -> None:
    """Until condition() holds (a loaded machine is slow), at most `seconds`."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "never happened"
        time.sleep(0.02)


def test_a_root_command_asked_while_the_shell_is_busy_gets_its_own_session(sshd, remote, tmp_path):
    remote.run(["true"], sudo=True)
    running = tmp_path / "running"
    slow = threading.Thread(target=remote.run, args=(["sh", "-c", f": > {running}; sleep 1"],), kwargs={"sudo": True})
    slow.start()
    soon(running.exists)  # the shell is busy with it
    assert remote.run(["echo", "meanwhile"], sudo=True).stdout == "meanwhile\n"
    slow.join(5)
    assert sshd.sudos() == [SHELL, "-n -- echo meanwhile"]
    assert remote.run(["echo", "after"], sudo=True).stdout == "after\n"
    assert len(sshd.sudos()) == 2  # the shell again


def test_cancel_closes_the_shell_and_the_next_command_opens_another(sshd, remote):
    cancel = threading.Event()
    threading.Timer(0.3, cancel.set).start()
    started = time.monotonic()
    with pytest.raises(Interrupted):
        remote.run(["sleep", "5"], sudo=True, cancel=cancel)
    assert time.monotonic() - started < 4  # not the sleep's 5 s (CANCEL_EVERY: 0.25 s on an idle machine)
    assert remote.run(["echo", "next"], sudo=True).stdout == "next\n"
    assert sshd.sudos() == [SHELL, SHELL]


def test_a_timeout_closes_the_shell_as_a_lost_connection(sshd, remote):
    with pytest.raises(RemoteError, match=r"^sleep: lost the connection \(timed out\)$"):
        remote.run(["sleep", "5"], sudo=True, timeout=0.5)
    assert remote.run(["echo", "next"], sudo=True).stdout == "next\n"


def test_a_shell_killed_under_its_command_is_a_lost_connection_then_a_new_shell(sshd, remote):
    remote.run(["true"], sudo=True)
    with pytest.raises(RemoteError, match=r"^sh: lost the connection \(the root shell ended\)$"):
        remote.run(["sh", "-c", "kill -9 $PPID; sleep 0.2"], sudo=True)
    assert remote.run(["echo", "next"], sudo=True).stdout == "next\n"
    assert sshd.sudos() == [SHELL, SHELL]


def test_sudo_that_asks_a_password_fails_the_command_as_its_own_sudo_did(tmp_path, inv):
    sshd = Sshd(tmp_path, password="a password")  # and the inventory names none
    remote = Remote(sshd.host(inv.hosts[0]), timeout=5).open()
    try:
        r = remote.run(["true"], sudo=True, check=False)
        assert (r.exit_code, r.stderr, r.why()) == (1, "sudo: a password is required\n",
                                                     f"sudo asks for a password for {remote.endpoint.user}; name it in the inventory (ssh.sudo_password_env or ssh.sudo_password_file), give --ask-sudo-password, or make that sudo NOPASSWD")
        assert remote.run(["true"], sudo=True, check=False).exit_code == 1  # tried again, not a dead shell
    finally:
        remote.close()
        sshd.close()


def test_a_password_login_sends_it_once_first_on_the_shells_stdin(tmp_path, inv):
    sshd = Sshd(tmp_path, password="pa ss'word")
    remote = Remote(sshd.host(inv.hosts[0], password="pa ss'word"), timeout=5).open()
    try:
        for _ in range(3):
            assert remote.run(["id", "-un"], sudo=True).ok
        r = remote.run(["sha256sum"], sudo=True, stdin=b"tar bytes")
        assert r.stdout.split()[0] == hashlib.sha256(b"tar bytes").hexdigest()
        assert sshd.sudos() == ["-n -- true", "-S -k -p  -- true", "-S -k -p  -- sh -s"]
        assert not [s for s in sshd.sessions if "pa ss" in s]
    finally:
        remote.close()
        sshd.close()


def test_a_refused_password_is_the_same_clear_error(tmp_path, inv):
    sshd = Sshd(tmp_path, password="the right one")
    try:
        with pytest.raises(RemoteError, match="refused the password from .*: .*incorrect password attempt"):
            Remote(sshd.host(inv.hosts[0], password="a wrong one"), timeout=5).open()
    finally:
        sshd.close()


def test_a_stdin_past_what_the_shell_takes_goes_through_its_own_session(sshd, remote):
    data = b"x" * (SHELL_STDIN_AT_MOST + 1)
    assert remote.run(["wc", "-c"], sudo=True, stdin=data).stdout.strip() == str(len(data))
    assert remote.run(["wc", "-c"], sudo=True, stdin=data[1:]).stdout.strip() == str(len(data) - 1)
    assert sshd.sudos() == ["-n -- wc -c", SHELL]


def test_a_shell_that_ended_between_commands_is_replaced_before_the_next(sshd, remote):
    remote.run(["true"], sudo=True)
    remote.run(["sh", "-c", "(sleep 0.2; kill -9 $PPID) >/dev/null 2>&1 &"], sudo=True)  # its shell, once it is idle
    soon(lambda: remote._shell is not None and remote._shell.ended())
    assert remote.run(["echo", "next"], sudo=True).stdout == "next\n"
    assert sshd.sudos() == [SHELL, SHELL]


def test_cancel_is_heard_while_a_command_streams_output(remote):
    cancel = threading.Event()
    threading.Timer(0.3, cancel.set).start()
    started = time.monotonic()
    with pytest.raises(Interrupted):
        remote.run(["sh", "-c", "while :; do echo line; done"], sudo=True, cancel=cancel, timeout=5)
    assert time.monotonic() - started < 4  # not the timeout's 5 s
    assert remote.run(["echo", "next"], sudo=True).stdout == "next\n"

"""One connection carries every command of a run for its host, some at once (the master
registers nodes while it waits, the lease renews): sshd refuses a session past its
MaxSessions (10 by default), so a Remote opens at most CHANNELS_AT_ONCE and the next
command waits for one to end, instead of failing with "lost the connection"."""
import threading
import time
from types import SimpleNamespace

import paramiko

from kubefab.remote.ssh.remote import CHANNELS_AT_ONCE, Remote
from kubefab.remote.transport import Interrupted

import pytest


class Sshd:
    """The server side as the client sees it: sessions refused past `limit` open at once;
    a command ends once `release` is set."""

    def __init__(self, limit=10):
        self.limit, self.open, self.most, self.refused = limit, 0, 0, 0
        self.release = threading.Event()
        self.lock = threading.Lock()

    def is_active(self):
        return True

    def open_session(self):
        with self.lock:
            if self.open >= self.limit:
                self.refused += 1
                raise paramiko.ChannelException(1, "Administratively prohibited")
            self.open += 1
            self.most = max(self.most, self.open)
        return Channel(self)


class Channel:
    def __init__(self, sshd):
        self.sshd = sshd

    def settimeout(self, timeout): pass
    def exec_command(self, command): pass
    def sendall(self, data): pass
    def shutdown_write(self): pass

    def exit_status_ready(self):
        return self.sshd.release.is_set()

    def makefile(self, mode):
        return SimpleNamespace(read=lambda: b"")

    makefile_stderr = makefile

    def recv_exit_status(self):
        self.sshd.release.wait(10)
        with self.sshd.lock:
            self.sshd.open -= 1
        return 0


def remote_on(sshd, inv) -> Remote:
    remote = Remote.__new__(Remote)  # no connection: the transport is the test's
    remote.host, remote.sudo = inv.hosts[0], "n"
    remote.endpoint = SimpleNamespace(user="core")
    remote.cxn = SimpleNamespace(client=SimpleNamespace(get_transport=lambda: sshd))
    remote._sessions = threading.BoundedSemaphore(CHANNELS_AT_ONCE)
    return remote


def test_more_commands_at_once_than_sshd_allows_sessions_wait_for_one(inv):
    sshd = Sshd(limit=10)
    remote = remote_on(sshd, inv)
    results, errors = [], []

    def run():
        try:
            results.append(remote.run(["true"]))
        except Exception as e:  # noqa: BLE001 - the test counts them
            errors.append(e)
    threads = [threading.Thread(target=run) for _ in range(14)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 10
    while sshd.open + sshd.refused < CHANNELS_AT_ONCE and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)  # the others asked meanwhile: refused, or waiting for a session
    sshd.release.set()
    for t in threads:
        t.join(10)

    assert not errors, errors
    assert len(results) == 14 and sshd.refused == 0 and sshd.most == CHANNELS_AT_ONCE < 10


def test_a_command_waiting_for_a_session_stops_on_ctrl_c(inv):
    sshd = Sshd()
    remote = remote_on(sshd, inv)
    busy = [threading.Thread(target=remote.run, args=(["sleep"],)) for _ in range(CHANNELS_AT_ONCE)]
    for t in busy:
        t.start()
    while sshd.open < CHANNELS_AT_ONCE:
        time.sleep(0.01)
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Interrupted):
        remote.run(["true"], cancel=cancel)
    sshd.release.set()
    for t in busy:
        t.join(10)

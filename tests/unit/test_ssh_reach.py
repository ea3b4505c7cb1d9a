"""Reaching hosts without a host: where a login goes (the inventory over an OpenSSH
config: aliases, users, ports, keys, ProxyJump), known_hosts read once per run, a host
that drops packets (progress while it waits, its own connect timeout, Ctrl-C within a
second), a key file that does not exist, and the sudo password on stdin only.

A host that drops packets is a loopback listener whose accept queue is full: the
kernel drops further SYNs, as a firewall would."""
from __future__ import annotations

import signal
import socket
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import paramiko
import pytest

from kubefab.model import Hop, Host, Ssh
from kubefab.remote import wait
from kubefab.remote.fleet import Fleet
from kubefab.remote.ssh import Remote, ssh
from kubefab.remote.ssh.endpoint import SshConfigs, of_host
from kubefab.remote.ssh.reach import Reach
from kubefab.remote.ssh.tcp import dial
from kubefab.remote.transport import Interrupted, RemoteError, command_line


def config(tmp_path: Path, text: str) -> tuple[Path, ...]:
    path = tmp_path / "ssh_config"
    path.write_text(text.replace("KEY", str(tmp_path / "id_key")))
    (tmp_path / "id_key").write_text("not read here")
    return (path,)


CONFIG = """\
Host prd-*
  User admin
  Port 2222
  IdentityFile KEY
  IdentitiesOnly yes
Host prd-a
  HostName 10.0.0.1
  ProxyJump jump
Host prd-b
  HostName 10.0.0.2
  ProxyCommand nc %h %p
Host prd-c
  HostName 10.0.0.3
  ProxyJump first,ops@second:2200
Host jump
  HostName 10.0.0.100
  User jumper
Host *
  ConnectTimeout 3
  ProxyJump jump
"""


def host(name="a", address="10.0.0.1", **ssh) -> Host:
    return Host(name, address, "node", ssh=Ssh(**ssh))


def test_an_alias_takes_the_configs_hostname_user_port_key_and_jump(tmp_path):
    paths = config(tmp_path, CONFIG)
    ep = of_host(host(host="prd-a", config=paths), SshConfigs())
    assert (ep.hostname, ep.user, ep.port, ep.identities, ep.agent, ep.timeout) == (
        "10.0.0.1", "admin", 2222, (tmp_path / "id_key",), False, 3.0)
    assert (ep.via.hostname, ep.via.user, ep.via.port, ep.via.via) == ("10.0.0.100", "jumper", 22, None)
    assert ep.via.called == "jumper@10.0.0.100:22 (the bastion for a)"


def test_what_the_inventory_sets_wins_over_the_config(tmp_path):
    paths = config(tmp_path, CONFIG)
    mine = host(host="prd-a", config=paths, user="core", port=22, identity=tmp_path / "mine", connect_timeout=7,
                given=frozenset({"user", "port", "identity", "connect_timeout"}),
                bastion=Hop("10.9.9.9", user="j", given=frozenset({"user"})))
    ep = of_host(mine, SshConfigs())
    assert (ep.hostname, ep.user, ep.port, ep.identities, ep.identity_given, ep.timeout) == (
        "10.0.0.1", "core", 22, (tmp_path / "mine",), tmp_path / "mine", 7)
    assert (ep.via.hostname, ep.via.user) == ("10.9.9.9", "j")  # ssh.bastion over ProxyJump


def test_proxyjump_chains_and_proxycommand(tmp_path):
    paths = config(tmp_path, CONFIG)
    ep = of_host(host(host="prd-c", config=paths), SshConfigs())
    assert (ep.via.where, ep.via.via.hostname, ep.via.via.via) == ("ops@second:2200", "first", ep.via.via.via)
    assert ep.via.via.via.hostname == "10.0.0.100"  # first's own ProxyJump (Host *): jump, which goes straight
    refused = of_host(host(host="prd-b", config=paths), SshConfigs())
    assert "ProxyCommand" in refused.problem and "ProxyJump" in refused.problem


def test_no_config_no_lookup(tmp_path):
    ep = of_host(host(user="core"), SshConfigs())
    assert (ep.hostname, ep.user, ep.port, ep.via, ep.identities) == ("10.0.0.1", "core", 22, None, ())


def test_known_hosts_is_read_once_per_run(tmp_path, monkeypatch):
    known = tmp_path / "known_hosts"
    key = paramiko.ECDSAKey.generate()
    known.write_text("".join(f"10.0.0.{i} {key.get_name()} {key.get_base64()}\n" for i in range(1, 6)))
    reads = []
    sys.addaudithook(lambda event, args: reads.append(args[0]) if event == "open" and args
                     and str(args[0]) == str(known) else None)
    connect = ssh()
    remotes = [connect(host(f"h{i}", f"10.0.0.{i}", known_hosts=known)) for i in range(1, 6)]
    for r in remotes:  # what each connection's handshake consults
        r.reach.known_hosts(r.endpoint.known_hosts).prime(r.cxn.client, r.endpoint.hostname, r.endpoint.port)
        assert r.cxn.client.get_host_keys().lookup(r.endpoint.hostname)
    assert len(reads) == 1, reads


@contextmanager
def dropping():
    """A loopback port that drops SYNs (its accept queue full): (address, port)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    filler = socket.create_connection(listener.getsockname(), timeout=2)
    try:
        yield listener.getsockname()
    finally:
        filler.close()
        listener.close()


def test_a_host_that_drops_packets_says_so_and_gives_up_after_its_connect_timeout(monkeypatch):
    monkeypatch.setattr(wait, "PROGRESS_EVERY", 0.2)
    said = []
    with dropping() as (address, port):
        target = host(address=address, port=port, connect_timeout=0.6, given=frozenset({"port", "connect_timeout"}))
        remote = Remote(target, reach=Reach(say=lambda h, text: said.append((h, text))))
        started = time.monotonic()
        with pytest.raises(RemoteError) as e:
            remote.open()
    assert 0.5 < time.monotonic() - started < 2
    where = f"{address}:{port}"
    assert str(e.value) == f"ssh core@{where}: no answer from {where} within 0.6s (ssh.connect_timeout)"
    assert said and said[0][0] == "a" and f"waiting for core@{address}:{port} to answer" in said[0][1], said


def test_ctrl_c_while_hosts_are_reached_ends_within_a_second():
    with dropping() as (address, port):
        hosts = [host(f"h{i}", address, port=port, connect_timeout=20, given=frozenset({"port", "connect_timeout"}))
                 for i in range(3)]
        fleet = Fleet(hosts, connect=ssh(say=lambda h, t: None))
        threading.Timer(0.5, lambda: signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)).start()
        started = time.monotonic()
        with pytest.raises(Interrupted):
            fleet.open()
        took = time.monotonic() - started - 0.5
        fleet.close()
    assert took < 1.0, took


def test_a_missing_key_file_is_named_before_connecting(tmp_path):
    target = host(address="192.0.2.1", identity=tmp_path / "gone", given=frozenset({"identity"}))
    started = time.monotonic()
    with pytest.raises(RemoteError) as e:
        Remote(target).open()
    assert time.monotonic() - started < 0.5  # no connection was tried
    assert str(e.value) == f"ssh core@192.0.2.1:22: the key file {tmp_path / 'gone'} (ssh.identity) does not exist"


def test_a_failed_bastion_is_named_as_the_bastion_of_each_host():
    with dropping() as (address, port):
        pass  # closed: refused
    reach = Reach(say=lambda h, t: None)
    hop = Hop(address, port, "core", given=frozenset({"port"}))
    errors = []
    for name in ("n1", "n2"):
        with pytest.raises(RemoteError) as e:
            Remote(host(name, "10.0.0.9", bastion=hop), reach=reach).open()
        errors.append(str(e.value))
    assert errors == [f"ssh core@{address}:{port} (the bastion for {n}): connection refused at {address}:{port} "
                      "(is sshd running there?)" for n in ("n1", "n2")]


def test_dial_connects_and_hears_ctrl_c():
    listener = socket.create_server(("127.0.0.1", 0))
    sock = dial("127.0.0.1", listener.getsockname()[1], 2, threading.Event(), None, "it")
    sock.close()
    listener.close()
    cancel = threading.Event()
    with dropping() as (address, port):
        threading.Timer(0.2, cancel.set).start()
        started = time.monotonic()
        with pytest.raises(Interrupted):
            dial(address, port, 20, cancel, None, "it")
    assert time.monotonic() - started < 0.8


class _Channel:
    def __init__(self, log):
        self.log = log

    def settimeout(self, t):
        pass

    def exec_command(self, command):
        self.log["command"] = command

    def sendall(self, data):
        self.log["stdin"] = self.log.get("stdin", b"") + data

    def shutdown_write(self):
        pass

    def makefile(self, mode):
        return __import__("io").BytesIO(b"")

    makefile_stderr = makefile

    def recv_exit_status(self):
        return 0


def test_the_sudo_password_goes_first_on_stdin_and_never_on_the_command_line(monkeypatch):
    target = host(user="ops", sudo_password="pa ss'word", sudo_password_source="file pw")
    remote = Remote(target)
    log = {}
    transport = type("T", (), {"is_active": lambda self: True, "open_session": lambda self: _Channel(log)})()
    monkeypatch.setattr(remote.cxn.client, "get_transport", lambda: transport)
    remote.sudo = "S"  # what open() found: this login's sudo asks a password
    remote._shell_free.acquire()  # the root shell busy: the command's own session (test_ssh_root_shell: the shell's)
    remote.run(["sh", "-c", "cat", "kubefab-x"], sudo=True, stdin=b"tar bytes")
    assert log["command"] == "sudo -S -k -p '' -- sh -c cat kubefab-x"
    assert log["stdin"] == b"pa ss'word\ntar bytes"
    log.clear()
    remote.run(["id"], sudo=False)
    assert log == {"command": "id"}  # no sudo: no password
    assert command_line(["true"], True) == "sudo -n -- true"

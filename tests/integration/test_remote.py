"""kubefab.remote.ssh on the lab's real hosts (OpenSSH, verified host keys)."""
import hashlib
import socket

import pytest

from kubefab.inventory import load
from kubefab.remote.ssh import Remote

from .helpers import journal_cursors, sudo_commands

pytestmark = pytest.mark.lab


def test_commands_go_out_at_once_not_after_a_delayed_ack(lab):
    """Each command is a few small packets; Nagle's algorithm would hold one of them
    until sshd's delayed ACK (40 ms a command). The bench shows the time; this, the cause."""
    inv = load(lab.inventory_path)
    remote = Remote(inv.master).open()
    try:
        sock = remote.cxn.client.get_transport().sock
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        assert remote.run(["printf", "%s|", "a b", "it's"]).stdout == "a b|it's|"
    finally:
        remote.close()


def test_a_connections_root_commands_start_sudo_once_as_sudo_ran_each(lab):
    """One root shell per connection (kubefab.remote.ssh.rootshell) on a real host: sudo's
    log has one line for twenty root commands, a command's environment is the one its
    own sudo gives, and its stdin's bytes (NULs too) arrive whole."""
    inv = load(lab.inventory_path)
    node = inv.nodes[0]
    cursors = journal_cursors(lab)
    remote = Remote(node).open()
    try:
        for i in range(20):
            assert remote.run(["echo", str(i)], sudo=True).stdout == f"{i}\n"
        data = bytes(range(256)) * 1000 + b"no newline"
        r = remote.run(["sh", "-c", 'cat > "$1"; sha256sum < "$1"; rm -f "$1"', "kubefab-test", "/tmp/kubefab-stdin"],
                       sudo=True, stdin=data)
        assert r.stdout.split()[0] == hashlib.sha256(data).hexdigest()
        in_shell = remote.run(["env"], sudo=True).stdout
        own = remote._exec(["env"], True, None, 30, None).stdout  # its own session and sudo, as before
        assert sorted(in_shell.splitlines()) != sorted(own.splitlines())  # SUDO_COMMAND: sh -s, env
        mine = lambda text: sorted(v for v in text.splitlines() if not v.startswith("SUDO_COMMAND="))
        assert mine(in_shell) == mine(own)
        assert remote.run(["sh", "-c", "umask; pwd"], sudo=True).stdout == \
            remote._exec(["sh", "-c", "umask; pwd"], True, None, 30, None).stdout
    finally:
        remote.close()
    commands = sudo_commands(lab, cursors, node.name)
    assert [c for c in commands if c.endswith("/sh -s")] == [commands[0]] and len(commands) == 3, commands  # and the two of its own

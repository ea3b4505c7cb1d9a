"""kubefab.remote.ssh on the lab's real hosts (OpenSSH, verified host keys)."""
import socket

import pytest

from kubefab.inventory import load
from kubefab.remote.ssh import Remote

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

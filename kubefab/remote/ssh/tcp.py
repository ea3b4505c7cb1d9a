"""TCP for SSH: a connection made within a timeout, each look at Ctrl-C a quarter second
apart and a progress line every 5 s while it waits (kubefab.remote.wait.until), and
Nagle's algorithm off once it carries SSH."""
from __future__ import annotations

import errno
import os
import select
import socket
import threading
import time

from kubefab.remote import wait
from kubefab.remote.transport import Interrupted

SLICE = 0.25  # seconds between looks at Ctrl-C while a connection is made


def no_delay(cxn) -> None:
    """Send our packets at once (TCP_NODELAY). A command is a few small packets each
    way; with Nagle's algorithm on, one of ours waits for the ACK sshd delays (40 ms
    on Linux): `true` took 44 ms a command on a lab host, 3 ms with this."""
    transport = cxn.client.get_transport()
    sock = getattr(transport, "sock", None)
    if isinstance(sock, socket.socket) and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


IDLE_POLL = 1.0  # seconds between an idle connection's reader waking (paramiko's own: 0.1)


def quiet_reader(cxn) -> None:
    """Wake the connection's reader thread once a second while the host says nothing,
    not paramiko's ten times: a woken reader only looks whether its connection was
    closed, and 100 idle connections woke 1000 times a second, about 2.5 ms of CPU a
    second (half of kubefab's CPU per host on a 100-host fresh deploy) and the GIL
    taken from the threads at work. Data still wakes it at once; a closed connection's
    reader ends within a second (it is a daemon thread: no run waits for it)."""
    sock = getattr(cxn.client.get_transport(), "sock", None)
    if sock is not None:  # a socket, or a bastion's direct-tcpip channel: both time out alike
        sock.settimeout(IDLE_POLL)


def dial(address: str, port: int, timeout: float, cancel: threading.Event, progress, what: str,
         track=lambda sock, on: None) -> socket.socket:
    """A connected TCP socket to address:port, each address it resolves to tried in turn
    within `timeout` seconds in all; wait.Timeout, OSError (refused, unreachable, not
    resolved), or Interrupted once `cancel` is set (looked at every SLICE)."""
    deadline = time.monotonic() + timeout
    last: OSError | None = None
    for family, kind, proto, _, address_of in socket.getaddrinfo(address, port, type=socket.SOCK_STREAM):
        sock = socket.socket(family, kind, proto)
        track(sock, True)
        try:
            sock.setblocking(False)
            code = sock.connect_ex(address_of)
            if code not in (0, errno.EINPROGRESS):
                raise OSError(code, os.strerror(code))

            def poll(seconds: float):
                _, ready, _ = select.select([], [sock], [], seconds)
                return sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) if ready else None
            code = wait.until(poll, what=what, timeout=max(0.0, deadline - time.monotonic()), progress=progress,
                              cancel=cancel, slice=SLICE)
            if code:
                raise OSError(code, os.strerror(code))
            sock.setblocking(True)
            return sock
        except OSError as e:
            sock.close()
            if cancel.is_set():
                raise Interrupted() from None
            last = e
        except BaseException:
            sock.close()
            raise
        finally:
            track(sock, False)
    raise last or OSError(errno.EHOSTUNREACH, f"{address} has no address")

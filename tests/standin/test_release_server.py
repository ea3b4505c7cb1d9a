"""The lab's release server takes a whole lab's connections at once: while it is busy
(stopped here), the kernel completes every handshake up to its listen backlog, and
the rest would be dropped (http.server's backlog of 5 failed downloads at 200 hosts)."""
from __future__ import annotations

import os
import selectors
import signal
import socket
import time
import urllib.request

from kubefab_lab.services import start_http, stop_all
from kubefab_lab.state import Layout

AT_ONCE = 200  # the bench's largest lab, one download each


def test_a_busy_release_server_still_takes_a_labs_connections(tmp_path):
    layout = Layout(tmp_path)
    url, port = start_http(layout)
    try:
        busy_then_served(layout, url, port)
    finally:
        stop_all(layout)


def busy_then_served(layout, url, port):
    (layout.releases / "ok").write_text("served\n")
    pid = int(layout.pid_file("http").read_text())
    socks = []
    try:
        os.kill(pid, signal.SIGSTOP)
        sel = selectors.DefaultSelector()
        for _ in range(AT_ONCE):
            s = socket.socket()
            s.setblocking(False)
            s.connect_ex(("127.0.0.1", port))
            socks.append(s)
            sel.register(s, selectors.EVENT_WRITE)
        connected, deadline = 0, time.monotonic() + 2
        while connected < AT_ONCE and time.monotonic() < deadline:
            for key, _ in sel.select(deadline - time.monotonic()):
                sel.unregister(key.fileobj)
                connected += key.fileobj.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0
        assert connected == AT_ONCE
    finally:
        os.kill(pid, signal.SIGCONT)
        for s in socks:
            s.close()
    assert urllib.request.urlopen(url + "/ok", timeout=10).read() == b"served\n"

"""The stand-ins' HTTP servers answer as Go's do on the wire: Nagle's algorithm off on
every accepted connection (Go's TCPConn default). With it on, http.server's response
(headers, then the body, two writes) waited for the client's delayed ACK: about 40 ms a
request, which made the master's probe of a no-op deploy (one curl, eight requests on
its connection) 0.3 s slower on the lab than on a real apiserver."""
from __future__ import annotations

import http.client
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler

import pytest

from kubefab_lab.standin import components, servers


class _Two(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as curl's several URLs on one connection

    def do_GET(self):
        body = b"ok"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.mark.parametrize("server", [servers._HTTPServer, components._Server])
def test_an_accepted_connection_has_nagle_off(server):
    httpd = server(("127.0.0.1", 0), _Two)
    try:
        client = socket.create_connection(httpd.server_address)
        accepted, _ = httpd.get_request()
        assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        accepted.close()
        client.close()
    finally:
        httpd.server_close()


def test_requests_on_one_connection_wait_for_no_delayed_ack():
    """Ten requests on one keep-alive connection: with Nagle on, at least 0.4 s (40 ms each)."""
    httpd = servers._HTTPServer(("127.0.0.1", 0), _Two)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        conn = http.client.HTTPConnection(*httpd.server_address, timeout=5)
        conn.request("GET", "/")
        conn.getresponse().read()  # the connection made, the server's thread started
        start = time.perf_counter()
        for _ in range(10):
            conn.request("GET", "/")
            assert conn.getresponse().read() == b"ok"
        assert time.perf_counter() - start < 0.3
        conn.close()
    finally:
        httpd.shutdown()
        httpd.server_close()

"""A release server that accepts, answers 200 with a long body, then sends nothing:
what a download must give up on in bounded time. Loopback only."""
from __future__ import annotations

import socket
import threading
from contextlib import contextmanager


@contextmanager
def stalling_server():
    """Yields the URL of a tarball that never arrives."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop, held = threading.Event(), []

    def serve():
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000000\r\n\r\nxx")
            held.append(conn)  # open, silent

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/kubernetes.tar.gz"
    finally:
        stop.set()
        thread.join(2)
        listener.close()
        for conn in held:
            conn.close()

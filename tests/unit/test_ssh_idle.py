"""An open connection costs nothing while its host says nothing: its reader thread
wakes once a second (tcp.IDLE_POLL), not paramiko's ten times, which a 100-host run
paid in CPU and in the GIL for as long as it lasted."""
import dataclasses
import socket
import threading

import paramiko

from kubefab.remote.ssh import Remote


class _Welcome(paramiko.ServerInterface):
    def get_allowed_auths(self, username):
        return "publickey"

    def check_auth_publickey(self, username, key):
        return paramiko.AUTH_SUCCESSFUL


def serve_one(tmp_path):
    """An in-process SSH server that lets in any key, once; (port, its known_hosts, a key)."""
    server_key = paramiko.Ed25519Key.from_private_key_file(_write_key(tmp_path / "server_key"))
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    (tmp_path / "known_hosts").write_text(f"[127.0.0.1]:{port} {server_key.get_name()} {server_key.get_base64()}\n")
    done = threading.Event()

    def serve():
        conn, _ = listener.accept()
        listener.close()
        with paramiko.Transport(conn) as t:
            t.add_server_key(server_key)
            t.start_server(server=_Welcome())
            t.accept(5)
            done.wait(10)
    threading.Thread(target=serve, daemon=True).start()
    return port, tmp_path / "known_hosts", _write_key(tmp_path / "client_key"), done


def _write_key(path) -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    path.write_bytes(Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()))
    return str(path)


def test_an_open_connections_reader_waits_a_second_between_its_looks(inv, tmp_path):
    port, known_hosts, key, done = serve_one(tmp_path)
    host = inv.hosts[0]
    host = dataclasses.replace(host, address="127.0.0.1", ssh=dataclasses.replace(
        host.ssh, port=port, identity=key, known_hosts=known_hosts, sudo_password=None))
    remote = Remote(host, timeout=5).open()
    try:
        transport = remote.cxn.client.get_transport()
        assert transport.is_active()
        assert transport.sock.gettimeout() >= 1  # paramiko's own: 0.1 (tcp.IDLE_POLL)
    finally:
        remote.close()
        done.set()

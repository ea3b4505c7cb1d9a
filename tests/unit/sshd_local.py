"""A small SSH server in the test's process that runs each exec request with the real sh
(as sshd does: `sh -c COMMAND`, stdin, stdout and stderr piped through the channel, the
exit status sent), with a stand-in `sudo` first on PATH: it logs each start to a file
and runs what follows `--` (after reading the password line for -S). What the tests
count and read is what a host would see: sudo's starts, sessions, bytes."""
from __future__ import annotations

import dataclasses
import os
import socket
import subprocess
import threading
from pathlib import Path

import paramiko

SUDO = r"""#!/bin/sh
# sudo as the tests need it: logs "$*"; -n refuses where a password is set; -S reads it
printf '%s\n' "$*" >> "$SUDO_LOG"
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
  case $1 in
    -n) [ -z "$SUDO_PASSWORD" ] || { echo "sudo: a password is required" >&2; exit 1; } ;;
    -S) IFS= read -r pw
        [ "$pw" = "$SUDO_PASSWORD" ] || { echo "Sorry, try again." >&2; echo "sudo: 1 incorrect password attempt" >&2; exit 1; } ;;
  esac
  shift
done
shift
unset PWD OLDPWD  # sudo's env_reset passes neither
exec "$@"
"""


class _Welcome(paramiko.ServerInterface):
    def __init__(self, sshd: "Sshd"):
        self.sshd = sshd

    def get_allowed_auths(self, username):
        return "publickey"

    def check_auth_publickey(self, username, key):
        return paramiko.AUTH_SUCCESSFUL

    def check_channel_request(self, kind, chanid):
        return paramiko.OPEN_SUCCEEDED

    def check_channel_exec_request(self, channel, command):
        self.sshd.sessions.append(command.decode())
        threading.Thread(target=self.sshd.execute, args=(channel, command.decode()), daemon=True).start()
        return True


class Sshd:
    def __init__(self, tmp: Path, password: str | None = None):
        bin_dir = tmp / "bin"
        bin_dir.mkdir()
        (bin_dir / "sudo").write_text(SUDO)
        (bin_dir / "sudo").chmod(0o755)
        self.sudo_log = tmp / "sudo.log"
        self.sudo_log.write_text("")
        self.env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "SUDO_LOG": str(self.sudo_log),
                    "SUDO_PASSWORD": password or "", "HOME": str(tmp), "LANG": "C"}
        self.sessions: list[str] = []
        self.key = paramiko.Ed25519Key.from_private_key_file(_write_key(tmp / "server_key"))
        self.client_key = _write_key(tmp / "client_key")
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.port = self.listener.getsockname()[1]
        self.known_hosts = tmp / "known_hosts"
        self.known_hosts.write_text(f"[127.0.0.1]:{self.port} {self.key.get_name()} {self.key.get_base64()}\n")
        self.transports: list[paramiko.Transport] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def sudos(self) -> list[str]:
        """sudo's starts so far, each its arguments."""
        return self.sudo_log.read_text().splitlines()

    def host(self, host, password: str | None = None):
        """`host` (an inventory Host) reached here."""
        return dataclasses.replace(host, address="127.0.0.1", ssh=dataclasses.replace(
            host.ssh, port=self.port, identity=self.client_key, known_hosts=self.known_hosts,
            sudo_password=password))

    def close(self):
        self.listener.close()
        for t in self.transports:
            t.close()

    def _serve(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            t = paramiko.Transport(conn)
            t.add_server_key(self.key)
            t.start_server(server=_Welcome(self))
            self.transports.append(t)

    def execute(self, chan, command: str):
        proc = subprocess.Popen(["sh", "-c", command], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=self.env, cwd=self.env["HOME"])

        def feed():
            try:
                while data := chan.recv(65536):
                    proc.stdin.write(data)
                    proc.stdin.flush()
            except (OSError, EOFError):
                pass
            finally:
                try:
                    proc.stdin.close()
                except OSError:
                    pass

        def pump(stream, send):
            try:
                while data := os.read(stream.fileno(), 65536):
                    send(data)
            except (OSError, EOFError):
                pass
            finally:
                stream.close()  # as sshd: a closed channel leaves the writer a broken pipe
        threads = [threading.Thread(target=feed, daemon=True),
                   threading.Thread(target=pump, args=(proc.stdout, chan.sendall), daemon=True),
                   threading.Thread(target=pump, args=(proc.stderr, chan.sendall_stderr), daemon=True)]
        for t in threads:
            t.start()
        threads[1].join()
        threads[2].join()
        code = proc.wait()
        code = 128 - code if code < 0 else code  # killed by a signal: as a shell says it
        try:
            chan.send_exit_status(code)
            chan.shutdown_write()
            chan.close()
        except (OSError, EOFError):
            pass


def _write_key(path: Path) -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    path.write_bytes(Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()))
    return str(path)

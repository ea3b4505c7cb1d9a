"""The one module that talks SSH.

A `Remote` is one host's connection for a whole run: host keys verified against the
inventory's known_hosts, commands given as argv and quoted by construction, root work
through `sudo -n`, files streamed to a root command and moved into place atomically.
"""
from __future__ import annotations

import functools
import os
import socket
import threading
from pathlib import Path

import paramiko
from fabric import Connection

from kubefab import reasons
from kubefab.model import Host
from kubefab.remote.transport import Connect, HostKeyError, Interrupted, RemoteError, Result, checked, command_line

__all__ = ["HostKeyError", "Remote", "RemoteError", "Result", "ssh"]


def known_hosts_path(host: Host) -> Path:
    return host.ssh.known_hosts or Path.home() / ".ssh" / "known_hosts"


def _key_id(hostname: str, port: int) -> str:
    return hostname if port == 22 else f"[{hostname}]:{port}"


class _RejectUnknown(paramiko.MissingHostKeyPolicy):
    def __init__(self, host: Host):
        self.host = host

    def missing_host_key(self, client, hostname, key):
        port = self.host.ssh.port
        raise HostKeyError(
            f"host key of {self.host.name} ({_key_id(hostname, port)}) is not in "
            f"{known_hosts_path(self.host)}; inspect it with "
            f"`ssh-keyscan -p {port} {hostname} | ssh-keygen -lf -`, then add it there "
            f"or re-run with --accept-new-host-keys"
        )


_known_hosts_lock = threading.Lock()


class _AcceptNew(paramiko.MissingHostKeyPolicy):
    """OpenSSH's accept-new: record an unknown key; a changed key is still refused."""

    def __init__(self, host: Host):
        self.host = host

    def missing_host_key(self, client, hostname, key):
        path = known_hosts_path(self.host)
        line = f"{_key_id(hostname, self.host.ssh.port)} {key.get_name()} {key.get_base64()}\n"
        with _known_hosts_lock:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "ab+") as fh:  # appends; reads to see how the file ends
                fh.seek(0, os.SEEK_END)
                if fh.tell():
                    fh.seek(-1, os.SEEK_END)
                    if fh.read(1) != b"\n":  # a last line without its newline
                        line = "\n" + line
                fh.write(line.encode())


class Remote:
    """One host, one SSH connection, reused for every command of a run."""

    def __init__(self, host: Host, *, accept_new: bool = False, timeout: float = 10):
        self.host = host
        kwargs = {"allow_agent": True, "look_for_keys": host.ssh.identity is None}
        if host.ssh.identity:
            kwargs["key_filename"] = str(host.ssh.identity)
        self.cxn = Connection(host.address, user=host.ssh.user, port=host.ssh.port,
                              connect_timeout=timeout, connect_kwargs=kwargs)
        client = self.cxn.client
        path = known_hosts_path(host)
        if path.exists():
            client.load_host_keys(str(path))
        client.set_missing_host_key_policy(_AcceptNew(host) if accept_new else _RejectUnknown(host))

    def open(self) -> "Remote":
        where = f"{self.host.ssh.user}@{self.host.address}:{self.host.ssh.port}"
        try:
            self.cxn.open()
        except HostKeyError:
            raise
        except paramiko.BadHostKeyException as e:
            raise HostKeyError(
                f"host key of {self.host.name} ({where}) CHANGED: got {e.key.get_name()} "
                f"{e.key.fingerprint}, {known_hosts_path(self.host)} has another; "
                f"if the host was rebuilt, remove the old line with "
                f"`ssh-keygen -R {_key_id(self.host.address, self.host.ssh.port)} "
                f"-f {known_hosts_path(self.host)}`") from None
        except paramiko.PasswordRequiredException:
            keys = " or ".join(self.keys()) or "the key"
            raise RemoteError(f"ssh {where}: {keys} is passphrase-protected; add it to ssh-agent") from None
        except paramiko.AuthenticationException:
            raise RemoteError(f"ssh {where}: {reasons.of_auth(self.host.ssh.user, self.keys())}") from None
        except (OSError, socket.timeout) as e:
            if getattr(e, "filename", None):  # the key file itself: missing or unreadable
                raise RemoteError(f"ssh {where}: cannot read {e.filename}: {e.strerror}") from None
            raise RemoteError(f"ssh {where}: "
                              f"{reasons.of_connect(e, self.host.address, self.host.ssh.port)}") from None
        except (paramiko.SSHException, EOFError) as e:
            if self.handshaken():  # paramiko re-raises a key-loading error when every login failed
                raise RemoteError(f"ssh {where}: {reasons.of_auth(self.host.ssh.user, self.keys())}") from None
            raise RemoteError(f"ssh {where}: SSH handshake failed ({e or type(e).__name__})") from None
        self.no_delay()
        return self

    def no_delay(self) -> None:
        """Send our packets at once (TCP_NODELAY). A command is a few small packets each
        way; with Nagle's algorithm on, one of ours waits for the ACK sshd delays (40 ms
        on Linux): `true` took 44 ms a command on a lab host, 3 ms with this."""
        transport = self.cxn.client.get_transport()
        sock = getattr(transport, "sock", None)
        if isinstance(sock, socket.socket) and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def handshaken(self) -> bool:
        """Whether the server's key was verified: what failed after that is the login."""
        transport = self.cxn.client.get_transport()
        return transport is not None and getattr(transport, "host_key", None) is not None \
            and not transport.is_authenticated()

    def keys(self) -> list[str]:
        return reasons.keys_tried(self.host.ssh.identity)

    def close(self) -> None:
        self.cxn.close()

    # -- commands ------------------------------------------------------------------
    def run(self, argv: list[str], *, sudo: bool = False, stdin: bytes | None = None,
            check: bool = True, timeout: float | None = 300, cancel: threading.Event | None = None) -> Result:
        """Run argv on the host (as root with sudo=True); no shell parses our values.
        With `cancel`: abandoned (the channel closed) within CANCEL_EVERY of it being set."""
        command = command_line(argv, sudo)
        transport = self.cxn.client.get_transport()
        if transport is None or not transport.is_active():
            raise RemoteError(f"{argv[0]}: not connected to {self.host.name}")
        try:
            chan = transport.open_session()
            chan.settimeout(timeout)
            chan.exec_command(command)
            if stdin:
                chan.sendall(stdin)
            chan.shutdown_write()
            if cancel is not None:
                _wait(chan, cancel, timeout)
            stdout, stderr = _drain(chan)
            code = chan.recv_exit_status()
        except (OSError, socket.timeout, paramiko.SSHException, EOFError) as e:
            raise RemoteError(f"{argv[0]}: lost the connection ({e or type(e).__name__})") from None
        result = Result(command, code, stdout.decode(errors="replace"), stderr.decode(errors="replace"),
                        self.host.ssh.user)
        return checked(result, argv, check)


CANCEL_EVERY = 0.25  # seconds between looks at the cancel event while a command runs


def _wait(chan, cancel: threading.Event, timeout: float | None) -> None:
    """Until the command ends (its exit status is in), the run is cancelled (Interrupted:
    the channel is closed, the command left to the host) or `timeout` passes. Only this
    process looks, every CANCEL_EVERY: the host's command runs undisturbed."""
    waited = 0.0
    while not chan.exit_status_ready():
        if cancel.wait(CANCEL_EVERY):
            chan.close()
            raise Interrupted()
        waited += CANCEL_EVERY
        if timeout is not None and waited >= timeout:
            return  # the reads below time out as before


def _drain(chan) -> tuple[bytes, bytes]:
    # Our commands print little on stderr, so reading stdout first cannot stall on a
    # full stderr window.
    return chan.makefile("rb").read(), chan.makefile_stderr("rb").read()


def ssh(*, accept_new: bool = False, timeout: float = 10) -> Connect:
    """A Fleet's `connect`: one SSH Remote per host."""
    return functools.partial(Remote, accept_new=accept_new, timeout=timeout)

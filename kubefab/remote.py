"""The one module that talks SSH.

A `Remote` is one host's connection for a whole run: host keys verified against the
inventory's known_hosts, commands given as argv and quoted by construction, root work
through `sudo -n`, files uploaded over SFTP and moved into place atomically.
"""
from __future__ import annotations

import os
import shlex
import socket
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path

import paramiko
from fabric import Connection

from .model import Host

BACKUP_DIR = "/var/lib/kubefab/backup"


class RemoteError(Exception):
    """A host could not be reached or a command on it failed; the message says why."""


class HostKeyError(RemoteError):
    pass


@dataclass(frozen=True)
class Result:
    command: str
    exit_code: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    def why(self) -> str:
        """The last lines a failed command printed, for a one-line reason."""
        text = (self.stderr.strip() or self.stdout.strip()).splitlines()
        return " | ".join(text[-3:]) or f"exit code {self.exit_code}"


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
        except paramiko.AuthenticationException as e:
            raise RemoteError(f"ssh {where}: authentication failed ({e})") from None
        except (OSError, socket.timeout, paramiko.SSHException, EOFError) as e:
            raise RemoteError(f"ssh {where}: {e or type(e).__name__}") from None
        return self

    def close(self) -> None:
        self.cxn.close()

    # -- commands ------------------------------------------------------------------
    def run(self, argv: list[str], *, sudo: bool = False, stdin: bytes | None = None,
            check: bool = True, timeout: float | None = 300) -> Result:
        """Run argv on the host (as root with sudo=True); no shell parses our values."""
        command = shlex.join((["sudo", "-n", "--"] if sudo else []) + list(argv))
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
            stdout, stderr = _drain(chan)
            code = chan.recv_exit_status()
        except (OSError, socket.timeout, paramiko.SSHException, EOFError) as e:
            raise RemoteError(f"{argv[0]}: lost the connection ({e or type(e).__name__})") from None
        result = Result(command, code, stdout.decode(errors="replace"), stderr.decode(errors="replace"))
        if check and not result.ok:
            raise RemoteError(f"{shlex.join(argv[:3])}{' ...' if len(argv) > 3 else ''} failed: "
                              f"{result.why()}")
        return result

    def script(self, text: str, *args: str, **kwargs) -> Result:
        """A POSIX sh script as root, its values passed as positional arguments."""
        return self.run(["sh", "-c", text, "sh", *args], sudo=True, **kwargs)

    # -- files ---------------------------------------------------------------------
    def install(self, files) -> None:
        """Put each File in place as root: SFTP to a private temp file, then one root
        command copies it beside its target and renames it over (atomic), keeping the
        previous version under BACKUP_DIR."""
        if not files:
            return
        sftp = self.cxn.sftp()
        staged, args = f"/tmp/.kubefab-{uuid.uuid4().hex}", []
        sftp.mkdir(staged, 0o700)
        for i, f in enumerate(files):
            src = f"{staged}/{i}"
            with sftp.open(src, "wb") as fh:  # a buffer per file: threads never share one
                fh.chmod(0o600)
                fh.write(f.content.encode())
            args += [src, f.path, format(f.mode, "o"), f.owner, f.group]
        self.script(_INSTALL, staged, BACKUP_DIR, *args)

    def read(self, paths: list[str]) -> dict[str, str | None]:
        """The current text of some files (None where absent), in one round trip."""
        if not paths:
            return {}
        out = self.script(_READ, *paths).stdout.split("\0")
        return {p: (None if out[i] == "-" else out[i][1:]) for i, p in enumerate(paths)}


def _drain(chan) -> tuple[bytes, bytes]:
    # Our commands print little on stderr, so reading stdout first cannot stall on a
    # full stderr window.
    return chan.makefile("rb").read(), chan.makefile_stderr("rb").read()


_INSTALL = r"""
set -eu
staged=$1 backup=$2; shift 2
while [ $# -gt 0 ]; do
  src=$1 dst=$2 mode=$3 owner=$4 group=$5; shift 5
  dir=$(dirname "$dst"); new="$dir/.$(basename "$dst").kubefab-new"
  mkdir -p "$dir"
  install -m "$mode" -o "$owner" -g "$group" "$src" "$new"
  if [ -e "$dst" ]; then
    mkdir -p "$backup$dir" && chmod 700 "$backup" && cp -p "$dst" "$backup$dst"
  fi
  mv -f "$new" "$dst"
done
rm -rf "$staged"
"""

# Each file as "+<content>" or "-", NUL-separated (our files hold no NUL).
_READ = r"""
for p in "$@"; do
  if [ -f "$p" ]; then printf '+'; cat "$p"; else printf '-'; fi; printf '\0'
done
"""


def local_user() -> str:
    """Who runs kubefab, for the cluster lock."""
    return f"{os.environ.get('USER') or os.getuid()}@{socket.gethostname()}"

"""Host keys, verified as OpenSSH does: against one known_hosts file, read once per run
and shared by every connection of it (bastions too), an unknown key refused (or, with
accept-new, recorded and shown with its type and SHA256 fingerprint, as OpenSSH says
"Permanently added"), a changed key always refused."""
from __future__ import annotations

import os
import threading
from pathlib import Path

import paramiko

from kubefab.remote.transport import HostKeyError

DEFAULT = Path("~/.ssh/known_hosts")


def key_id(hostname: str, port: int) -> str:
    """The name known_hosts files a key under: the host, or [host]:port."""
    return hostname if port == 22 else f"[{hostname}]:{port}"


class KnownHosts:
    """One known_hosts file for a whole run."""

    def __init__(self, path: Path | None, accept_new: bool = False, say=None):
        self.path = Path(path or DEFAULT).expanduser()
        self.accept_new, self.say = accept_new, say
        self._keys: paramiko.HostKeys | None = None
        self._lock = threading.Lock()

    def keys(self) -> paramiko.HostKeys:
        """The file's keys, read on first use only."""
        with self._lock:
            if self._keys is None:
                self._keys = paramiko.HostKeys()
                if self.path.exists():
                    try:
                        self._keys.load(str(self.path))
                    except (OSError, paramiko.SSHException, paramiko.hostkeys.InvalidHostKey, ValueError) as e:
                        raise HostKeyError(f"cannot read {self.path}: {e}") from None
            return self._keys

    def prime(self, client: paramiko.SSHClient, hostname: str, port: int) -> None:
        """Give `client` the keys known for this host (paramiko then prefers their type
        and refuses another key as changed); an unknown host goes to `policy()`."""
        known = self.keys().lookup(key_id(hostname, port))
        for keytype, key in (known or {}).items():
            client.get_host_keys().add(key_id(hostname, port), keytype, key)

    def policy(self, who: str) -> paramiko.MissingHostKeyPolicy:
        """What an unknown host key meets: `who` names it in messages ("azure-prd-02",
        "the bastion for azure-prd-02")."""
        return _Record(self, who) if self.accept_new else _Refuse(self, who)

    def record(self, name: str, key, who: str) -> None:
        """Append `name key` to the file (and to this run's keys), and say so."""
        line = f"{name} {key.get_name()} {key.get_base64()}\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "ab+") as fh:  # appends; reads to see how the file ends
                fh.seek(0, os.SEEK_END)
                if fh.tell():
                    fh.seek(-1, os.SEEK_END)
                    if fh.read(1) != b"\n":  # a last line without its newline
                        line = "\n" + line
                fh.write(line.encode())
            if self._keys is not None:
                self._keys.add(name, key.get_name(), key)
        said = f"added the host key of {who} ({name}) to {self.path}: {key.get_name()} {key.fingerprint}"
        (self.say or _print)(said)

    def changed(self, who: str, where: str, name: str, key) -> HostKeyError:
        return HostKeyError(
            f"host key of {who} ({where}) CHANGED: got {key.get_name()} {key.fingerprint}, {self.path} has "
            f"another; if the host was rebuilt, remove the old line with `ssh-keygen -R {name} -f {self.path}`")


def _print(text: str) -> None:
    print(text, flush=True)


class _Refuse(paramiko.MissingHostKeyPolicy):
    def __init__(self, known: KnownHosts, who: str):
        self.known, self.who = known, who

    def missing_host_key(self, client, hostname, key):
        address, _, port = hostname.strip("[").partition("]:")
        scan = f"ssh-keyscan -p {port or 22} {address}"
        raise HostKeyError(
            f"host key of {self.who} ({hostname}) is not in {self.known.path}; it offers {key.get_name()} "
            f"{key.fingerprint}: compare with `{scan} | ssh-keygen -lf -` run where you trust the network, "
            f"then add it there or re-run with --accept-new-host-keys")


class _Record(_Refuse):
    """OpenSSH's accept-new: record an unknown key; a changed key is still refused."""

    def missing_host_key(self, client, hostname, key):
        self.known.record(hostname, key, self.who)

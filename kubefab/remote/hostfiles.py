"""Files on a host, as root, over one command each: kubefab's rendered files put in
place atomically with their backups (INSTALL), files read back (READ), a root-only
file's bytes fetched or put (FETCH, PUT; etcd snapshots). Contents travel over the
command's stdin, never on a command line, never through a file the login user could
read, never in /tmp."""
from __future__ import annotations

import base64
import hashlib
import io
import tarfile

from kubefab.layout import BACKUP_DIR, BACKUPS, LAST_RUN, LOCK_DIR
from kubefab.remote.lease import LockLost
from kubefab.remote.script import HostScript, Part
from kubefab.remote.transport import Connection, RemoteError, Result

INSTALL = HostScript("install", what="writing files", ok=(0, 4))  # 4: the lock is not the run's
READ = HostScript("read", what="reading files")
FETCH = HostScript("fetch", what="reading a file")
PUT = HostScript("put", what="writing a file")
STAGING = ".kubefab-new"  # the folder beside a target its new version is written in (install.sh's)


def install(cxn: Connection, files, run: str = "", keep: int = BACKUPS, holder: str | None = None) -> None:
    """Put each File in place as root, in one command: the contents go over its stdin (a
    tar stream), which one tar writes into their folders' staging folders with their
    modes, each then renamed over its target (atomic; one `mv` per folder). The previous version joins the `keep` newest under
    BACKUP_DIR; LAST_RUN lists what `run` replaced or made (for rollback). With a
    `holder` (the run's lock), nothing is written unless the host's lock is its:
    LockLost names who holds it."""
    if files:
        part, stdin = install_part(files, run, keep, holder)
        check_lock(cxn, INSTALL.run(cxn, *part.args, stdin=stdin, what=part.what))


def install_part(files, run: str = "", keep: int = BACKUPS, holder: str | None = None) -> tuple[Part, bytes]:
    """install() as a part of a batch (kubefab.remote.script.together), and its stdin;
    its answer goes to check_lock."""
    args = []
    for f in by_folder(files):
        args += [f.path, format(f.mode, "o"), f.owner, f.group, "secret" if f.secret else "", " ".join(f.restarts)]
    lock = (LOCK_DIR, holder) if holder else ("", "")
    return (INSTALL.part(BACKUP_DIR, str(keep), LAST_RUN, run, *lock, *args,
                         what=f"writing {len(files)} file{'s' if len(files) != 1 else ''}"),
            archive([(f.path, f.content, f.mode) for f in files]))


def check_lock(cxn: Connection, answer: Result) -> None:
    """INSTALL's or ACTIVATE's answer: LockLost when the host's lock was not the run's (nothing
    written or started)."""
    if answer.exit_code == 4:
        raise LockLost(cxn.host.name, answer.stdout.strip() or "nobody: the lock was removed")


def read(cxn: Connection, paths: list[str]) -> dict[str, str | None]:
    """The current text of some files (None where absent), in one round trip."""
    if not paths:
        return {}
    out = READ.run(cxn, *paths).stdout.split("\0")
    return {p: (None if out[i] == "-" else out[i][1:]) for i, p in enumerate(paths)}


def fetch(cxn: Connection, path: str) -> bytes:
    """A root-only file's bytes (binary too: base64 on the wire, since a transport's
    stdout is text), checked against the sha256 the host computed."""
    out = FETCH.run(cxn, path, what=f"reading {path}").stdout
    digest, _, body = out.partition("\n")
    data = base64.b64decode(body)
    if hashlib.sha256(data).hexdigest() != digest.strip():
        raise RemoteError(f"reading {path}: the copy's sha256 differs from the host's ({digest.strip()[:16]}...)")
    return data


def put(cxn: Connection, path: str, data: bytes) -> None:
    """Bytes into a root-only file (0600; its folder made 0700), over stdin, checked by
    sha256 before it is renamed into place."""
    PUT.run(cxn, path, hashlib.sha256(data).hexdigest(), stdin=data, what=f"writing {path}")


def by_folder(files, path=lambda f: f.path) -> list:
    """The files, each folder's together (otherwise in their order): install.sh renames a
    run of files in one folder with one `mv`."""
    return sorted(files, key=lambda f: path(f).rpartition("/")[0])


def archive(files) -> bytes:
    """(path, content, mode) each as a tar stream of their temp names (temp_name), root's,
    with their modes: what INSTALL unpacks from its stdin, in place."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for path, content, mode in files:
            data = content.encode()
            member = tarfile.TarInfo(temp_name(path))
            member.size, member.mode, member.mtime = len(data), mode, 0  # tar -m: written now
            tar.addfile(member, io.BytesIO(data))
    return out.getvalue()


def temp_name(path: str) -> str:
    """The name a file is written under before the rename, in its folder's staging folder,
    as install.sh names it: /etc/a.conf -> /etc/.kubefab-new/a.conf."""
    folder, _, name = path.rpartition("/")
    return f"{folder}/{STAGING}/{name}"

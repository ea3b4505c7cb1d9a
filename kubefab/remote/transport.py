"""The seam between orchestration and SSH: the few things kubefab does on a host.

`Connection` is one host's connection for a whole run. `Shell` builds the file
operations (install, read) and root scripts on top of the one primitive a transport
supplies: `run` (an argv on the host, with bytes for its stdin).
remote.Remote is the SSH transport; the tests drive a fake host through the same
`Shell`, so they exercise the scripts and parsing kubefab really sends.

No fabric or paramiko here: the fake and the pure modules import this freely."""
from __future__ import annotations

import base64
import hashlib
import io
import shlex
import tarfile
import uuid
from dataclasses import dataclass
from typing import Callable, Protocol

from kubefab import reasons
from kubefab.layout import BACKUP_DIR, BACKUPS, LAST_RUN, STAGE_DIR
from kubefab.model import Host


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
    user: str = ""  # the login user, for "sudo asks for a password for core"

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    def why(self) -> str:
        """Why it failed, in one line: a known cause (reasons.from_output), else the
        last lines it printed."""
        return reasons.of_command(self.stderr, self.stdout, self.exit_code, self.user)


class Connection(Protocol):
    host: Host

    def open(self) -> "Connection": ...

    def close(self) -> None: ...

    def run(self, argv: list[str], *, sudo: bool = False, stdin: bytes | None = None,
            check: bool = True, timeout: float | None = 300) -> Result: ...

    def script(self, text: str, *args: str, **kwargs) -> Result: ...

    def install(self, files, run: str = "", keep: int = BACKUPS) -> None: ...

    def read(self, paths: list[str]) -> dict[str, str | None]: ...

    def fetch(self, path: str) -> bytes: ...

    def put(self, path: str, data: bytes) -> None: ...


Connect = Callable[[Host], Connection]  # how a Fleet gets one host's connection


def command_line(argv: list[str], sudo: bool) -> str:
    """What goes over the wire: argv quoted by construction, root through `sudo -n`."""
    return shlex.join((["sudo", "-n", "--"] if sudo else []) + list(argv))


def checked(result: Result, argv: list[str], check: bool, what: str | None = None) -> Result:
    """The result, or (with check) a RemoteError naming the command (`what`, else its
    first words) and why it failed; a script is named, never quoted into a reason."""
    if check and not result.ok:
        if what is None:
            shown = argv[:2] if argv[:2] == ["sh", "-c"] else argv[:3]
            what = f"{shlex.join(shown)}{' ...' if len(argv) > len(shown) else ''}"
        raise RemoteError(f"{what} failed: {result.why()}")
    return result


class Shell:
    """script, install and read for any transport that has `run`."""

    def run(self, argv, *, sudo=False, stdin=None, check=True, timeout=300) -> Result:
        raise NotImplementedError

    def script(self, text: str, *args: str, what: str | None = None, check: bool = True,
               **kwargs) -> Result:
        """A POSIX sh script as root, its values passed as positional arguments; `what`
        names it in a failure's reason."""
        argv = ["sh", "-c", text, "sh", *args]
        return checked(self.run(argv, sudo=True, check=False, **kwargs), argv, check, what)

    def install(self, files, run: str = "", keep: int = BACKUPS) -> None:
        """Put each File in place as root, in one command: the contents go over its
        stdin (a tar stream: never a file the login user could read, never in /tmp) into
        a root-only folder under STAGE_DIR, each is copied beside its target and renamed
        over it (atomic). The previous version joins the `keep` newest under BACKUP_DIR;
        LAST_RUN lists what `run` replaced or made (for fab rollback)."""
        if not files:
            return
        args = []
        for f in files:
            args += [f.path, format(f.mode, "o"), f.owner, f.group, "secret" if f.secret else "",
                     " ".join(f.restarts)]
        stage = f"{STAGE_DIR}/{uuid.uuid4().hex[:12]}"  # one entry per run; the lock clears dead ones
        self.script(INSTALL, stage, BACKUP_DIR, str(keep), LAST_RUN, run, *args,
                    stdin=archive([f.content for f in files]),
                    what=f"writing {len(files)} file{'s' if len(files) != 1 else ''}")

    def read(self, paths: list[str]) -> dict[str, str | None]:
        """The current text of some files (None where absent), in one round trip."""
        if not paths:
            return {}
        out = self.script(READ, *paths).stdout.split("\0")
        return {p: (None if out[i] == "-" else out[i][1:]) for i, p in enumerate(paths)}

    def fetch(self, path: str) -> bytes:
        """A root-only file's bytes (binary too: base64 on the wire, since a transport's
        stdout is text), checked against the sha256 the host computed."""
        out = self.script(FETCH, path, what=f"reading {path}").stdout
        digest, _, body = out.partition("\n")
        data = base64.b64decode(body)
        if hashlib.sha256(data).hexdigest() != digest.strip():
            raise RemoteError(f"reading {path}: the copy's sha256 differs from the host's ({digest.strip()[:16]}...)")
        return data

    def put(self, path: str, data: bytes) -> None:
        """Bytes into a root-only file (0600; its folder made 0700), over stdin, checked
        by sha256 before it is renamed into place."""
        self.script(PUT, path, hashlib.sha256(data).hexdigest(), stdin=data, what=f"writing {path}")


def archive(contents: list[str]) -> bytes:
    """contents as a tar stream of members 0, 1, ... (root's, mode 0600): what INSTALL
    unpacks from its stdin."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for i, content in enumerate(contents):
            data = content.encode()
            member = tarfile.TarInfo(str(i))
            member.size, member.mode, member.mtime = len(data), 0o600, 0
            tar.addfile(member, io.BytesIO(data))
    return out.getvalue()


# Arguments: STAGE BACKUP_DIR KEEP LAST_RUN RUN, then DST MODE OWNER GROUP SECRET
# RESTARTS per file; stdin: archive(). A replaced file's previous version becomes
# BACKUP_DIR<DST>.1 (root-only 0600 for a secret), older ones shift up to .KEEP and the
# rest are removed here, so an old token does not outlive KEEP rotations. LAST_RUN starts
# afresh for a new RUN, then gets a line per file before it is replaced:
# replaced|created DST MODE OWNER GROUP SECRET RESTARTS (tab-separated; the old mode/owner).
# Whatever stops it (a failed write, the connection dropped by a killed kubefab: SIGHUP
# or EOF), the trap removes the stage and a half-written temp file; only SIGKILL leaves
# the stage, which the next run's lock clears (CLEAR_STAGE).
INSTALL = r"""
set -eu
stage=$1 backup=$2 keep=$3 manifest=$4 run=$5; shift 5
new=
trap 'rm -rf -- "$stage" ${new:+"$new"}' EXIT
trap 'exit 129' HUP INT TERM PIPE
umask 077
mkdir -p "${stage%/*}" && chmod 700 "${stage%/*}"
mkdir "$stage"
tar -x -f - -C "$stage"
if [ "$(head -n 1 "$manifest" 2>/dev/null)" != "run	$run" ]; then
  printf 'run\t%s\n' "$run" > "$manifest.new" && mv -f "$manifest.new" "$manifest"
fi
umask 022  # folders made for targets are as they always were; modes are set per file
i=0
while [ $# -gt 0 ]; do
  dst=$1 mode=$2 owner=$3 group=$4 secret=$5 restarts=$6; shift 6
  dir=${dst%/*}; dir=${dir:-/}; new="$dir/.${dst##*/}.kubefab-new"  # dst is absolute: no forks
  [ -d "$dir" ] || mkdir -p "$dir"
  install -m "$mode" -o "$owner" -g "$group" "$stage/$i" "$new"
  if [ -e "$dst" ]; then
    b=$backup$dst
    mkdir -p "${b%/*}" && chmod 700 "$backup"
    rm -f -- "$b"  # the one unnumbered copy from before backups were bounded
    for old in "$b".*; do
      n=${old##*.}
      case $n in ''|*[!0-9]*) continue ;; esac
      [ "$old" = "$b.$n" ] || continue
      [ "$n" -lt "$keep" ] || rm -f -- "$old"
    done
    n=$((keep - 1))
    while [ "$n" -ge 1 ]; do
      [ ! -e "$b.$n" ] || mv -f -- "$b.$n" "$b.$((n + 1))"
      n=$((n - 1))
    done
    if [ -n "$secret" ]; then (umask 077 && cp -- "$dst" "$b.1"); else cp -p -- "$dst" "$b.1"; fi
    printf 'replaced\t%s\t%s\t%s\t%s\n' "$dst" "$(stat -c '%a	%U	%G' -- "$dst")" "$secret" "$restarts" >> "$manifest"
  else
    printf 'created\t%s\t\t\t\t%s\t%s\n' "$dst" "$secret" "$restarts" >> "$manifest"
  fi
  mv -f "$new" "$dst"
  new= i=$((i + 1))
done
"""

# Each file as "+<content>" or "-", NUL-separated (our files hold no NUL).
READ = r"""
for p in "$@"; do
  if [ -f "$p" ]; then printf '+'; cat "$p"; else printf '-'; fi; printf '\0'
done
"""

# The file's sha256 on the first line, then the file in base64.
FETCH = r"""
set -eu
sha256sum -- "$1" | cut -d ' ' -f 1
base64 -- "$1"
"""

# Arguments: DST SHA256; stdin: the bytes. A part file beside DST, checked, renamed.
PUT = r"""
set -eu
umask 077
mkdir -p -- "${1%/*}"
trap 'rm -f -- "$1.part"' EXIT
cat > "$1.part"
sum=$(sha256sum -- "$1.part" | cut -d ' ' -f 1)
[ "$sum" = "$2" ] || { echo "$1: the copy's sha256 is $sum, not the sent file's $2" >&2; exit 1; }
mv -f -- "$1.part" "$1"
"""

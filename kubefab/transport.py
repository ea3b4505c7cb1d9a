"""The seam between orchestration and SSH: the few things kubefab does on a host.

`Connection` is one host's connection for a whole run. `Shell` builds the file
operations (install, read) and root scripts on top of two primitives a transport
supplies: `run` (an argv on the host) and `stage` (private copies of some contents).
remote.Remote is the SSH transport; the tests drive a fake host through the same
`Shell`, so they exercise the scripts and parsing kubefab really sends.

No fabric or paramiko here: the fake and the pure modules import this freely."""
from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Callable, Protocol

from . import reasons
from .layout import BACKUP_DIR
from .model import Host


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

    def install(self, files) -> None: ...

    def read(self, paths: list[str]) -> dict[str, str | None]: ...


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
    """script, install and read for any transport that has run and stage."""

    def run(self, argv, *, sudo=False, stdin=None, check=True, timeout=300) -> Result:
        raise NotImplementedError

    def stage(self, contents: list[str]) -> tuple[str, list[str]]:
        """Copy contents to a fresh private folder on the host (as the login user, mode
        0600); returns the folder and one path per content."""
        raise NotImplementedError

    def script(self, text: str, *args: str, what: str | None = None, check: bool = True,
               **kwargs) -> Result:
        """A POSIX sh script as root, its values passed as positional arguments; `what`
        names it in a failure's reason."""
        argv = ["sh", "-c", text, "sh", *args]
        return checked(self.run(argv, sudo=True, check=False, **kwargs), argv, check, what)

    def install(self, files) -> None:
        """Put each File in place as root: staged privately, then one root command
        copies it beside its target and renames it over (atomic), keeping the previous
        version under BACKUP_DIR."""
        if not files:
            return
        staged, paths = self.stage([f.content for f in files])
        args = []
        for src, f in zip(paths, files):
            args += [src, f.path, format(f.mode, "o"), f.owner, f.group]
        self.script(INSTALL, staged, BACKUP_DIR, *args)

    def read(self, paths: list[str]) -> dict[str, str | None]:
        """The current text of some files (None where absent), in one round trip."""
        if not paths:
            return {}
        out = self.script(READ, *paths).stdout.split("\0")
        return {p: (None if out[i] == "-" else out[i][1:]) for i, p in enumerate(paths)}


# Arguments: STAGED BACKUP_DIR, then SRC DST MODE OWNER GROUP per file.
INSTALL = r"""
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
READ = r"""
for p in "$@"; do
  if [ -f "$p" ]; then printf '+'; cat "$p"; else printf '-'; fi; printf '\0'
done
"""

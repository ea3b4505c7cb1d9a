"""The seam between orchestration and SSH: one host's `Connection` for a whole run, and
the one primitive a transport supplies, `run` (an argv on the host, with bytes for its
stdin, interruptible by the run's cancel event). Everything else kubefab does on a host
is built on it: host scripts (kubefab.remote.script), files (kubefab.remote.hostfiles).
kubefab.remote.ssh is the SSH transport; the tests drive a fake host through the same
seam, so they exercise the scripts and parsing kubefab really sends.

No fabric or paramiko here: the fake and the pure modules import this freely."""
from __future__ import annotations

import shlex
import threading
from dataclasses import dataclass
from typing import Callable, Protocol

from kubefab import reasons
from kubefab.model import Host


class RemoteError(Exception):
    """A host could not be reached or a command on it failed; the message says why."""


class HostKeyError(RemoteError):
    pass


class Interrupted(Exception):
    """The operator pressed Ctrl-C; hosts stop between steps (or a blocking wait stops)."""


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
            check: bool = True, timeout: float | None = 300,
            cancel: threading.Event | None = None) -> Result:
        """argv on the host (as root with sudo). `cancel` set while it runs: the command
        is abandoned within a second and Interrupted raised (a wait that blocks on the
        host still hears Ctrl-C)."""


Connect = Callable[[Host], Connection]  # how a Fleet gets one host's connection


SUDO = ("sudo", "-n", "--")  # root without a password: fails at once where sudo would ask
SUDO_PASSWORD = ("sudo", "-S", "-k", "-p", "", "--")  # the password from stdin's first line, asked every time


def command_line(argv: list[str], sudo: bool, password: bool = False) -> str:
    """What goes over the wire: argv quoted by construction, root through sudo (with
    `password`: sudo reads it from the command's stdin, never from here)."""
    return shlex.join(([*(SUDO_PASSWORD if password else SUDO)] if sudo else []) + list(argv))


def checked(result: Result, argv: list[str], check: bool, what: str | None = None) -> Result:
    """The result, or (with check) a RemoteError naming the command (`what`, else its
    first words) and why it failed; a script is named, never quoted into a reason."""
    if check and not result.ok:
        if what is None and argv[:2] == ["sh", "-c"]:  # a script: by its name ($0), never its text
            what = argv[3] if len(argv) > 3 else "sh -c"
        elif what is None:
            what = f"{shlex.join(argv[:3])}{' ...' if len(argv) > 3 else ''}"
        raise RemoteError(f"{what} failed: {result.why()}")
    return result

"""The one shape of a host script: a POSIX sh file in kubefab/remote/scripts (hosts need
no Python), run as root with its values as arguments ("$@", never pasted into the text),
under a name of its own ($0: `kubefab-install`, which the host's process list, a
failure's reason and the fake host all use), and read by one function. Every script is
run by the real sh in the pure tests (tests/unit/test_host_scripts.py).

Scripts that follow each other on a host's path go in one round trip (`together`, the
batch script): each still runs as itself, and a failure names the one that failed."""
from __future__ import annotations

import functools
import importlib.resources
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kubefab.remote.transport import Connection, RemoteError, Result

PREFIX = "kubefab-"  # $0 of every script


class HostScript:
    def __init__(self, name: str, *, what: str, read: Callable[[Result], Any] | None = None,
                 ok: tuple[int, ...] = (0,)):
        """name: the file scripts/<name>.sh; what: a failure says "<what> failed: why";
        read: turns its Result into what the caller wants (default: the Result); ok: the
        exit codes that are answers, not failures (the lease's 3: held by another run)."""
        self.name, self.what, self.ok = name, what, ok
        self.read = read or (lambda r: r)

    @functools.cached_property
    def source(self) -> str:
        """The file as written, its header comment (what it takes and does) included."""
        return (importlib.resources.files(__package__) / "scripts" / f"{self.name}.sh").read_text()

    @functools.cached_property
    def text(self) -> str:
        """What is sent: the file without its header comment (the host's process list then
        shows code, and every call is a few hundred bytes shorter)."""
        lines = self.source.splitlines(keepends=True)
        while lines and lines[0].startswith("#"):
            lines.pop(0)
        return "".join(lines)

    @property
    def program(self) -> str:
        """Its $0, how everything names it."""
        return PREFIX + self.name

    def part(self, *args: str, what: str | None = None) -> "Part":
        """This script with its arguments, as one part of a batch (`together`)."""
        return Part(self, tuple(str(a) for a in args), what)

    def argv(self, *args: str) -> list[str]:
        return ["sh", "-c", self.text, self.program, *(str(a) for a in args)]

    def run(self, cxn: Connection, *args: str, stdin: bytes | None = None, timeout: float | None = 300,
            what: str | None = None, cancel=None) -> Any:
        """Run it as root on `cxn`'s host; its answer (`read`), or RemoteError naming
        `what` (or the script's own) and why it failed."""
        kwargs = {"cancel": cancel} if cancel is not None else {}
        r = cxn.run(self.argv(*args), sudo=True, stdin=stdin, check=False, timeout=timeout, **kwargs)
        if r.exit_code not in self.ok:
            raise RemoteError(f"{what or self.what} failed: {r.why()}")
        return self.read(r)


@dataclass(frozen=True)
class Part:
    script: HostScript
    args: tuple[str, ...]
    what: str | None = None  # what its failure says (default: the script's own)


class BatchError(RemoteError):
    """A part of a batch failed; the parts before it (`done` of them) are done."""

    def __init__(self, message: str, done: int):
        super().__init__(message)
        self.done = done


BATCH = HostScript("batch", what="a batch of host scripts")
MARK = "\n\036"  # batch.sh's line after each part: "\n\036NAME CODE\n"


def together(cxn: Connection, parts: list[Part], *, stdin: bytes | None = None, timeout: float | None = 300,
             cancel=None) -> list[Any]:
    """The parts in one root command, in order, each run as itself: their answers (each
    part's `read`), or BatchError naming the first that failed and why, and how many were
    done before it. A non-zero exit ends the batch, even one that is an answer (`ok`):
    only the last part may have such an answer."""
    args = [a for p in parts for a in (p.script.name, str(len(p.args)), p.script.text, *p.args)]
    kwargs = {"cancel": cancel} if cancel is not None else {}
    r = cxn.run(BATCH.argv(*args), sudo=True, stdin=stdin, check=False, timeout=timeout, **kwargs)
    pieces = r.stdout.split(MARK)
    answers, out = [], pieces[0]
    for part, piece in zip(parts, pieces[1:] + [None]):
        if piece is None:  # the batch ended before this part did (sudo, the connection, a killed shell)
            code, rest = r.exit_code or 1, ""
        else:
            header, _, rest = piece.partition("\n")
            code = int(header.rsplit(" ", 1)[-1])
        result = Result(r.command, code, out, r.stderr, r.user)
        if code not in part.script.ok:
            raise BatchError(f"{part.what or part.script.what} failed: {result.why()}", len(answers))
        answers.append(part.script.read(result))
        out = rest
        if code:
            break
    return answers


def named(argv: list[str]) -> str | None:
    """The script an argv runs (its name, without the prefix), or None: for the fake host."""
    if argv[:2] == ["sh", "-c"] and len(argv) > 3 and argv[3].startswith(PREFIX):
        return argv[3][len(PREFIX):]
    return None

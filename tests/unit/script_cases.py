"""The table of host-script cases (tests/unit/test_host_scripts.py runs each by the real sh
and against the fake host's Python twin): a host's state before, the script's arguments
(host paths) and stdin, and what must come out: exit code, stdout, the state after.

A host's state is what both worlds can hold: files (content, mode, owner, group), the
folders no file shows (empty ones), symlinks (real sh only: the fake has none), units as
systemd knows them (enabled, active, the unit file it loaded), its clock and its faults."""
from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field, replace


@dataclass(frozen=True)
class F:
    """A file: its content, mode and owner (root: whoever runs the real sh)."""
    content: str
    mode: int = 0o644
    owner: str = "root"
    group: str = "root"


@dataclass(frozen=True)
class U:
    """A unit as systemd knows it; its file is the case's UNIT_DIR/<name>."""
    enabled: bool = False
    active: str = "inactive"
    loaded: str | None = None  # the unit file as systemd last read it (None: never loaded)


CLOCK = 1_700_000_000  # the host's clock, seconds (date +%s)


@dataclass(frozen=True)
class Host:
    files: dict[str, F] = field(default_factory=dict)
    dirs: tuple[str, ...] = ()  # folders that hold nothing a file shows (any folder may be named)
    units: dict[str, U] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)  # path -> target (real sh only)
    clock: int = CLOCK
    faults: frozenset[str] = frozenset()  # the fake's names: read-only
    journal: dict[str, tuple[str, ...]] = field(default_factory=dict)  # unit -> lines to come (real sh only:
    # "=STATE" is the unit becoming STATE, tests/unit/host_stubs/journalctl)

    def but(self, files: dict | None = None, dirs: tuple = (), units: dict | None = None,
            links: dict | None = None) -> "Host":
        """This host changed: a file (link, unit) given None is gone, others added or
        replaced; dirs added."""
        def merged(old, new):
            return {k: v for k, v in {**old, **(new or {})}.items() if v is not None}
        return replace(self, files=merged(self.files, files), dirs=(*self.dirs, *dirs),
                       units=merged(self.units, units), links=merged(self.links, links))


@dataclass(frozen=True)
class Case:
    script: str  # kubefab/remote/scripts/<script>.sh
    name: str
    args: tuple[str, ...]  # host paths: the real sh gets them under its temporary root
    before: Host = Host()
    exit: int = 0
    out: str = ""
    after: Host | None = None  # None: as before
    stdin: bytes = b""
    err: str = ""  # what stderr must hold (both worlds), if anything
    modes: dict[str, int] = field(default_factory=dict)  # folders' modes after (real sh: the fake keeps none)
    real_only: str = ""  # why the fake cannot run it
    bug: str = ""  # a bug in the real script this case shows (expected to fail there until fixed)

    @property
    def id(self) -> str:
        return f"{self.script}: {self.name}"


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def lines(*rows: str) -> str:
    """Rows of output, each ended by a newline."""
    return "".join(f"{r}\n" for r in rows)

"""The one wait, as the original's wupiao waited for the apiserver but bounded: a
deadline, a progress line every PROGRESS_EVERY seconds, Ctrl-C heard within a second,
and the looking done on the host, in one command per round trip:

- `until(poll, ...)` is the loop every wait in kubefab runs: poll(seconds) asks once,
  blocking up to `seconds`, and answers (done) or returns None (not yet);
- `on_host(cxn, look, ...)` is the poll for a thing on a host: one root command that
  blocks on the host until the thing happens or the round trip's seconds pass. A unit's
  end is awaited on its journal (`journalctl --follow`: nothing runs while nothing
  happens); anything else is looked at by the host's own loop (scripts/look.sh), never
  by a round trip per look.

Time comes from a Clock, so that the fake host's tests run on a clock of their own."""
from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TypeVar

from kubefab.remote.script import HostScript, Part
from kubefab.remote.transport import Connection, Interrupted, RemoteError, Result

T = TypeVar("T")
PROGRESS_EVERY = 5.0  # seconds between progress lines
ROUND_TRIP = 30.0  # seconds a blocking look may hold its command: Ctrl-C does not wait for it

LOOK = HostScript("look", what="looking", ok=tuple(range(256)))  # its answer is on stdout, even a failed one's
WAIT_UNIT = HostScript("wait-unit", what="waiting for a unit")


class Clock:
    """Real time: monotonic seconds, and sleeps a cancel event cuts short."""

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float, cancel: threading.Event | None = None) -> None:
        """Sleep; Interrupted at once when `cancel` is set (0 seconds: only that check)."""
        if cancel is not None:
            if cancel.wait(seconds):
                raise Interrupted()
        elif seconds > 0:
            time.sleep(seconds)


CLOCK = Clock()


class Timeout(RemoteError):
    """A wait's deadline passed; the message says what was awaited and its last answer
    (`last`)."""

    def __init__(self, message: str, last: str = ""):
        super().__init__(message)
        self.last = last


def clock_of(cxn) -> Clock:
    """The clock a connection's host keeps (the fake host's own; real time over SSH)."""
    return getattr(cxn, "clock", None) or CLOCK


def until(poll: Callable[[float], T | None], *, what: str, timeout: float | None, progress=None,
          cancel: threading.Event | None = None, clock: Clock = CLOCK, status: Callable[[], str] = lambda: "",
          pause: float = 0.0, slice: float = PROGRESS_EVERY) -> T:
    """poll(seconds) until it answers (anything but None): it may block up to `seconds`
    (at most `slice`, less near the deadline). Between polls, `pause` seconds (for a poll
    that does not block). progress("waiting for <what> (<n>s): <status()>") every
    PROGRESS_EVERY seconds; Interrupted when `cancel` is set; Timeout after `timeout`
    seconds (None: none), naming `what` and status()."""
    start = clock.monotonic()
    deadline = math.inf if timeout is None else start + timeout
    ticker = _Ticker(progress, what, status, clock, start) if progress else None
    try:
        while True:
            clock.sleep(0, cancel)
            answer = poll(max(0.0, min(slice, deadline - clock.monotonic())))
            if answer is not None:
                return answer
            now = clock.monotonic()
            if now >= deadline:
                said = status()
                raise Timeout(f"{what} not there after {timeout:.0f}s" + (f" (last answer: {said})" if said else ""),
                              said)
            if ticker:
                ticker.maybe(now)
            clock.sleep(min(pause, max(0.0, deadline - now)), cancel)
    finally:
        if ticker:
            ticker.stop()


class _Ticker:
    """Progress lines every PROGRESS_EVERY seconds, also while a poll blocks on the host:
    a thread of this process, which costs the host nothing."""

    def __init__(self, progress, what: str, status, clock: Clock, start: float):
        self.progress, self.what, self.status, self.clock, self.start = progress, what, status, clock, start
        self.next = start + PROGRESS_EVERY
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.thread = None
        if clock is CLOCK:  # a test's clock moves by itself: the loop's own look is enough
            self.thread = threading.Thread(target=self.run, name="kubefab-progress", daemon=True)
            self.thread.start()

    def run(self) -> None:
        while not self.stopped.wait(min(1.0, max(0.05, self.next - self.clock.monotonic()))):
            self.maybe(self.clock.monotonic())

    def maybe(self, now: float) -> None:
        with self.lock:
            if now < self.next or self.stopped.is_set():
                return
            self.next = now + PROGRESS_EVERY
        said = self.status()
        self.progress(f"waiting for {self.what} ({now - self.start:.0f}s)" + (f": {said}" if said else ""))

    def stop(self) -> None:
        self.stopped.set()


# -- looking on a host --------------------------------------------------------------------

@dataclass(frozen=True)
class Look:
    """What a wait asks a host: `argv` (run as root) prints the thing's state, and the
    wait ends when that is one of `done` ("exit 0": when argv exits 0, whatever it says);
    the host looks `every` seconds. A Look with a `unit` awaits that unit's ActiveState
    instead, on its journal."""
    argv: tuple[str, ...] = ()
    done: frozenset[str] = frozenset()
    every: float = 0.2
    unit: str = ""

    @classmethod
    def of_unit(cls, unit: str, done=("active", "failed")) -> "Look":
        return cls(done=frozenset(done), unit=unit)


def look_once(cxn: Connection, look: Look, seconds: float, cancel=None) -> Result:
    """One round trip: the host looks (or follows the unit's journal) for up to `seconds`
    and says the last state; exit_code and stdout are the state's command's."""
    whole = max(1, math.ceil(seconds))
    if look.unit:
        part = look_part(look, seconds)
        r = WAIT_UNIT.run(cxn, *part.args, timeout=whole + 30, cancel=cancel)
        return replace(r, stdout=r.stdout.strip())
    tries = max(1, round(seconds / look.every))
    r = LOOK.run(cxn, str(tries), f"{look.every:g}", str(whole), "|".join(sorted(look.done)), *look.argv,
                 timeout=whole + 30, cancel=cancel)
    code, _, out = r.stdout.partition("\n")
    if not r.ok or not code.isdigit():  # the look itself failed: the connection, sudo
        return r
    return replace(r, exit_code=int(code), stdout=out.strip(), stderr="")


def look_part(look: Look, seconds: float) -> Part:
    """A unit's look (Look.of_unit) for up to `seconds`, as the last part of a batch
    (kubefab.remote.script.together); its answer, stripped, is look_once's."""
    return WAIT_UNIT.part(look.unit, str(max(1, math.ceil(seconds))), "|".join(sorted(look.done)))


def on_host(cxn: Connection, look: Look, *, what: str, timeout: float | None, progress=None,
            cancel: threading.Event | None = None, slice: float = PROGRESS_EVERY,
            first: Callable[[float], Result] | None = None) -> Result:
    """until() the host's answer to `look` is one of look.done; the last Result (its
    stdout the state), or Timeout naming `what` and the last answer. `slice`: the seconds
    one round trip may block on the host (longer: fewer round trips; Ctrl-C and progress
    never wait for them). `first(seconds)`: the first round trip's look, made by the
    caller (a batch that ends with it: look_part), its answer as look_once's."""
    last: list[Result] = []

    def poll(seconds: float) -> Result | None:
        r = first(seconds) if first and not last else look_once(cxn, look, seconds, cancel)
        last[:] = [r]
        return r if r.ok and r.stdout in look.done or f"exit {r.exit_code}" in look.done else None

    def status() -> str:
        return (" | ".join(last[0].stdout.splitlines()) or last[0].why()) if last else ""
    return until(poll, what=what, timeout=timeout, progress=progress, cancel=cancel, clock=clock_of(cxn),
                 status=status, slice=slice)

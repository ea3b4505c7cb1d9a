"""The cluster lock: a lease on each host, taken on all of a run's hosts or none.

On a host the lock is LOCK_DIR with `holder` (the run's id: user@machine pid, since,
run) and `expires` (seconds since the epoch by the host's own clock, so no two clocks
are ever compared). A run that was killed stops renewing, and its lock frees itself
LEASE seconds later at most.

Renewing costs the host a round trip (sudo, a shell, flock: 10-13 ms of its CPU), so a
host is renewed only when its lease needs it: RENEW_AFTER seconds after it was last
extended (taken, renewed, or by the install script, which extends it under the same
flock when it finds the lock is the run's: Renewer.extended). A run that writes a host's
files more often than that renews nothing there. Why 60 s, 10 s and 1 s: a renewal that
fails is tried again at the next look, RENEW_TICK seconds on (one that hangs is given up
after 25 s), so a renewal has 50 s to get through a busy host or a congested link before
a live run could lose its lock, and a killed run blocks the next one for a minute at
most; 10 s also bounds how late a run learns, while it waits, that its lock was taken
(20 s let a download that ended meanwhile be said installed). `fab unlock` removes an
expired lease, and a live one only with --force. The host script (scripts/lease.sh)
holds flock on LOCK_DIR.flock, so one kubefab at a time decides on a host: taking over
an expired lease is atomic too.

A holder names its process: user@machine, pid, start, and (after ';') the machine's boot
and the process's start time in clock ticks. A lock whose process ran on this machine
in this boot and is gone (`gone_here`) is free at once: a SIGKILLed run's. A run whose
lock was taken (LockLost, from the renewal or from the install and activate scripts,
which write and start nothing under another run's lock) stops before its next change:
its next file write or unit start learns it at once, a wait from the next renewal, at
most RENEW_AFTER + RENEW_TICK seconds after the lease was last extended."""
from __future__ import annotations

import os
import re
import socket
import threading
from dataclasses import dataclass

from kubefab.layout import LOCK_DIR, STAGE_DIR
from kubefab.remote import wait
from kubefab.remote.script import HostScript
from kubefab.remote.transport import Connection, RemoteError

LEASE = 60  # seconds a lock lives without renewal
RENEW_AFTER = 10  # seconds after its last extension that a host's lease is renewed
RENEW_TICK = 1  # seconds between the Renewer's looks (no round trip; a failed renewal's next try)


@dataclass(frozen=True)
class Held:
    """Someone's lock on a host: who, and seconds until its lease ends by the host's
    clock (negative: ended; None: no lease, an older kubefab's lock)."""
    holder: str
    left: int | None

    @property
    def alive(self) -> bool:
        return self.left is None or self.left > 0

    def lease(self) -> str:
        if self.left is None:
            return "no lease: an older kubefab's lock"
        return f"lease expires in {self.left}s" if self.left > 0 else f"lease expired {-self.left}s ago"


class LockLost(RemoteError):
    """This run's lock on a host is someone else's now (or nobody's): nothing more is
    written there."""

    def __init__(self, host: str, holder: str):
        self.host, self.holder = host, holder
        now = "nobody" if holder.startswith("nobody") else who(holder)
        super().__init__(f"lost the cluster lock on {host} (now held by {now}): stopped before its next change")


TAG = re.compile(r"^(?P<user>\S+)@(?P<machine>\S+) pid (?P<pid>\d+) .*; boot (?P<boot>\S+), start (?P<start>\d+)\)$")


def holder_for(user: str, pid: int, started: str, run: str) -> str:
    """This process's holder: `user@machine pid N since WHEN (run R; boot B, start T)`."""
    return (f"{user}@{socket.gethostname()} pid {pid} since {started} "
            f"(run {run}; boot {boot_id()}, start {start_ticks(pid)})")


def who(holder: str) -> str:
    """A holder as messages show it: without the boot and start tag."""
    return re.sub(r"; boot \S+, start \d+\)$", ")", holder)


def boot_id() -> str:
    try:
        with open("/proc/sys/kernel/random/boot_id") as f:
            return f.read().strip()
    except OSError:
        return "unknown"


def start_ticks(pid: int) -> str | None:
    """When a process started, in clock ticks since boot (/proc/PID/stat's 22nd field);
    None when there is no such process."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def gone_here(holder: str, machine: str | None = None, boot: str | None = None, ticks=start_ticks) -> str | None:
    """Why `holder`'s lock is free at once: its process ran on this machine in this boot and
    no longer runs (its pid is gone or is another process); None when that is not known."""
    m = TAG.match(holder)
    if not m or m["machine"] != (machine or socket.gethostname()) or m["boot"] != (boot or boot_id()):
        return None
    pid = int(m["pid"])
    if pid == os.getpid():
        return None
    if ticks(pid) == m["start"]:
        return None
    return f"its process (pid {pid} on this machine, this boot) is gone"


def parse(out: str) -> Held:
    """A script's `LEFT\\tHOLDER` line."""
    left, _, holder = out.strip("\n").partition("\t")
    return Held(holder or "unknown (no holder file)", int(left) if left.lstrip("-").isdigit() else None)


LEASE_SCRIPT = HostScript("lease", what="the kubefab lock", ok=(0, 3))  # 3: held by another run


def take(cxn: Connection, holder: str, stale: str = "") -> tuple[Held | None, Held | None]:
    """This host's lock for `holder`: (None, the expired or `stale` lease it replaced, or
    None) when taken, (who holds it, None) when refused. `stale`: a holder whose lease may
    be taken over although it runs (gone_here found its process dead)."""
    r = LEASE_SCRIPT.run(cxn, "take", LOCK_DIR, holder, str(LEASE), STAGE_DIR, stale, what="taking the kubefab lock")
    if r.exit_code == 3:
        return parse(r.stdout), None
    return None, (parse(r.stdout) if r.stdout.strip() else None)


def renew(cxn: Connection, holder: str) -> Held | None:
    """Extend this run's lease; who holds the lock now if it is not ours any more."""
    r = LEASE_SCRIPT.run(cxn, "renew", LOCK_DIR, holder, str(LEASE), timeout=(LEASE - RENEW_AFTER) / 2,
                         what="renewing the kubefab lock")
    return parse(r.stdout) if r.exit_code == 3 else None


def release(cxn: Connection, holder: str) -> None:
    """Remove this run's lock, if it still holds it."""
    LEASE_SCRIPT.run(cxn, "release", LOCK_DIR, holder, "", what="releasing the kubefab lock")


def remove(cxn: Connection, force: bool = False) -> tuple[str, Held | None]:
    """fab unlock on one host: ("removed" | "held" | "none", the lock it found)."""
    r = LEASE_SCRIPT.run(cxn, "release", LOCK_DIR, "", "force" if force else "", what="unlock")
    state, _, rest = r.stdout.strip("\n").partition("\t")
    return state, (parse(rest) if state != "none" else None)


class Renewer(threading.Thread):
    """Renews a run's lease on each of its hosts RENEW_AFTER seconds after it was last
    extended (`since`: when the lock was taken; extended(): the install script did),
    looking every RENEW_TICK seconds, until stopped; lost(host, held) when a host's lock
    is no longer the run's (removed with --force, or taken over after it expired). An
    unreachable host is tried again at the next look: it fails on its own, or its lease
    ends. Times are `clock`'s (the fake host's own in tests), each taken before the
    command that extends the lease is sent, so the host's lease ends later than reckoned."""

    def __init__(self, connections: dict[str, Connection], holder: str, lost, since: float | None = None,
                 clock: wait.Clock | None = None):
        super().__init__(name="kubefab-lease", daemon=True)
        self.connections, self.holder, self.lost = connections, holder, lost
        self.clock = clock or wait.CLOCK
        start = self.clock.monotonic() if since is None else since
        self.last = {name: start for name in connections}  # host -> when its lease was last extended
        self.stopped = threading.Event()

    def extended(self, name: str, since: float) -> None:
        """`name`'s lease was extended by a command sent at `since` (the install script's)."""
        if since > self.last.get(name, since):
            self.last[name] = since

    def due(self) -> list[str]:
        """The hosts whose lease needs renewing now."""
        now = self.clock.monotonic()
        return [name for name, last in list(self.last.items()) if now - last >= RENEW_AFTER]

    def run(self) -> None:
        while not self.stopped.wait(RENEW_TICK):
            for name in self.due():
                cxn = self.connections.get(name)
                if self.stopped.is_set():
                    return
                sent = self.clock.monotonic()
                try:
                    held = renew(cxn, self.holder)
                except RemoteError:
                    continue
                if held:
                    self.connections.pop(name, None)
                    self.last.pop(name, None)
                    self.lost(name, held)
                else:
                    self.extended(name, sent)

    def stop(self) -> None:
        self.stopped.set()
        if self.is_alive() and threading.current_thread() is not self:
            self.join()

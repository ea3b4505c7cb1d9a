"""Bringing a host's units in line with their files, so that a run stopped at any point
(killed, Ctrl-C, a host lost, a full disk, a timeout) leaves the next run able to finish:

- the restarts a change owes are recorded on the host (one file per unit under
  OWED_DIR) before any file changes or the download runs, and a unit's mark goes only
  once it restarted or started; the probe reads them back, the plan restarts them;
- the download runs without holding the SSH channel and is watched, bounded;
- restarts and starts go in the master's order (the apiserver, the target, /healthz,
  the rest), each noted as it happens so a recap after a failure says what was done.

Each step is one function of a Connection; argv lists, values as script arguments."""
from __future__ import annotations

import time

from kubefab.ops import steps
from kubefab.layout import APISERVER, BACKUPS, DOWNLOAD, DOWNLOAD_TIMEOUT, OWED_DIR
from kubefab.plan import HostPlan
from kubefab.remote import hostfiles
from kubefab.remote.script import HostScript
from kubefab.remote.transport import Connection, RemoteError

OWE = HostScript("owe", what="recording the restarts owed")
RELOAD = HostScript("reload", what="systemctl enable/daemon-reload")
RUN_DOWNLOAD = HostScript("run-download", what="starting the download")






def owe(cxn: Connection, units, why: str) -> None:
    """Record, before anything changes, that `units` must restart (`why`: the run)."""
    if units:
        OWE.run(cxn, OWED_DIR, why, *units)


def clear(cxn: Connection, units) -> None:
    """Forget the marks of units that restarted or started."""
    if units:
        cxn.run(["rm", "-f", "--", *(f"{OWED_DIR}/{u}" for u in units)], sudo=True)


def write(cxn: Connection, plan: HostPlan, run_id: str, note, progress=None, cancel=None,
          keep: int = BACKUPS) -> None:
    """Restarts owed recorded, files in place (`keep` backups of each), systemd reloaded,
    units enabled, release installed; note(what) after each."""
    owe(cxn, plan.owe, run_id)
    hostfiles.install(cxn, [w.file for w in plan.writes], run=run_id, keep=keep)
    if plan.writes:
        note(f"wrote {len(plan.writes)} files")
    if plan.daemon_reload or plan.enable:
        RELOAD.run(cxn, *plan.enable)
    if plan.enable:
        note("enabled " + ", ".join(plan.enable))
    if plan.download:
        download(cxn, DOWNLOAD_TIMEOUT + 30, progress, cancel)
        note("installed the release")


def download(cxn: Connection, timeout: float, progress=None, cancel=None) -> None:
    """Start the download unit (RUN_DOWNLOAD) without blocking, then wait on the host for
    it to be done (steps.look: often on the master, whose download every node waits for)
    and say its last journal line every 5 s. Bounded twice: the unit's TimeoutStartSec,
    and `timeout` here. A failed download keeps the previous binaries (the unit's promise)."""
    RUN_DOWNLOAD.run(cxn, DOWNLOAD, what=f"starting {DOWNLOAD}")
    every = steps.LOOK_EVERY if cxn.host.is_master else steps.LOOK_EVERY_NODE
    start = time.monotonic()
    deadline, next_note = start + timeout, start + 5
    while True:
        r = steps.look(cxn, ["systemctl", "show", "--property=ActiveState", "--value", DOWNLOAD],
                       {"active", "failed"}, deadline, every)
        state = r.stdout.strip() if r.ok else r.why()
        if state == "active":
            return
        if state == "failed":
            raise RemoteError(f"{DOWNLOAD} failed: {steps.journal(cxn, DOWNLOAD)}")
        now = time.monotonic()
        if now >= deadline:
            raise RemoteError(f"{DOWNLOAD} still {state} after {timeout:.0f}s: {steps.journal(cxn, DOWNLOAD)}")
        if progress and now >= next_note:
            progress(f"waiting for {DOWNLOAD} ({now - start:.0f}s, {state}): "
                     f"{steps.journal(cxn, DOWNLOAD, 1)}")
            next_note = now + 5
        steps.pause(cancel, 0)


def activate(cxn: Connection, restart=(), start=(), healthy=None, *, note, why=None, marks=()) -> None:
    """The master's order, on any host: restart the apiserver (when in `restart`), start
    `start` (the target first), wait for `healthy()` (the apiserver's /healthz), then
    restart the rest. note(what) after each, in the recap's words; why: unit -> why it
    restarts (said too); a unit in `marks` has its owed mark cleared once done."""
    why = why or {}

    def restart_each(units):
        for unit in units:
            steps.systemctl(cxn, "restart", unit)
            clear(cxn, [unit] if unit in marks else [])
            note(f"restarted {unit}" + (f" ({why[unit]})" if unit in why else ""))
    first = [u for u in restart if u == APISERVER]
    restart_each(first)
    if start:
        steps.systemctl(cxn, "start", *start)
        clear(cxn, [u for u in start if u in marks])
        note("started " + ", ".join(start))
    if healthy:
        healthy()
    restart_each([u for u in restart if u not in first])

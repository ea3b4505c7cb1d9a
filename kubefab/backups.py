"""The last run's files and their backups, for fab rollback (kubefab.ops.rollback): put back
what the last run replaced, from the newest backups, and restart what uses them.

The last run's list is the host's own (LAST_RUN, written by transport.INSTALL as each
file is replaced), with the units each file restarted then: the inventory may have
changed since, so nothing here is rendered from it. Each file is copied from its
backup beside itself and renamed over (atomic), with the mode and owner it had; the
restarts are owed first (converge.OWED_DIR), then done in deploy's order (the
apiserver, /healthz, the rest). LAST_RUN becomes ROLLED_BACK, so a second rollback
has nothing to do. The next `fab deploy` applies the inventory again.

Binaries have no backups: a run that changed the release (an upgrade, or a deploy with
another release) shows in the file that carries the release stamp (the profile's), whose
backup names the release before; kubefab.ops.rollback refuses to put that run's files back."""
from __future__ import annotations

import re

from dataclasses import dataclass

from kubefab.layout import BACKUP_DIR, UNIT_DIR
from kubefab.report import program


@dataclass(frozen=True)
class Entry:
    """One file of the last run: what it replaced (mode, owner, group before) or made."""
    path: str
    replaced: bool
    mode: str = ""
    owner: str = ""
    group: str = ""
    secret: bool = False
    restarts: tuple[str, ...] = ()

    @property
    def backup(self) -> str:
        return f"{BACKUP_DIR}{self.path}.1"


def parse(text: str | None) -> tuple[str | None, list[Entry]]:
    """LAST_RUN's text -> (the run, its files); (None, []) for no list. A path listed
    twice (installed twice in one run) keeps its first entry: the version before the run."""
    lines = (text or "").splitlines()
    if not lines or not lines[0].startswith("run\t"):
        return None, []
    entries: dict[str, Entry] = {}
    for line in lines[1:]:
        kind, path, mode, owner, group, secret, restarts = (line.split("\t") + [""] * 7)[:7]
        if kind in ("replaced", "created") and path not in entries:
            entries[path] = Entry(path, kind == "replaced", mode, owner, group, secret == "secret",
                                  tuple(restarts.split()))
    return lines[0][4:], list(entries.values())


@dataclass(frozen=True)
class RollbackPlan:
    run: str | None  # the run whose files go back; None: no list on the host
    restore: tuple[Entry, ...] = ()  # replaced files whose backup differs from them now
    same: tuple[str, ...] = ()  # replaced files already as their backup
    missing: tuple[str, ...] = ()  # replaced files whose backup is gone
    created: tuple[str, ...] = ()  # files the run made: no earlier version, they stay
    restart: tuple[str, ...] = ()  # the units of the restored files, in start order
    done_before: bool = False  # the list was rolled back already
    release: tuple[str, str] | None = None  # (stamp before the run, now) when the run changed the release

    @property
    def changes(self) -> bool:
        return bool(self.restore)

    @property
    def reload(self) -> bool:
        return any(e.path.startswith(UNIT_DIR + "/") for e in self.restore)

    def steps(self) -> list[str]:
        if self.run is None:
            return ["nothing to roll back: " + (f"the last run's files were put back already; {program()} deploy "
                                                "applies the inventory again" if self.done_before else
                                                "no run of kubefab replaced files here")]
        out = [f"put back {e.path} (from before {self.run})" for e in self.restore]
        out += [f"{p}: as before that run already" for p in self.same]
        out += [f"{p}: no backup left, stays" for p in self.missing]
        out += [f"{p}: made by that run (no earlier version), stays" for p in self.created]
        out += ["systemctl daemon-reload"] if self.reload else []
        return out + [f"restart {u}" for u in self.restart]

    def summary(self) -> str:
        done = [f"put back {len(self.restore)} files"] + (["restarted " + ", ".join(self.restart)]
                                                          if self.restart else [])
        return "; ".join(done)


def newest(runs) -> str | None:
    """The most recent of the runs hosts' lists name (their ` t=<ns>` stamp); a list of
    an older run on some host is not the last run's, and stays."""
    def when(run: str) -> int:
        m = re.search(r" t=(\d+)$", run)
        return int(m[1]) if m else 0
    runs = [r for r in runs if r]
    return max(runs, key=when) if runs else None


def release_change(path: str, stamp_in, texts: dict[str, str | None]) -> tuple[str, str] | None:
    """(stamp before, stamp now) when the file at `path` that carries the release stamp
    (the profile's stamp_file; stamp_in reads it) and its backup (texts: path -> text,
    Entry.backup -> text) name different releases; None when the release stayed."""
    before, now = stamp_in(texts.get(f"{BACKUP_DIR}{path}.1")), stamp_in(texts.get(path))
    return (before, now) if before and now and before != now else None


def plan_host(run: str | None, entries: list[Entry], compared: dict[str, str], units: tuple[str, ...],
              done_before: bool = False, release: tuple[str, str] | None = None) -> RollbackPlan:
    """compared: path -> "same", "differs" or "nobackup" (rollback's COMPARE script); units: the host's
    start order (a unit no longer rendered goes last); release: release_change's answer."""
    replaced = [e for e in entries if e.replaced]
    restore = tuple(e for e in replaced if compared.get(e.path) == "differs")
    wanted = {u for e in restore for u in e.restarts}
    order = [u for u in units if u in wanted] + sorted(wanted - set(units))
    return RollbackPlan(run, restore, tuple(e.path for e in replaced if compared.get(e.path) == "same"),
                        tuple(e.path for e in replaced if compared.get(e.path) == "nobackup"),
                        tuple(e.path for e in entries if not e.replaced), tuple(order), done_before,
                        release if restore else None)

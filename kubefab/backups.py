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
another release) shows in the file that carries the release stamp (STAMPED), whose
backup names the release before; kubefab.ops.rollback refuses to put that run's files back."""
from __future__ import annotations

import re

from dataclasses import dataclass

from kubefab.ops import converge, steps
from kubefab import plan as planning, render
from kubefab.layout import BACKUP_DIR, ENV_FILE, LAST_RUN, ROLLED_BACK, UNIT_DIR
from kubefab.profiles.modern.paths import DOWNLOAD_MANIFEST
from kubefab.remote.transport import Connection


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
            return ["nothing to roll back: " + ("the last run's files were put back already; fab deploy applies "
                                                "the inventory again" if self.done_before else
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


# The release stamp as the files that carry it write it (legacy: the env file, quoted
# when it has spaces; modern: the download manifest).
STAMPED = {ENV_FILE: re.compile(r"^KUBE_RELEASE_STAMP='?([^'\n]*)'?$", re.M),
           DOWNLOAD_MANIFEST: re.compile(r"^stamp\t(.*)$", re.M)}


def stamp_in(path: str, text: str | None) -> str | None:
    """The release stamp a STAMPED file's text names, else None."""
    m = STAMPED[path].search(text or "") if path in STAMPED else None
    return m[1] if m else None


def release_change(texts: dict[str, str | None]) -> tuple[str, str] | None:
    """(stamp before, stamp now) when a STAMPED file and its backup (texts: path -> text,
    Entry.backup -> text) name different releases; None when the release stayed."""
    for path in STAMPED:
        before, now = stamp_in(path, texts.get(f"{BACKUP_DIR}{path}.1")), stamp_in(path, texts.get(path))
        if before and now and before != now:
            return before, now
    return None


def plan_host(run: str | None, entries: list[Entry], looks: dict[str, str], units: tuple[str, ...],
              done_before: bool = False, release: tuple[str, str] | None = None) -> RollbackPlan:
    """looks: path -> "same", "differs" or "nobackup" (LOOK's answer); units: the host's
    start order (a unit no longer rendered goes last); release: release_change's answer."""
    replaced = [e for e in entries if e.replaced]
    restore = tuple(e for e in replaced if looks.get(e.path) == "differs")
    wanted = {u for e in restore for u in e.restarts}
    order = [u for u in units if u in wanted] + sorted(wanted - set(units))
    return RollbackPlan(run, restore, tuple(e.path for e in replaced if looks.get(e.path) == "same"),
                        tuple(e.path for e in replaced if looks.get(e.path) == "nobackup"),
                        tuple(e.path for e in entries if not e.replaced), tuple(order), done_before,
                        release if restore else None)


# Arguments: BACKUP_DIR PATH...; a line per path: same|differs|nobackup PATH.
LOOK = r"""
backup=$1; shift
for p in "$@"; do
  if [ ! -f "$backup$p.1" ]; then s=nobackup
  elif [ -f "$p" ] && cmp -s -- "$backup$p.1" "$p"; then s=same
  else s=differs; fi
  printf '%s\t%s\n' "$s" "$p"
done
"""

# Arguments: BACKUP_DIR LAST_RUN ROLLED_BACK, then PATH MODE OWNER GROUP per file. Each
# backup copied beside its file (never readable by others meanwhile) and renamed over it;
# then the list is marked done.
RESTORE = r"""
set -eu
backup=$1 last=$2 finished=$3; shift 3
new=
trap 'rm -f ${new:+"$new"}' EXIT
trap 'exit 129' HUP INT TERM PIPE
umask 077
while [ $# -gt 0 ]; do
  dst=$1 mode=$2 owner=$3 group=$4; shift 4
  new="$(dirname "$dst")/.$(basename "$dst").kubefab-new"
  cp -- "$backup$dst.1" "$new"
  chown "$owner:$group" "$new" && chmod "$mode" "$new"
  mv -f "$new" "$dst"
  new=
done
mv -f "$last" "$finished"
"""


def look(cxn: Connection) -> tuple[str | None, list[Entry], dict[str, str], bool, tuple[str, str] | None]:
    """The host's last run, its files, how each compares with its backup, whether a
    rollback already put them back, and whether putting them back would change the
    release stamp (release_change)."""
    texts = cxn.read([LAST_RUN, ROLLED_BACK])
    run, entries = parse(texts[LAST_RUN])
    paths = [e.path for e in entries if e.replaced]
    out = cxn.script(LOOK, BACKUP_DIR, *paths, what="comparing backups").stdout if paths else ""
    looks = {p: s for s, _, p in (line.partition("\t") for line in out.splitlines())}
    stamped = [p for p in paths if p in STAMPED and looks.get(p) == "differs"]
    release = release_change(cxn.read([q for p in stamped for q in (p, f"{BACKUP_DIR}{p}.1")])) if stamped else None
    return run, entries, looks, run is None and texts[ROLLED_BACK] is not None, release


def diffs(cxn: Connection, plan: RollbackPlan) -> list[str]:
    """What putting the files back changes, as diffs; a secret only says that it changes."""
    shown = [e for e in plan.restore if not e.secret]
    texts = cxn.read([p for e in shown for p in (e.path, e.backup)])
    out = []
    for e in plan.restore:
        if e.secret:
            out.append(f"secret put back: {e.path} (content not shown)\n")
            continue
        f = render.File(e.path, texts[e.backup] or "", int(e.mode or "644", 8))
        out.append(planning.diff(planning.Write(f, "update"), texts[e.path]))
    return out


def restore(cxn: Connection, plan: RollbackPlan, run_id: str, healthy, note) -> None:
    """Owe the restarts, put the files back, reload systemd, restart in deploy's order."""
    converge.owe(cxn, plan.restart, run_id)
    args = [a for e in plan.restore for a in (e.path, e.mode, e.owner, e.group)]
    cxn.script(RESTORE, BACKUP_DIR, LAST_RUN, ROLLED_BACK, *args, what="putting files back")
    note(f"put back {len(plan.restore)} files")
    if plan.reload:
        steps.systemctl(cxn, "daemon-reload")
    converge.activate(cxn, plan.restart, healthy=healthy, note=note, marks=set(plan.restart))


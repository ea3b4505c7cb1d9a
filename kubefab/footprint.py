"""What kubefab put on a host, named from the inventory alone, and the root scripts that
list it and take it away (fab reset, fab nodes.remove). Pure: paths, argv and POSIX sh.

Named from the inventory, not found on the host: kubefab removes what it knows it
wrote (the rendered files, the release the download installed, its own state) and
nothing else, so what was there before it (the original's etcd2.service,
weave-network.target, the user's home) stays. Profile-agnostic: units from
its profile's units and target, files from the rendered paths, binaries from the
profile's download list."""
from __future__ import annotations

from dataclasses import dataclass, field

from kubefab.layout import (BACKUP_DIR, KEEP_DIRS, KUBECTL_CACHE, LAST_RUN, LOCK_DIR, OWED_DIR, ROLLED_BACK, STAGE_DIR,
                            STATE_DIR)
from kubefab.model import Host, Inventory
from kubefab.remote.transport import Connection, RemoteError


@dataclass(frozen=True)
class Footprint:
    units: tuple[str, ...]  # stop order: the target first, then the services, last started first
    paths: tuple[str, ...]  # files, links and folders kubefab wrote, each removed whole
    keep: tuple[str, ...] = KEEP_DIRS  # folders never removed, even empty
    empty: tuple[str, ...] = ()  # folders kubefab named to a unit, which made them: removed when empty


def of_host(inv: Inventory, host: Host, rendered, units: tuple[str, ...], target: str) -> Footprint:
    """rendered: the paths render.render_host gives `host`; units: its profile's unit_order."""
    # kubefab's kubectl runs as root (sudo), as the SSH user, and in units without HOME
    # (register_node.sh): its discovery cache lands in those homes, the last one in /.kube
    runs_kubectl = {"/root", home(host.ssh.user), ""}
    homes = {*runs_kubectl - {""}, *((home(inv.registry.user),) if inv.registry else ())}
    paths = {*rendered, *inv.profile.release_paths(host), *(f"{h}/{KUBECTL_CACHE}" for h in runs_kubectl),
             BACKUP_DIR, OWED_DIR, STAGE_DIR, LAST_RUN, ROLLED_BACK}
    return Footprint((target, *reversed(units)), tuple(sorted(paths)), (*KEEP_DIRS, *sorted(homes)),
                     inv.profile.made_by_units(host))


def home(user: str) -> str:
    """A user's home as kubefab renders it (~core/.dockercfg is /home/core/.dockercfg)."""
    return "/root" if user == "root" else f"/home/{user}"


@dataclass(frozen=True)
class Teardown:
    """One host's part of a reset: the units that exist there, the paths present."""
    units: tuple[str, ...] = ()  # to stop and disable, in order
    present: dict[str, str] = field(default_factory=dict)  # path -> "file", "link", "folder, N files"

    @property
    def changes(self) -> bool:
        return bool(self.units or self.present)

    def steps(self) -> list[str]:
        if not self.changes:
            return ["nothing of kubefab's here: no unit, file, binary or backup"]
        out = ["stop and disable " + ", ".join(self.units)] if self.units else []
        return out + [f"remove {p}" + ("" if kind in ("file", "link") else f"/ ({kind})")
                      for p, kind in self.present.items()]

    def summary(self) -> str:
        parts = [f"stopped and disabled {len(self.units)} units"] if self.units else []
        return "; ".join(parts + ([f"removed {len(self.present)} files and folders"] if self.present else []))


def teardown(fp: Footprint, units: dict, present: dict[str, str]) -> Teardown:
    """units: the probe's UnitFacts; a unit with no unit file that does not run is gone."""
    there = tuple(u for u in fp.units if u in units and (units[u].enabled or units[u].is_active))
    return Teardown(there, present)


# Arguments: PATH...; one line per path present: file|link PATH, or folder PATH COUNT.
LIST = r"""
for p in "$@"; do
  if [ -L "$p" ]; then printf 'link\t%s\n' "$p"
  elif [ -d "$p" ]; then printf 'folder\t%s\t%s\n' "$p" "$(find "$p" ! -type d | wc -l)"
  elif [ -e "$p" ]; then printf 'file\t%s\n' "$p"
  fi
done
exit 0
"""

# Arguments: KEEP EMPTY UNITS PATH... (KEEP, EMPTY, UNITS: one item per line). Stops and
# disables each unit in order, removes each path whole, then each EMPTY folder and each
# folder left empty, up to a KEEP one; reloads systemd. Prints `removed PATH`, `failed PATH`, `running UNIT STATE`; exit 1
# when something stays.
REMOVE = r"""
keep=$1 empty=$2 units=$3; shift 3
set -f; IFS='
'
bad=0
for u in $units; do
  systemctl stop -- "$u" 2>/dev/null
  systemctl disable --quiet -- "$u" 2>/dev/null
done
for p in "$@"; do
  [ -e "$p" ] || [ -L "$p" ] || continue
  if rm -rf -- "$p"; then printf 'removed\t%s\n' "$p"; else printf 'failed\t%s\n' "$p"; bad=1; fi
done
for p in "$@" $empty; do
  [ -d "$p" ] && rmdir -- "$p" 2>/dev/null && printf 'removed\t%s/\n' "$p"
  d=${p%/*}
  while [ -n "$d" ] && [ -d "$d" ] && ! printf '%s\n' "$keep" | grep -qxF -- "$d"; do
    rmdir -- "$d" 2>/dev/null || break
    printf 'removed\t%s/\n' "$d"
    d=${d%/*}
  done
done
systemctl daemon-reload
for u in $units; do
  systemctl reset-failed -- "$u" 2>/dev/null
  s=$(systemctl is-active -- "$u")
  case $s in inactive|failed|unknown|'') ;; *) printf 'running\t%s\t%s\n' "$u" "$s"; bad=1 ;; esac
done
exit $bad
"""

# Arguments: STATE_DIR LOCK_DIR. After the lock is released: the lock's flock file and
# STATE_DIR itself, unless another run took the lock meanwhile.
FORGET = r"""
state=$1 lock=$2
[ -d "$lock" ] || rm -f -- "$lock.flock"
rmdir -- "$state" 2>/dev/null
exit 0
"""


def present(cxn: Connection, fp: Footprint) -> dict[str, str]:
    """The footprint's paths that exist on the host, in its order."""
    out = cxn.script(LIST, *fp.paths, what="listing kubefab's files").stdout
    found = {}
    for line in out.splitlines():
        kind, _, rest = line.partition("\t")
        path, _, count = rest.partition("\t")
        found[path] = kind if kind != "folder" else f"folder, {count.strip()} files"
    return {p: found[p] for p in fp.paths if p in found}


def remove(cxn: Connection, fp: Footprint) -> list[str]:
    """Stop, disable and remove everything in `fp`; the paths removed. RemoteError
    names what stays."""
    r = cxn.script(REMOVE, "\n".join(fp.keep), "\n".join(fp.empty), "\n".join(fp.units), *fp.paths, check=False,
                   what="removing kubefab's files")
    removed, stays = [], []
    for line in r.stdout.splitlines():
        kind, _, rest = line.partition("\t")
        if kind == "removed":
            removed.append(rest)
        elif kind == "failed":
            stays.append(rest)
        elif kind == "running":
            stays.append(rest.replace("\t", " still "))
    if stays or not r.ok:
        raise RemoteError("reset incomplete: " + (", ".join(stays) or r.why()) + " stays")
    return removed


def forget(cxn: Connection) -> None:
    cxn.script(FORGET, STATE_DIR, LOCK_DIR, check=False)

"""Facts: what a host has now, read in one root command. Pure: the probe is a POSIX sh
script (hosts need no Python) and its output is parsed here; remote.py runs it."""
from __future__ import annotations

import base64
from dataclasses import dataclass, field


@dataclass(frozen=True)
class FileFact:
    sha256: str
    mode: int
    owner: str
    group: str


@dataclass(frozen=True)
class UnitFact:
    enabled: str  # systemd UnitFileState: enabled, disabled, static, "" when not found
    active: str  # ActiveState: active, inactive, failed, activating, ...
    needs_reload: bool = False  # the file on disk is newer than what systemd loaded

    @property
    def is_active(self) -> bool:
        return self.active in ("active", "activating", "reloading")


@dataclass(frozen=True)
class HostFacts:
    files: dict[str, FileFact | None] = field(default_factory=dict)  # None: absent
    units: dict[str, UnitFact] = field(default_factory=dict)
    stamp: str | None = None  # the installed release's stamp; None: none installed
    holder: str | None = None  # who holds this host's kubefab lock


# Arguments: STAMP_PATH LOCK_DIR PATH... -- UNIT...
PROBE = r"""
stamp=$1 lock=$2; shift 2
while [ $# -gt 0 ] && [ "$1" != -- ]; do
  if [ -f "$1" ]; then
    printf 'file\t%s\t%s\t%s\n' "$1" "$(sha256sum < "$1" | cut -d' ' -f1)" "$(stat -c '%a %U %G' "$1")"
  else
    printf 'file\t%s\t-\n' "$1"
  fi
  shift
done
shift
[ $# -gt 0 ] && systemctl show --property=Id,UnitFileState,ActiveState,NeedDaemonReload -- "$@" |
  while IFS= read -r line; do printf 'unit\t%s\n' "$line"; done
[ -f "$stamp" ] && printf 'stamp\t%s\n' "$(base64 -w0 < "$stamp")"
[ -f "$lock/holder" ] && printf 'lock\t%s\n' "$(base64 -w0 < "$lock/holder")"
exit 0
"""


def probe_args(stamp_path: str, lock_dir: str, paths, units) -> list[str]:
    return [stamp_path, lock_dir, *paths, "--", *units]


def parse(output: str) -> HostFacts:
    files: dict[str, FileFact | None] = {}
    units: dict[str, UnitFact] = {}
    stamp = holder = None
    unit: dict[str, str] = {}

    def flush():
        if unit.get("Id"):
            units[unit["Id"]] = UnitFact(
                enabled=unit.get("UnitFileState", ""),
                active=unit.get("ActiveState", ""),
                needs_reload=unit.get("NeedDaemonReload") == "yes",
            )
        unit.clear()

    for line in output.splitlines():
        kind, _, rest = line.partition("\t")
        if kind == "file":
            path, _, rest = rest.partition("\t")
            if rest == "-":
                files[path] = None
            else:
                digest, _, stat = rest.partition("\t")
                mode, owner, group = stat.split(" ")
                files[path] = FileFact(digest, int(mode, 8), owner, group)
        elif kind == "unit":
            if not rest:  # systemctl show separates units with a blank line
                flush()
                continue
            key, _, value = rest.partition("=")
            unit[key] = value
        elif kind == "stamp":
            stamp = base64.b64decode(rest).decode().strip()  # one line, as release_stamp()
        elif kind == "lock":
            holder = base64.b64decode(rest).decode().strip()
    flush()
    return HostFacts(files, units, stamp, holder)

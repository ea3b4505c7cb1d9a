"""Facts: what a host has now, read in one root command. Pure: the probe
(kubefab/remote/scripts/probe.sh; hosts need no Python) is run by kubefab.ops.steps and
its output is parsed here."""
from __future__ import annotations

import base64
import json
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
    loaded: bool = True  # systemd holds the unit (LoadState not "not-found"): a new file of it needs a reload

    @property
    def is_active(self) -> bool:
        return self.active in ("active", "activating", "reloading")


@dataclass(frozen=True)
class HostFacts:
    files: dict[str, FileFact | None] = field(default_factory=dict)  # None: absent
    units: dict[str, UnitFact] = field(default_factory=dict)
    stamp: str | None = None  # the installed release's stamp; None: none installed
    holder: str | None = None  # who holds this host's kubefab lock
    healthz: str | None = None  # master only: what /healthz said on the nodes' port (or curl's why)
    nodes_json: str | None = None  # master only: the API's NodeList (JSON), if it answered with one
    loopback: str | None = None  # master with tls: what /healthz said on the insecure loopback port
    owed: dict[str, str] = field(default_factory=dict)  # unit -> the run that owes its restart (OWED_DIR)
    leftovers: tuple[str, ...] = ()  # entries under STAGE_DIR: uploads an interrupted run left
    cluster: str | None = None  # the cluster's record (layout.CLUSTER_FILE, kubefab.identity): a master's
    lists: dict[str, str] = field(default_factory=dict)  # master only: URL -> the API's answer (addon_lists)


def probe_args(stamp_path: str, lock_dir: str, paths, units, healthz=(), loopback=(),
               owed_dir: str = "", stage_dir: str = "", cluster_file: str = "", lists=()) -> list[str]:
    """The probe's arguments; healthz, loopback: argv printing "ok" (kubefab.health);
    owed_dir, stage_dir: folders whose entries it lists; cluster_file: the record it
    prints ("": not asked); lists: health.Checks that one curl asks (the same argv but for
    each one's URL): the nodes, the add-ons' objects."""
    curl = list(lists[0].argv[:-1]) if lists else []
    if any(c.argv[:-1] != tuple(curl) or c.argv[-1] != c.url for c in lists):
        raise ValueError("the probe's lists differ in more than their URL")
    asked = [list(healthz), list(loopback), list(paths), list(units)]
    more = [curl, [c.url for c in lists]]
    if any("\n" in item or not item for items in [*asked, *more] for item in items):
        raise ValueError("a probe argument is empty or holds a newline: it would not come back whole")
    return [stamp_path, lock_dir, *("\n".join(items) for items in asked), owed_dir, stage_dir, cluster_file,
            *("\n".join(items) for items in more)]


def parse(output: str, paths=(), nodes_url: str = "") -> HostFacts:
    """The probe's output; a path asked for that has no checksum is absent; the list
    `nodes_url` answered is the nodes' when it is a NodeList (not, say, a 403's Status)."""
    sums: dict[str, str] = {}
    stats: dict[str, tuple[int, str, str]] = {}
    units: dict[str, UnitFact] = {}
    found: dict[str, str] = {}
    unit: dict[str, str] = {}
    owed: dict[str, str] = {}
    leftovers: list[str] = []
    lists: dict[str, str] = {}

    def flush():
        if unit.get("Id"):
            units[unit["Id"]] = UnitFact(
                enabled=unit.get("UnitFileState", ""),
                active=unit.get("ActiveState", ""),
                needs_reload=unit.get("NeedDaemonReload") == "yes",
                loaded=unit.get("LoadState", "loaded") not in ("not-found", ""),
            )
        unit.clear()

    for line in output.splitlines():
        if line.startswith("stat "):
            path, mode, owner, group = line[5:].rsplit(" ", 3)
            stats[path] = (int(mode, 8), owner, group)
            continue
        kind, _, rest = line.partition("\t")
        if kind == "sum":
            path, _, digest = rest.partition("\t")
            sums[path] = digest
        elif kind == "unit":
            if not rest:  # systemctl show separates units with a blank line
                flush()
                continue
            key, _, value = rest.partition("=")
            unit[key] = value
        elif kind == "owed":
            name, _, why = rest.partition("\t")
            owed[name] = base64.b64decode(why).decode().strip()
        elif kind == "stage":
            leftovers.append(rest)
        elif kind == "list":
            url, _, body = rest.partition("\t")
            lists[url] = base64.b64decode(body).decode()
        elif kind in ("stamp", "lock", "healthz", "loopback"):
            found[kind] = base64.b64decode(rest).decode().strip()
        elif kind == "cluster":
            found[kind] = base64.b64decode(rest).decode()
    flush()
    nodes = lists.pop(nodes_url, None)
    files = {p: FileFact(sums[p], *stats[p]) if p in sums and p in stats else None for p in paths}
    return HostFacts(files, units, found.get("stamp"), found.get("lock"),
                     found.get("healthz"), nodes if _node_list(nodes) else None, found.get("loopback"),
                     owed, tuple(sorted(leftovers)), found.get("cluster"), lists)


def _node_list(body: str | None) -> bool:
    try:
        return body is not None and json.loads(body).get("kind") == "NodeList"
    except (ValueError, AttributeError):
        return False

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
from kubefab.remote.script import HostScript
from kubefab.remote.transport import Connection, RemoteError

LIST = HostScript("list", what="listing kubefab's files")
REMOVE = HostScript("remove", what="removing kubefab's files", ok=(0, 1))  # 1: something stays (said)
FORGET = HostScript("forget", what="removing kubefab's state folder", ok=tuple(range(256)))


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






def present(cxn: Connection, fp: Footprint) -> dict[str, str]:
    """The footprint's paths that exist on the host, in its order."""
    out = LIST.run(cxn, *fp.paths).stdout
    found = {}
    for line in out.splitlines():
        kind, _, rest = line.partition("\t")
        path, _, count = rest.partition("\t")
        found[path] = kind if kind != "folder" else f"folder, {count.strip()} files"
    return {p: found[p] for p in fp.paths if p in found}


def remove(cxn: Connection, fp: Footprint) -> list[str]:
    """Stop, disable and remove everything in `fp`; the paths removed. RemoteError
    names what stays."""
    r = REMOVE.run(cxn, "\n".join(fp.keep), "\n".join(fp.empty), "\n".join(fp.units), *fp.paths)
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
    FORGET.run(cxn, STATE_DIR, LOCK_DIR)

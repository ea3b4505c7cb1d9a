"""What kubefab put on a host, named from the inventory alone (reset and nodes.remove
take it away: kubefab.ops.reset). Pure: paths and units.

Named from the inventory, not found on the host: kubefab removes what it knows it
wrote (the rendered files, the release the download installed, its own state) and
nothing else, so what was there before it (the original's etcd2.service,
weave-network.target, the user's home) stays. Profile-agnostic: units from
its profile's units and target, files from the rendered paths, binaries from the
profile's download list."""
from __future__ import annotations

from dataclasses import dataclass, field

from kubefab.layout import (BACKUP_DIR, CLUSTER_FILE, KEEP_DIRS, KUBECTL_CACHE, LAST_RUN, OWED_DIR, ROLLED_BACK,
                            STAGE_DIR)
from kubefab.model import Host, Inventory


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
    paths = {*rendered, *inv.profile.release_paths(host), *inv.profile.run_paths(host), *(f"{h}/{KUBECTL_CACHE}" for h in runs_kubectl),
             BACKUP_DIR, OWED_DIR, STAGE_DIR, LAST_RUN, ROLLED_BACK, CLUSTER_FILE}
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

"""etcdctl's (and etcdutl's) command lines for the etcd kubefab runs on the master, and
what they print; which profiles a snapshot or a restore covers. Pure: argv out, text in.

The client is the master's own etcdctl from the etcd release (bin_dir; in the lab that
is Debian's etcd-client), as the apiserver's etcd client: etcd's CA, the
apiserver-etcd-client certificate, the member's client URL on the master's address."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass

from kubefab.profiles.modern import paths as L
from kubefab.model import Host, Inventory
from kubefab.profiles.modern.units import bin_, etcd_peer_url, etcd_url

# etcd 3.5 moved the offline snapshot commands (status, restore) to etcdutl and 3.6
# removed them from etcdctl; before 3.5 there is no etcdutl. So the tool is chosen by the
# version of the etcdctl installed on the master (the etcd in use), not the inventory's.
ETCDUTL_FROM = (3, 5)


@dataclass(frozen=True)
class Status:
    """`snapshot status -w json`: what a snapshot holds."""
    hash: int
    revision: int
    keys: int
    size: int

    def says(self) -> str:
        return f"revision {self.revision}, {self.keys} keys, db {self.size} bytes, hash {self.hash:08x}"


def etcdctl(inv: Inventory) -> str:
    return bin_(inv, L.ETCDCTL)


def client(inv: Inventory, master: Host | None = None) -> list[str]:
    """etcdctl as the apiserver's etcd client, against the member on a master (the first
    by default), run on that master."""
    return [etcdctl(inv), f"--endpoints={etcd_url(inv, master)}", f"--cacert={L.ETCD_CA}",
            f"--cert={L.ETCD_CLIENT_CERT}", f"--key={L.ETCD_CLIENT_KEY}"]


def version_argv(inv: Inventory) -> list[str]:
    return [etcdctl(inv), "version"]


def parse_version(out: str) -> tuple[int, int, int] | None:
    """'etcdctl version: 3.4.23' -> (3, 4, 23)."""
    m = re.search(r"etcdctl version:\s*(\d+)\.(\d+)\.(\d+)", out)
    return (int(m[1]), int(m[2]), int(m[3])) if m else None


def offline_tool(inv: Inventory, version: tuple[int, int, int]) -> str:
    """What runs `snapshot status` and `snapshot restore` for this etcd version."""
    return bin_(inv, L.ETCDUTL if version[:2] >= ETCDUTL_FROM else L.ETCDCTL)


def save_argv(inv: Inventory, path: str, master: Host | None = None) -> list[str]:
    return [*client(inv, master), "snapshot", "save", path]


def status_argv(tool: str, path: str) -> list[str]:
    return [tool, "snapshot", "status", path, "--write-out=json"]


def health_argv(inv: Inventory, master: Host | None = None) -> list[str]:
    return [*client(inv, master), "endpoint", "health"]


def restore_argv(inv: Inventory, tool: str, path: str, data_dir: str) -> list[str]:
    """A new data dir from the snapshot, for the master's member as its unit runs it
    (name, peer URL, one-member cluster, token): the restored member starts as a fresh
    one-member cluster with the snapshot's keys and revision."""
    m, peer = inv.master, etcd_peer_url(inv)
    return [tool, "snapshot", "restore", path, f"--name={m.name}", f"--data-dir={data_dir}",
            f"--initial-cluster={m.name}={peer}", f"--initial-advertise-peer-urls={peer}",
            f"--initial-cluster-token={inv.cluster}"]


def parse_status(out: str) -> Status:
    """`snapshot status --write-out=json`; ValueError when it is not that."""
    try:
        data = json.loads(out)
        return Status(int(data["hash"]), int(data["revision"]), int(data["totalKey"]), int(data["totalSize"]))
    except (ValueError, TypeError, KeyError) as e:
        raise ValueError(f"not a snapshot status: {out.strip()[:120]!r} ({e})") from None


# -- members (an HA control plane: one member per master) -------------------------------------

@dataclass(frozen=True)
class Member:
    """One member as `member list -w json` says it; a member added but not started yet has
    no name and no client URL."""
    id: str  # hex, as `member remove` and `member promote` take it
    name: str
    peer_urls: tuple[str, ...]
    client_urls: tuple[str, ...]
    learner: bool = False

    @property
    def started(self) -> bool:
        return bool(self.name)


def members_argv(inv: Inventory, master: Host | None = None) -> list[str]:
    return [*client(inv, master), "member", "list", "--write-out=json"]


def parse_members(out: str) -> list[Member]:
    """`member list -w json`; ValueError when it is not that."""
    try:
        data = json.loads(out)
        return [Member(format(int(m["ID"]), "x"), m.get("name", ""), tuple(m.get("peerURLs") or ()),
                       tuple(m.get("clientURLs") or ()), bool(m.get("isLearner"))) for m in data["members"]]
    except (ValueError, TypeError, KeyError) as e:
        raise ValueError(f"not a member list: {out.strip()[:120]!r} ({e})") from None


def add_learner_argv(inv: Inventory, name: str, peer_url: str, master: Host | None = None) -> list[str]:
    """A new member as a learner (it does not count for quorum until promoted: adding it
    never stops writes, as kubeadm joins a control-plane node)."""
    return [*client(inv, master), "member", "add", name, "--learner", f"--peer-urls={peer_url}"]


def joining_env(out: str) -> dict[str, str]:
    """The ETCD_* lines `member add` prints: how the new member starts (the cluster so far
    and itself, state existing)."""
    return {m[1]: m[2] for m in re.finditer(r'^(ETCD_[A-Z_]+)="([^"\n]*)"$', out, re.M)}


def promote_argv(inv: Inventory, member_id: str, master: Host | None = None) -> list[str]:
    return [*client(inv, master), "member", "promote", member_id]


def remove_argv(inv: Inventory, member_id: str, master: Host | None = None) -> list[str]:
    return [*client(inv, master), "member", "remove", member_id]


def status_all_argv(inv: Inventory, master: Host | None = None) -> list[str]:
    """`endpoint status` of every member the cluster lists (health, leader), as json."""
    return [*client(inv, master), "endpoint", "status", "--cluster", "--write-out=json"]


def first_start_env(cluster: str, state: str) -> str:
    """The member's first start (paths.ETCD_ENV): the cluster's members (name=peer URL,
    comma-separated, itself included) and new (the first master) or existing (a join)."""
    return f'ETCD_INITIAL_CLUSTER="{cluster}"\nETCD_INITIAL_CLUSTER_STATE="{state}"\n'


def leader(status_out: str) -> str | None:
    """The leader's member ID (hex) from `endpoint status -w json`, None when no
    endpoint knows one."""
    try:
        ids = {int(s["Status"]["leader"]) for s in json.loads(status_out) if s.get("Status", {}).get("leader")}
    except (ValueError, TypeError, KeyError):
        return None
    return format(ids.pop(), "x") if len(ids) == 1 else None

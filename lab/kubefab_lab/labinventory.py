"""The lab's inventory (pure): the source hosts.yaml with every host moved onto the
lab's loopback addresses, SSH pointed at the lab's key and known_hosts, etcd and the
release at the lab's own servers. `--nodes N` resizes the cluster first."""
from __future__ import annotations

import re
from pathlib import Path

import yaml

from .state import LabError

IDENTITY, KNOWN_HOSTS, TOKEN = "id_ed25519", "known_hosts", "registry.token"


def read(path: Path) -> dict:
    """The source inventory as plain YAML (kubefab.inventory validates it later)."""
    try:
        doc = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as e:
        raise LabError(f"cannot read the inventory {path}: {e}") from None
    hosts = doc.get("hosts") if isinstance(doc, dict) else None
    if not isinstance(hosts, dict) or not hosts:
        raise LabError(f"{path}: no `hosts:` mapping; nothing to boot")
    if not isinstance(doc.get("kubernetes"), dict) or "version" not in doc["kubernetes"]:
        raise LabError(f"{path}: no `kubernetes.version`; the lab serves that release")
    if [role(h) for h in hosts.values()].count("master") != 1:
        raise LabError(f"{path}: the lab needs exactly one host with `role: master`")
    return doc


def role(spec) -> str:
    return (spec or {}).get("role", "node")


def scale(hosts: dict, nodes: int) -> dict:
    """The master plus `nodes` nodes: the first existing ones, then new ones named
    after the first node's pattern (azure-prd-02 -> azure-prd-05, -06, ...) with its
    labels."""
    if nodes < 0:
        raise LabError(f"--nodes must be 0 or more, not {nodes}")
    master = {n: s for n, s in hosts.items() if role(s) == "master"}
    existing = [(n, s) for n, s in hosts.items() if role(s) != "master"]
    out = {**master, **dict(existing[:nodes])}
    template_name, template = existing[0] if existing else ("lab-node-00", {})
    match = re.fullmatch(r"(.*?)(\d+)", template_name) or re.fullmatch(
        r"(.*?)(\d+)", "lab-node-00")
    prefix, width = match.group(1), len(match.group(2))
    used = [int(m.group(1)) for n in hosts
            if (m := re.fullmatch(re.escape(prefix) + r"(\d+)", n))]
    number = max(used, default=0)
    while len(out) < nodes + len(master):
        number += 1
        name = f"{prefix}{number:0{width}d}"
        if name not in hosts:
            spec = {k: v for k, v in (template or {}).items() if k in ("labels",)}
            out[name] = spec
    return out


def addresses(hosts: dict, first: int = 2, net: str = "127.0.0") -> dict[str, str]:
    """<net>.<first> upward, in inventory order (net: three octets in 127.0.0.0/8)."""
    if first + len(hosts) - 1 > 254:
        raise LabError(f"{len(hosts)} hosts do not fit {net}.{first}..{net}.254")
    return {name: f"{net}.{first + i}" for i, name in enumerate(hosts)}


def lab_inventory(doc: dict, hosts: dict, addrs: dict[str, str], *, release_url: str = "",
                  release_sha256: str = "", etcd_url: str = "", mirror: str = "",
                  sums: dict[str, str] | None = None) -> dict:
    """The source document with lab values in place; key order kept. With a `mirror`
    (a modern release, v1.35+): the lab's mirror and its sums (none: the download takes
    the sum files the mirror publishes) instead of the release tarball; kubefab's own
    etcd on the master instead of the machine's; and the lab's weave-network.target as
    the pod network, because kubefab's bridge network adds routes, and the lab's hosts
    share the machine's network: they would be its routes."""
    out = dict(doc)
    kube = dict(doc["kubernetes"])
    if mirror:
        for key in ("release_url", "release_sha256", "etcd_servers"):
            kube.pop(key, None)
        kube.update(mirror=mirror, pod_network="weave-network.target")
        if sums:
            kube["sha256"] = dict(sorted(sums.items()))
    else:
        kube.update(release_url=release_url, release_sha256=release_sha256, etcd_servers=[etcd_url])
    out["kubernetes"] = kube
    registry = {k: v for k, v in (doc.get("registry") or {"server": "quay.io"}).items()
                if k not in ("token", "token_env", "token_file")}
    out["registry"] = {**registry, "token_file": TOKEN}
    out["ssh"] = {"user": "core", "port": 22, "identity": IDENTITY, "known_hosts": KNOWN_HOSTS}
    out["hosts"] = {}
    for name, spec in hosts.items():
        spec = {k: v for k, v in (spec or {}).items() if k not in ("address", "bind_address", "ssh")}
        out["hosts"][name] = {"address": addrs[name], "bind_address": addrs[name], **spec}
    return out


def dump(doc: dict, source: Path) -> str:
    header = (f"# Written by `fab lab.up` from {source}: the same cluster on the lab's\n"
              "# systemd-nspawn hosts. Relative paths are relative to this file. Do not edit.\n")
    return header + yaml.safe_dump(doc, sort_keys=False, default_flow_style=False)

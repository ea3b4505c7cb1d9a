"""The lab's inventory (pure): the source hosts.yaml with every host moved onto the
lab's loopback addresses, SSH pointed at the lab's key and known_hosts, etcd and the
release at the lab's own servers. `--nodes N` (and `--masters N`) resize the cluster
first; the lab boots any number of masters, kubefab decides what it accepts."""
from __future__ import annotations

import re
from pathlib import Path

import yaml

from .state import LabError

IDENTITY, KNOWN_HOSTS, TOKEN, SUMS = "id_ed25519", "known_hosts", "registry.token", "sums.yaml"


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
    if "master" not in [role(h) for h in hosts.values()]:
        raise LabError(f"{path}: no host has `role: master`; the lab boots the inventory's masters "
                       "and nodes: set it on one host or more")
    return doc


def role(spec) -> str:
    return (spec or {}).get("role", "node")


def scale(hosts: dict, nodes: int | None = None, masters: int | None = None) -> dict:
    """`masters` masters, then `nodes` nodes (None: the inventory's own): the first
    existing ones, then new ones named after the first of their role's pattern
    (azure-prd-02 -> azure-prd-05, -06, ...) with its labels. Masters come first."""
    if nodes is not None and nodes < 0:
        raise LabError(f"--nodes must be 0 or more, not {nodes}")
    if masters is not None and masters < 1:
        raise LabError(f"--masters must be 1 or more, not {masters}")
    by_role = {r: [(n, s) for n, s in hosts.items() if (role(s) == "master") == (r == "master")]
               for r in ("master", "node")}
    taken = set(hosts)
    out = {}
    for r, count in (("master", masters), ("node", nodes)):
        existing = by_role[r]
        count = len(existing) if count is None else count
        out.update(existing[:count])
        names = _new_names(existing[0][0] if existing else f"lab-{r}-00", taken)
        template = (existing[0][1] or {}) if existing else {}
        for _ in range(count - len(existing[:count])):
            name = next(names)
            out[name] = {k: v for k, v in template.items() if k in ("labels", "role")}
    return out


def _new_names(pattern: str, taken: set):
    """Names after `pattern`'s prefix and width, numbered past every taken one."""
    match = re.fullmatch(r"(.*?)(\d+)", pattern) or re.fullmatch(r"(.*?)(\d+)", "lab-host-00")
    prefix, width = match.group(1), len(match.group(2))
    number = max((int(m.group(1)) for n in taken if (m := re.fullmatch(re.escape(prefix) + r"(\d+)", n))),
                 default=0)
    while True:
        number += 1
        name = f"{prefix}{number:0{width}d}"
        if name not in taken:
            taken.add(name)
            yield name


def addresses(hosts: dict, first: int = 2, net: str = "127.0.0") -> dict[str, str]:
    """<net>.<first> upward, in inventory order (net: three octets in 127.0.0.0/8)."""
    if first + len(hosts) - 1 > 254:
        raise LabError(f"{len(hosts)} hosts do not fit {net}.{first}..{net}.254")
    return {name: f"{net}.{first + i}" for i, name in enumerate(hosts)}


def machine_waivers(root: Path = Path("/")) -> list[str]:
    """The preflight checks a modern inventory's lab hosts cannot pass on this machine,
    because they share its kernel and network: cgroup v1 here (the stand-in kubelet does
    not mind; a real one would), and forwarding off in the machine's network namespace,
    which the hosts see read-only. Waived in the lab's hosts.yaml, said in a comment."""
    out = []
    if not (root / "sys/fs/cgroup/cgroup.controllers").exists():
        out.append("cgroup-v2")
    try:
        forwarding = (root / "proc/sys/net/ipv4/ip_forward").read_text().strip()
    except OSError:
        forwarding = ""
    if forwarding != "1":
        out.append("sysctl:net.ipv4.ip_forward")
    return out


def lab_inventory(doc: dict, hosts: dict, addrs: dict[str, str], *, release_url: str = "",
                  release_sha256: str = "", etcd_url: str = "", mirror: str = "",
                  sums: dict[str, str] | None = None, bastion: str | None = None,
                  waivers: list[str] | None = None) -> dict:
    """The source document with lab values in place; key order kept. With a `mirror`
    (a modern release, v1.35+): the lab's mirror and its sums (none: the download takes
    the sum files the mirror publishes) instead of the release tarball; kubefab's own
    etcd on the masters instead of the machine's; and the lab's weave-network.target as
    the pod network, because kubefab's bridge network adds routes, and the lab's hosts
    share the machine's network: they would be its routes. `bastion`: written as
    ssh.bastion: the bastion host's name, which kubefab reaches the others through."""
    out = dict(doc)
    kube = dict(doc["kubernetes"])
    if mirror:
        for key in ("release_url", "release_sha256", "etcd_servers"):
            kube.pop(key, None)
        kube.update(mirror=mirror, pod_network="weave-network.target")
        if sums:
            kube["sha256"] = dict(sorted(sums.items()))
        if waivers:
            kube["ignore_preflight"] = list(waivers)
    else:
        kube.update(release_url=release_url, release_sha256=release_sha256, etcd_servers=[etcd_url])
    out["kubernetes"] = kube
    registry = {k: v for k, v in (doc.get("registry") or {"server": "quay.io"}).items()
                if k not in ("token", "token_env", "token_file")}
    out["registry"] = {**registry, "token_file": TOKEN}
    out["ssh"] = {"user": "core", "port": 22, "identity": IDENTITY, "known_hosts": KNOWN_HOSTS}
    if bastion:
        out["ssh"]["bastion"] = bastion
    out["hosts"] = {}
    for name, spec in hosts.items():
        spec = {k: v for k, v in (spec or {}).items() if k not in ("address", "bind_address", "ssh")}
        out["hosts"][name] = {"address": addrs[name], "bind_address": addrs[name], **spec}
    return out


def dump(doc: dict, source: Path, releases=()) -> str:
    """The inventory's text; a modern lab's says which releases the mirror serves and
    what to change to deploy another (just the version, without pinned sums)."""
    header = (f"# Written by `fab lab.up` from {source}: the same cluster on the lab's\n"
              "# systemd-nspawn hosts. Relative paths are relative to this file. The next\n"
              "# `fab lab.up` writes it again: edits last until then.\n")
    text = yaml.safe_dump(doc, sort_keys=False, default_flow_style=False)
    if not releases:
        return header + text
    served = ", ".join(releases)
    if "ignore_preflight" in doc["kubernetes"]:
        text = text.replace("  ignore_preflight:\n", "  # Preflight checks the lab's hosts cannot pass on this machine, whose kernel and\n"
                            "  # network they share (cgroup v1, forwarding off): waived here only.\n"
                            "  ignore_preflight:\n")
    if "sha256" in doc["kubernetes"]:
        note = (f"  # The lab's mirror serves {served}.\n"
                "  # The sums below are this version's only: to deploy or upgrade to another,\n"
                "  # change version and remove sha256 (each download is then checked against\n"
                f"  # the sum file the mirror publishes beside it), or put that release's sums\n"
                f"  # from {SUMS} here.\n")
        anchor = "  sha256:\n"
    else:
        note = (f"  # The lab's mirror serves {served}.\n"
                "  # To deploy or upgrade to another, change the version alone (each download\n"
                "  # is checked against the sum file the mirror publishes beside it).\n")
        anchor = "  version:"
    at = text.index(anchor)
    return header + text[:at] + note + text[at:]


def sums_doc(every: dict[str, dict[str, str]]) -> str:
    """sums.yaml: per served release, its sums as kubernetes.sha256 takes them."""
    return ("# Written by `fab lab.up`: the sha256 of every download the lab's mirror serves,\n"
            "# per release, as kubernetes.sha256 in hosts.yaml takes them.\n"
            + yaml.safe_dump({v: dict(sorted(s.items())) for v, s in every.items()}, sort_keys=False))

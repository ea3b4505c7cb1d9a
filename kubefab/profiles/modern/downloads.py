"""What the modern profile downloads onto a host: per binary and per role (the master
fetches what it runs, nodes what they run), each with its URL and where its sha256
comes from: the inventory, kubefab.versions.PINNED, or the sum file the release
publishes beside it (fetched by the download script from the same base). Pure: the
manifest text the download script reads, the stamp, and the sums still missing.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

from kubefab.profiles.modern import paths as layout
from kubefab import versions
from kubefab.model import MANUAL, Host, Inventory, once_per_inventory

INVENTORY, PINNED, PUBLISHED, MISSING = "inventory", "pinned", "published", "missing"


@dataclass(frozen=True)
class Artifact:
    component: str
    version: str
    url: str
    sha256: str | None  # None: taken from `sums_url` on the host (PUBLISHED), or refused (MISSING)
    dest: str  # the directory its binaries go to
    binaries: tuple[str, ...]  # what it installs there
    source: str = PINNED  # where the sum comes from, for the plan, the stamp and messages
    sums_url: str = ""  # PUBLISHED: the release's sum file
    sums_format: str = versions.LISTED

    @property
    def file(self) -> str:
        return self.url.rsplit("/", 1)[1]


def components(inv: Inventory, host: Host) -> tuple[str, ...]:
    """The downloads `host` needs, in install order."""
    k = inv.kubernetes
    if host.is_master:
        return (*(("etcd",) if k.managed_etcd else ()), "kube-apiserver", "kube-controller-manager",
                "kube-scheduler", "kubectl")
    kubectl = ("kubectl",) if k.registration == MANUAL else ()  # register_node.sh runs it
    return ("containerd", "runc", "cni-plugins", "kubelet", "kube-proxy", *kubectl)


def artifacts(inv: Inventory, host: Host) -> tuple[Artifact, ...]:
    k, given = inv.kubernetes, dict(inv.kubernetes.sha256)
    out = []
    for name in components(inv, host):
        version = k.component_version(name)
        c = versions.COMPONENTS[name]
        dest = layout.CNI_BIN if name == "cni-plugins" else k.bin_dir.rstrip("/")
        pinned = versions.pinned(name, version, k.arch)
        source = (INVENTORY if name in given else PINNED if pinned
                  else MISSING if k.require_pinned_sums else PUBLISHED)
        out.append(Artifact(name, version, versions.url(name, version, k.arch, k.mirror),
                            given.get(name) or pinned, dest, c.members or (name,), source,
                            versions.sums_url(name, version, k.arch, k.mirror) if source == PUBLISHED else "",
                            c.sums_format))
    return tuple(out)


def sources(inv: Inventory, host: Host) -> str:
    """Where each download's sum comes from, in one line for the plan."""
    by = {}
    for a in artifacts(inv, host):
        by.setdefault(a.source, []).append(a.component)
    return "sha256 " + "; ".join(f"{s}: {', '.join(names)}" for s, names in by.items())


def missing(inv: Inventory) -> tuple[str, ...]:
    """'component version arch' for every artifact some host needs and no sum is known
    for; deploy refuses to start while there are any (one line names them)."""
    seen = {}
    for host in inv.hosts:
        for a in artifacts(inv, host):
            if a.source == MISSING:
                seen[a.component] = f"{a.component} {a.version} {inv.kubernetes.arch}"
    return tuple(seen.values())


def missing_message(inv: Inventory) -> str | None:
    """The one-line refusal, or None when every sum is known or may be taken from the release."""
    gaps = missing(inv)
    if not gaps:
        return None
    return (f"{inv.path}: no sha256 known for {', '.join(gaps)} (kubernetes.require_pinned_sums: true); add "
            f"them under kubernetes.sha256 (component: digest from the release's sum files or your mirror's)")


@once_per_inventory
def release_stamp(inv: Inventory) -> str:
    """What the download writes after a complete install: the release, every component
    version, the architecture, the mirror, where the sums come from and a digest of
    them (a published one by its sum file's URL)."""
    k = inv.kubernetes
    parts = " ".join(f"{c}={k.component_version(c)}" for c in ("etcd", "containerd", "runc", "cni-plugins"))
    arts = {a for h in inv.hosts for a in artifacts(inv, h)}
    sums = sorted({(a.component, a.source, a.sha256 or a.sums_url or "-") for a in arts})
    digest = hashlib.sha256(repr(sums).encode()).hexdigest()[:16]
    kinds = "+".join(sorted({a.source for a in arts}))
    return f"{k.version} {parts} arch={k.arch} mirror={k.mirror or 'upstream'} sums={kinds}:{digest}"


def manifest(inv: Inventory, host: Host) -> str:
    """The download script's input: tab-separated lines. The sum column is the digest,
    'published' (then: the sum file's URL, and the file name to look up in it, '-' when
    it holds the digest alone), or '-' for a sum nobody pinned (refused)."""
    lines = ["# Rendered by kubefab: what kubernetes-download installs on this host, one download",
             "# per line (component, sha256, URL, directory, binaries[, sum file, name in it]);",
             "# 'published': the sum file the release publishes beside it; '-': a sum nobody pinned.",
             f"stamp\t{release_stamp(inv)}", f"state\t{inv.kubernetes.install_dir.rstrip('/')}"]
    for a in artifacts(inv, host):
        fields = ["get", a.component, a.sha256 or (PUBLISHED if a.source == PUBLISHED else "-"), a.url, a.dest,
                  ",".join(a.binaries)]
        if a.source == PUBLISHED:
            fields += [a.sums_url, "-" if a.sums_format == versions.BARE else a.file]
        lines.append("\t".join(fields))
    return "\n".join(lines) + "\n"

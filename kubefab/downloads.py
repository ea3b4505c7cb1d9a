"""What the modern profile downloads onto a host: per binary and per role (the master
fetches what it runs, nodes what they run), each with its URL and its sha256 from the
inventory or kubefab.versions.PINNED. Pure: the manifest text the download script
reads, the stamp, and the sums still missing.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

from . import layout_modern as layout, versions
from .model import MANUAL, Host, Inventory


@dataclass(frozen=True)
class Artifact:
    component: str
    version: str
    url: str
    sha256: str | None  # None: no sum known; the download refuses it
    dest: str  # the directory its binaries go to
    binaries: tuple[str, ...]  # what it installs there

    @property
    def source(self) -> str:
        """Where the sum comes from, for the plan and messages."""
        return "missing" if self.sha256 is None else "pinned"


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
        out.append(Artifact(name, version, versions.url(name, version, k.arch, k.mirror),
                            given.get(name) or versions.pinned(name, version, k.arch), dest,
                            c.members or (name,)))
    return tuple(out)


def missing(inv: Inventory) -> tuple[str, ...]:
    """'component version arch' for every artifact some host needs and no sum is known
    for; deploy refuses to start while there are any (one line names them)."""
    seen = {}
    for host in inv.hosts:
        for a in artifacts(inv, host):
            if a.sha256 is None:
                seen[a.component] = f"{a.component} {a.version} {inv.kubernetes.arch}"
    return tuple(seen.values())


def missing_message(inv: Inventory) -> str | None:
    """The one-line refusal, or None when every sum is known."""
    gaps = missing(inv)
    if not gaps:
        return None
    return (f"{inv.path}: no sha256 known for {', '.join(gaps)}; add them under kubernetes.sha256 "
            f"(component: digest from the release's .sha256 files or your mirror's)")


def release_stamp(inv: Inventory) -> str:
    """What the download writes after a complete install: the release, every component
    version, the architecture, the mirror and a digest of the sums in use."""
    k = inv.kubernetes
    parts = " ".join(f"{c}={k.component_version(c)}" for c in ("etcd", "containerd", "runc", "cni-plugins"))
    sums = sorted({(a.component, a.sha256 or "-") for h in inv.hosts for a in artifacts(inv, h)})
    digest = hashlib.sha256(repr(sums).encode()).hexdigest()[:16]
    return f"{k.version} {parts} arch={k.arch} mirror={k.mirror or 'upstream'} sums={digest}"


def manifest(inv: Inventory, host: Host) -> str:
    """The download script's input: tab-separated lines, '-' for a missing sum."""
    lines = ["# Rendered by kubefab: what kubernetes-download installs on this host, one download",
             "# per line (component, sha256, URL, directory, binaries); '-' is a sum nobody pinned.",
             f"stamp\t{release_stamp(inv)}", f"state\t{inv.kubernetes.install_dir.rstrip('/')}"]
    for a in artifacts(inv, host):
        lines.append("\t".join(("get", a.component, a.sha256 or "-", a.url, a.dest, ",".join(a.binaries))))
    return "\n".join(lines) + "\n"

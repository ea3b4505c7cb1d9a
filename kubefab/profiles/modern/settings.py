"""The inventory keys of the modern profile (v1.35 and later), read and checked with
the same `file:line: key: problem; fix` errors as kubefab.inventory. Every key has a
default, so the repo's hosts.yaml with only its version changed is a modern inventory.
"""
from __future__ import annotations

from collections.abc import Callable

from kubefab import validate as v
from kubefab import versions
from kubefab.model import BRIDGE, EtcdClient
from kubefab.yamldoc import ListOf, Section

KEYS = ("arch", "mirror", "sha256", "require_pinned_sums", "containerd_version", "etcd_version", "etcd_client", "cluster_cidr",
        "node_cidr_prefix", "cluster_dns", "cluster_domain", "pod_network")
ETCD_CLIENT_KEYS = ("ca", "cert", "key")
DEFAULT_BIN_DIR = "/usr/local/bin"


def refuse_in_legacy(k: Section) -> None:
    """The modern keys mean nothing to a v1.0-v1.19 inventory: say so."""
    for key in KEYS:
        if key in k:
            k.fail("applies to the modern profile (v1.35 and later) only; remove it or raise the version", key)


def pod_network(value) -> str:
    s = v.text(value)
    return s if s == BRIDGE else v.unit(s)


def _sums(k: Section) -> tuple[tuple[str, str], ...]:
    sums = k.section("sha256")
    names = sums.names(v.choice(*versions.COMPONENTS))
    return tuple(sorted((name, sums.value(name, v.digest)) for name in names))


def read(k: Section, paths: Callable, version: str) -> dict:
    """Keyword arguments for model.Kubernetes, beyond the legacy profile's."""
    minor = versions.parse(version)[:2]
    if "release_sha256" in k:
        k.fail("the modern profile verifies every download on its own; give sums under "
               "kubernetes.sha256 (component: digest) and remove release_sha256", "release_sha256")
    out = k.optional(arch=v.choice(*versions.ARCHES), mirror=v.url, require_pinned_sums=v.boolean,
                     containerd_version=v.component_version,
                     etcd_version=v.component_version, cluster_cidr=v.cidr, node_cidr_prefix=v.prefix_length,
                     cluster_dns=v.ip, cluster_domain=v.cluster_domain, pod_network=pod_network)
    out["sha256"] = _sums(k)
    out["etcd_servers"] = k.get("etcd_servers", ListOf(v.url, nonempty=True), ())
    out["requires"] = k.get("requires", ListOf(v.unit), ())
    out["bin_dir"] = k.get("bin_dir", v.directory, DEFAULT_BIN_DIR)
    containerd = out.get("containerd_version") or versions.default(minor, "containerd")
    if int(containerd.split(".")[0]) < 2 and minor >= versions.CONTAINERD_2_FROM:
        k.fail(f"containerd {containerd} cannot run kubelet {version}: kubelet 1.36 and later need "
               f"containerd 2.0 or later; remove containerd_version for {versions.default(minor, 'containerd')}",
               "containerd_version")
    if "etcd_client" in k:
        if not out["etcd_servers"]:
            k.fail("names certificates for external etcd_servers, and there are none; kubefab's own "
                   "etcd uses kubefab's certificates: remove etcd_client or add etcd_servers", "etcd_client")
        c = k.section("etcd_client")
        c.allow(ETCD_CLIENT_KEYS)
        out["etcd_client"] = EtcdClient(**{key: c.get(key, paths) for key in ETCD_CLIENT_KEYS})
    return out

"""The inventory keys of the modern profile (v1.35 and later), read and checked with
the same `file:line: key: problem; fix` errors as kubefab.inventory. Every key has a
default, so the repo's hosts.yaml with only its version changed is a modern inventory.
"""
from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable

from kubefab import validate as v
from kubefab import versions
from kubefab.model import BRIDGE, EtcdClient, Inventory
from kubefab.profiles.modern import addons, network, preflight
from kubefab.yamldoc import ListOf, Section

KEYS = ("arch", "mirror", "sha256", "require_pinned_sums", "containerd_version", "etcd_version", "etcd_client", "cluster_cidr",
        "node_cidr_prefix", "cluster_dns", "cluster_domain", "pod_network", "etcd_insecure", "addons",
        "image_repository", "dns_upstream", "ignore_preflight")
ETCD_CLIENT_KEYS = ("ca", "cert", "key")
DEFAULT_BIN_DIR = "/usr/local/bin"


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
    if "tls" in k and not k.get("tls", v.boolean):
        k.fail("the modern profile always serves TLS (insecure serving was removed in 1.20); "
               "remove tls: false", "tls")
    if "release_sha256" in k:
        k.fail("the modern profile verifies every download on its own; give sums under "
               "kubernetes.sha256 (component: digest) and remove release_sha256", "release_sha256")
    out = k.optional(arch=v.choice(*versions.ARCHES), mirror=v.url, require_pinned_sums=v.boolean,
                     containerd_version=v.component_version,
                     etcd_version=v.component_version, cluster_cidr=v.cidr, node_cidr_prefix=v.prefix_length,
                     cluster_dns=v.ip, cluster_domain=v.cluster_domain, pod_network=pod_network)
    out["release_url"] = k.get("release_url", v.url, "")  # the legacy tarball's: unused here
    out["sha256"] = _sums(k)
    out["etcd_servers"] = k.get("etcd_servers", ListOf(v.url, nonempty=True), ())
    out["requires"] = k.get("requires", ListOf(v.unit), ())
    out["bin_dir"] = k.get("bin_dir", v.directory, DEFAULT_BIN_DIR)
    containerd = out.get("containerd_version") or versions.default(minor, "containerd")
    if int(containerd.split(".")[0]) < 2 and minor >= versions.CONTAINERD_2_FROM:
        k.fail(f"containerd {containerd} cannot run kubelet {version}: kubelet 1.36 and later need "
               f"containerd 2.0 or later; remove containerd_version for {versions.default(minor, 'containerd')}",
               "containerd_version")
    out["etcd_insecure"] = k.get("etcd_insecure", v.boolean, False)
    _refuse_plain_etcd(k, out["etcd_servers"], out["etcd_insecure"])
    out["addons"] = _addons(k)
    out["image_repository"] = k.get("image_repository", image_repository, None)
    out["dns_upstream"] = tuple(k.get("dns_upstream", ListOf(v.ip, nonempty=True), ()))
    out["ignore_preflight"] = tuple(k.get("ignore_preflight", ListOf(preflight.waiver), ()))
    if "etcd_client" in k:
        if not out["etcd_servers"]:
            k.fail("names certificates for external etcd_servers, and there are none; kubefab's own "
                   "etcd uses kubefab's certificates: remove etcd_client or add etcd_servers", "etcd_client")
        c = k.section("etcd_client")
        c.allow(ETCD_CLIENT_KEYS)
        out["etcd_client"] = EtcdClient(**{key: c.get(key, paths) for key in ETCD_CLIENT_KEYS})
    return out


def _refuse_plain_etcd(k: Section, servers, insecure: bool) -> None:
    """Plain http to etcd carries every Secret unencrypted and trusts anyone on the path:
    only where the inventory says so (etcd_insecure: true)."""
    plain = [s for s in servers if s.startswith("http://")]
    if plain and not insecure:
        k.fail(f"{plain[0]} is plain http: the apiserver would send every object, Secrets included, "
               "unencrypted to an etcd that checks no client; give etcd TLS (https:// URLs and etcd_client: "
               "ca, cert, key), let kubefab run etcd (remove etcd_servers), or accept it with etcd_insecure: true",
               "etcd_servers")
    if insecure and not plain:
        k.fail("applies to plain http etcd_servers, and there are none; remove etcd_insecure", "etcd_insecure")


def _addons(k: Section) -> tuple[tuple[str, bool], ...]:
    """addons: {name: true|false}, for the add-ons the profile knows."""
    section = k.section("addons")
    names = section.names(v.choice(*addons.KNOWN))
    return tuple((name, section.value(name, v.boolean)) for name in names)


def image_repository(value) -> str:
    """A registry host with an optional path (registry.example.com:5000/k8s), no scheme."""
    s = v.text(value).rstrip("/")
    if "://" in s or not re.fullmatch(r"[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:\d{1,5})?(/[a-z0-9._-]+)*", s):
        raise v.Invalid(f"{s!r} is no image repository; write a registry and optional path without a scheme, "
                        "e.g. registry.example.com:5000/k8s")
    return s


def check_network(inv: Inventory, hosts: Section, k: Section) -> None:
    """kubefab's bridge network routes via host addresses, and every host needs a subnet."""
    if not inv.kubernetes.bridge_network:
        return
    for host in inv.hosts:
        try:
            ipaddress.ip_address(host.address)
        except ValueError:
            hosts.section(host.name).fail(f"pod_network: bridge routes pod subnets via host addresses, "
                                          f"and {host.address!r} is a name; give the IP address", "address")
    try:
        network.pod_subnets(inv)
    except network.NetworkError as e:
        name = str(e).split(":")[0]
        if name in hosts and "pod_cidr" in hosts.section(name):
            hosts.section(name).fail(str(e).split(": ", 1)[1], "pod_cidr")
        k.fail(str(e), "cluster_cidr")

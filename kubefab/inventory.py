"""Read an inventory (`hosts.yaml`) into the frozen model: `load(path) -> Inventory`.

Pure: imports neither fabric nor invoke. Every problem raises `InventoryError` whose
message names the file, the line, the dotted key, what is wrong and how to fix it.
Secrets (the registry token, a sudo password) are read here, only when asked
(`secrets=True`: the tasks that use them), and never appear in a message.
"""
from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable, Collection, Mapping
from pathlib import Path

from kubefab import validate as v
from kubefab import profiles, secrets as secret_refs, sshsettings
from kubefab.model import MANUAL, MASTER, NODE, SELF, SUDO, TOKEN, Apiserver, Host, Inventory, Kubernetes, Registry, Ssh
from kubefab.yamldoc import InventoryError, ListOf, Section, read

__all__ = ["InventoryError", "inventory_path", "load"]

TOP_KEYS = ("cluster", "kubernetes", "registry", "ssh", "labels", "hosts")
PROFILES = (profiles.Legacy, profiles.Modern)
KUBERNETES_KEYS = ("version", "release_url", "install_dir", "bin_dir", "etcd_servers", "requires", "registration",
                   "bind_address", "apiserver", "kubelet_port", "log_level", "tls", "pki_dir", "backups",
                   *(key for p in PROFILES for key in p.keys))
APISERVER_KEYS = ("insecure_port", "secure_port", "service_cluster_ip_range", "endpoint", "extra_sans",
                  "load_balancer")
SEVERAL_MASTERS_KEYS = ("endpoint", "extra_sans", "load_balancer")  # the profiles with several masters only
LOAD_BALANCERS = ("haproxy", "nginx")
REGISTRY_KEYS = ("server", "email", "token_env", "token_file", "user")
HOST_KEYS = ("address", "role", "labels", "bind_address", "ssh", *(key for p in PROFILES for key in p.host_keys))
STARTER = "kubefab init"  # writes a starter inventory


def inventory_path(environ: Mapping[str, str] = os.environ, configured: str | None = None,
                   default: str = "hosts.yaml") -> Path:
    """KUBEFAB_INVENTORY wins, then a configured value, then `default`."""
    return Path(environ.get("KUBEFAB_INVENTORY") or configured or default).expanduser()




def load(path: str | os.PathLike, environ: Mapping[str, str] = os.environ, *,
         secrets: bool | Collection[str] = True) -> Inventory:
    """The inventory at `path`, with the secrets it names read: all (True), none (False:
    the keys naming them are checked, Registry.token is "" and sudo_password None), or
    those listed (TOKEN, SUDO)."""
    secrets = {TOKEN, SUDO} if secrets is True else set(secrets or ())
    file = os.fspath(path)  # as the caller gave it: messages show it
    try:
        text = Path(file).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InventoryError(f"{file}: no such file; `{STARTER}` writes a starter inventory there, "
                             "or point KUBEFAB_INVENTORY (or --inventory) at yours") from None
    except UnicodeDecodeError:
        raise InventoryError(f"{file}: not UTF-8 text; save it as UTF-8") from None
    except OSError as e:
        raise InventoryError(f"{file}: cannot read it: {e.strerror}") from None

    top = read(file, text)
    top.allow(TOP_KEYS)
    paths = v.path_in(Path(file).absolute().parent, environ)
    cluster = top.optional(cluster=v.cluster_name)
    kubernetes, bind_address = _kubernetes(top.section("kubernetes", required=True), paths)
    registry = _registry(top.section("registry"), paths, environ, TOKEN in secrets) if "registry" in top else None
    ssh = sshsettings.cluster(top.section("ssh"), paths, environ, SUDO in secrets)
    labels = _labels(top.section("labels"))
    hosts_section = top.section("hosts", required=True)
    profile = profiles.kind(kubernetes.version)
    hosts = _hosts(hosts_section, labels, bind_address, ssh, paths, profile, lambda s, d, b: sshsettings.host(
        s, d, b, paths, environ, SUDO in secrets))
    inv = Inventory(path=Path(file), kubernetes=kubernetes, hosts=hosts, registry=registry, **cluster,
                    profile_class=profile)
    inv.profile.check(hosts_section, top.section("kubernetes"))
    return inv


def _refuse_others(section: Section, profile, attribute: str) -> None:
    """Keys of another profile mean nothing to this one's inventory: say so."""
    for other in PROFILES:
        for key in getattr(other, attribute):
            if other is not profile and key in section and key not in getattr(profile, attribute):
                fix = "remove it or raise the version" if attribute == "keys" else "remove it"
                section.fail(f"applies to the {other.name} profile ({other.releases}) only; {fix}", key)


def _kubernetes(k: Section, paths: Callable) -> tuple[Kubernetes, str]:
    """The Kubernetes settings, and the default bind address for hosts."""
    k.allow(KUBERNETES_KEYS)
    api = k.section("apiserver")
    api.allow(APISERVER_KEYS)
    version = k.get("version", v.version)
    profile = profiles.kind(version)
    for key in SEVERAL_MASTERS_KEYS if not profile.several_masters else ():
        if key in api:
            api.fail(f"applies to several masters, which the {profile.name} profile ({profile.releases}) cannot "
                     f"run; remove it, or raise kubernetes.version to {profiles.SEVERAL_MASTERS_FROM} or later", key)
    apiserver = Apiserver(**api.optional(insecure_port=v.port, secure_port=v.port,
                                         service_cluster_ip_range=v.cidr, endpoint=v.endpoint,
                                         load_balancer=v.choice(*LOAD_BALANCERS)),
                          extra_sans=tuple(api.get("extra_sans", ListOf(v.address, nonempty=True), ())))
    if apiserver.insecure_port == apiserver.secure_port:
        api.fail("is the same as insecure_port; give each its own port", "secure_port")
    settings = profile.settings(k, paths, version)
    _refuse_others(k, profile, "keys")
    kubernetes = Kubernetes(
        version=version,
        apiserver=apiserver,
        **settings,
        **k.optional(install_dir=v.directory, registration=v.choice(SELF, MANUAL),
                     kubelet_port=v.port, log_level=v.integer(0, 10),
                     backups=v.integer(1, 50, "a number of versions")),
        pki_dir=k.get("pki_dir", paths, None) or paths("pki"),
    )
    return kubernetes, k.get("bind_address", v.ip, Host.bind_address)


def _registry(r: Section, paths: Callable, environ: Mapping[str, str], read: bool) -> Registry:
    """The registry; its token only when `read` (else "": render redacts it anyway)."""
    r.allow(REGISTRY_KEYS)
    server = r.get("server", v.server)
    token, source = secret_refs.reference(r, "token", paths, environ, "registry token", read)
    return Registry(server=server, token=token or "", token_source=source, **r.optional(email=v.text, user=v.user))


def _labels(labels: Section) -> dict[str, str]:
    return {key: labels.value(key, v.label_value) for key in labels.names(v.label_key)}


def _hosts(hosts: Section, labels: dict[str, str], bind_address: str, cluster_ssh: tuple[Ssh, object],
           paths: Callable, profile, host_ssh: Callable) -> tuple[Host, ...]:
    result, bastions = [], {}
    defaults, cluster_bastion = cluster_ssh
    for name in hosts.names(v.host_name):
        h = hosts.section(name)
        h.allow(HOST_KEYS)
        _refuse_others(h, profile, "host_keys")
        ssh, bastions[name] = host_ssh(h.section("ssh"), defaults, cluster_bastion)
        result.append(Host(
            name=name,
            address=_ipv4(h, "address", h.get("address", v.address)),
            role=h.get("role", v.choice(MASTER, NODE), NODE),
            labels=tuple({**labels, **_labels(h.section("labels"))}.items()),
            bind_address=_ipv4(h, "bind_address", h.get("bind_address", v.ip, bind_address)),
            ssh=ssh,
            line=hosts.key_line(name),
            pod_cidr=h.get("pod_cidr", v.cidr, None),
        ))
    _check_masters(hosts, result, profile)
    _check_addresses(hosts, result)
    return sshsettings.resolve_bastions(result, bastions, defaults)


def _ipv4(section: Section, key: str, value: str) -> str:
    """kubefab's clusters are IPv4 (pod routes, the service range, etcd and apiserver
    URLs): an IPv6 host address would half work, so it is refused where it is written
    ("::", every address, is a bind address that serves IPv4 too)."""
    try:
        is_v6 = ipaddress.ip_address(value).version == 6
    except ValueError:
        return value
    if is_v6 and value != "::":
        section.fail(f"{value} is an IPv6 address; kubefab's clusters are IPv4 (pod routes, service range, "
                     "etcd and apiserver URLs): give the host's IPv4 address", key)
    return value


def _check_masters(hosts: Section, result: list[Host], profile) -> None:
    """As many masters as the profile runs: one for the v1.0 profile, an odd number for
    the modern one (etcd's quorum, kubefab.quorum)."""
    masters = [h.name for h in result if h.is_master]
    if not masters:
        hosts.fail("no host has role: master; set role: master on one host (or an odd number of them)"
                   if profile.several_masters else "no host has role: master; set role: master on exactly one host")
    why = profile.masters_refusal(masters)
    if why:
        hosts.section(masters[-1]).fail(why, "role")


def _check_addresses(hosts: Section, result: list[Host]) -> None:
    seen: dict[str, Host] = {}
    for host in result:
        key = _canonical(host.address)
        if key in seen:
            first = seen[key]
            hosts.section(host.name).fail(f"{host.address} is also the address of {first.name} "
                                          f"(line {first.line}); each host needs its own", "address")
        seen[key] = host


def _canonical(address: str) -> str:
    try:
        return ipaddress.ip_address(address).compressed
    except ValueError:
        return address.lower().rstrip(".")

"""The inventory's `ssh:` keys, cluster-wide and per host: login, key, known_hosts, a
bastion (jump host), the OpenSSH client config honoured, the connect timeout, the sudo
password's source. Pure: the bastion a host names is resolved to a `Hop` once every
host is read (`resolve_bastions`).

    ssh:
      user: core                  # the login; its sudo as root, NOPASSWD or with a password:
      sudo_password_env: VAR      #   ... from a variable, or sudo_password_file: PATH (0600)
      bastion: azure-prd-01       # a host of this inventory, or [user@]address[:port], or
                                  #   {host: ..., port: ..., user: ..., identity: ...}
      config: ~/.ssh/config       # default: ~/.ssh/config and /etc/ssh/ssh_config; false: none
      connect_timeout: 10
    hosts:
      a: {address: 10.0.0.1, ssh: {host: prod-a, bastion: false}}   # an alias; no bastion
"""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from yaml.nodes import MappingNode

from kubefab import secrets
from kubefab import validate as v
from kubefab.model import CONNECT_TIMEOUT, Host, Hop, Ssh
from kubefab.yamldoc import Section

CLUSTER_KEYS = ("user", "port", "identity", "known_hosts", "bastion", "config", "connect_timeout",
                "sudo_password_env", "sudo_password_file")
HOST_KEYS = ("user", "port", "identity", "bastion", "host", "connect_timeout", "sudo_password_env",
             "sudo_password_file")
BASTION_KEYS = ("host", "port", "user", "identity")
DEFAULT_CONFIGS = ("~/.ssh/config", "/etc/ssh/ssh_config")  # as OpenSSH and Fabric read them
SUDO_PASSWORD = "sudo password"


@dataclass(frozen=True)
class Bastion:
    """ssh.bastion as written: `host` (an inventory host's name or an address), what the
    entry itself sets, and where it is, for messages. None of it: `bastion: false`."""
    host: str | None
    settings: dict
    section: Section
    key: str


def cluster(section: Section, paths: Callable, environ: Mapping[str, str], read: bool) -> tuple[Ssh, Bastion | None]:
    """The cluster-wide ssh settings, and its bastion as written."""
    section.allow(CLUSTER_KEYS)
    given = _given(section, paths)
    config = section.get("config", _config(paths), None)
    ssh = Ssh(**given, known_hosts=section.get("known_hosts", paths, None),
              config=tuple(paths(p) for p in DEFAULT_CONFIGS) if config is None else config,
              connect_timeout=section.get("connect_timeout", _seconds, CONNECT_TIMEOUT),
              given=frozenset(given) | _timeout_given(section))
    return _sudo(section, ssh, paths, environ, read), _bastion(section, paths)


def host(section: Section, defaults: Ssh, cluster_bastion: Bastion | None, paths: Callable,
         environ: Mapping[str, str], read: bool) -> tuple[Ssh, Bastion | None]:
    """A host's ssh settings over the cluster's, and its bastion as written (its own, else
    the cluster's)."""
    section.allow(HOST_KEYS)
    given = _given(section, paths)
    ssh = replace(defaults, **given, given=defaults.given | frozenset(given) | _timeout_given(section),
                  host=section.get("host", _ssh_host, None),
                  connect_timeout=section.get("connect_timeout", _seconds, defaults.connect_timeout))
    ssh = _sudo(section, ssh, paths, environ, read)
    return ssh, _bastion(section, paths) if "bastion" in section else cluster_bastion


def _given(section: Section, paths: Callable) -> dict:
    return section.optional(user=v.user, port=v.port, identity=paths)


def _timeout_given(section: Section) -> frozenset:
    return frozenset({"connect_timeout"}) if "connect_timeout" in section else frozenset()


def _sudo(section: Section, ssh: Ssh, paths: Callable, environ, read: bool) -> Ssh:
    password, source = secrets.reference(section, "sudo_password", paths, environ, SUDO_PASSWORD, read,
                                         required=False)
    return replace(ssh, sudo_password=password, sudo_password_source=source) if source else ssh


def resolve_bastions(hosts: list[Host], written: dict[str, Bastion | None], defaults: Ssh) -> tuple[Host, ...]:
    """Each host with its bastion as a Hop: an inventory host by its own settings (and its
    own bastion: a chain, never a loop), an address with the cluster's login and key. A
    host that is its own bastion connects straight."""
    by_name = {h.name: h for h in hosts}
    hops: dict[str, Hop | None] = {}

    def hop_of(name: str, seen: tuple[str, ...]) -> Hop | None:
        if name in hops:
            return hops[name]
        b = written.get(name)
        if b is None or b.host is None or b.host == name:
            hops[name] = None
            return None
        if b.host in by_name:
            if b.host in seen:
                b.section.fail(f"{b.host} reaches {name} through {' -> '.join(seen)}: a loop; "
                               "give one of them `bastion: false`", b.key)
            via = by_name[b.host]
            hop = Hop(via.ssh_target, via.ssh.port, via.ssh.user, via.ssh.identity, via.name, via.ssh.given,
                      hop_of(via.name, (*seen, name)))
            hop = replace(hop, **b.settings, given=hop.given | frozenset(b.settings))
        else:
            user, address, port = _address(b)
            hop = Hop(address, b.settings.get("port", port or 22), b.settings.get("user", user or defaults.user),
                      b.settings.get("identity", defaults.identity),
                      given=defaults.given | frozenset(b.settings) | ({"user"} if user else set()))
        hops[name] = hop
        return hop
    return tuple(replace(h, ssh=replace(h.ssh, bastion=hop_of(h.name, ()))) for h in hosts)


def _bastion(section: Section, paths: Callable) -> Bastion | None:
    """`bastion:` as written: a name or [user@]address[:port], a mapping, or false."""
    if "bastion" not in section:
        return None
    node = section.entries["bastion"][1]
    if isinstance(node, MappingNode):
        b = section.section("bastion")
        b.allow(BASTION_KEYS)
        return Bastion(b.get("host", _ssh_host), b.optional(port=v.port, user=v.user, identity=paths),
                       b, "host")
    value = section.get("bastion", _bastion_value)
    return Bastion(value, {}, section, "bastion") if value is not False else Bastion(None, {}, section, "bastion")


def _bastion_value(value) -> str | bool:
    if value is False:
        return False
    s = v.text(value)
    if not re.fullmatch(r"([A-Za-z_][A-Za-z0-9_.-]*@)?(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+)(:\d{1,5})?", s):
        raise v.Invalid(f"{s!r} is not a bastion; give a host of this inventory, [user@]address[:port] "
                        "(e.g. jump.example.com:22), or false for none")
    return s


def _address(b: Bastion) -> tuple[str | None, str, int | None]:
    """(user, address, port) of `[user@]address[:port]`."""
    m = re.fullmatch(r"(?:([^@]+)@)?(\[[^]]+\]|[^:]+)(?::(\d+))?", b.host)
    user, address, port = m[1], m[2].strip("[]"), int(m[3]) if m[3] else None
    if port is not None and not 0 < port < 65536:
        b.section.fail(f"port {port} is not a port number from 1 to 65535", b.key)
    return user, address, port


def _ssh_host(value) -> str:
    """A name SSH connects to: an address, a DNS name or an ssh_config alias."""
    s = v.text(value)
    if not re.fullmatch(r"[A-Za-z0-9_.:-]+", s):
        raise v.Invalid(f"{s!r} is not a host name, address or ssh_config alias")
    return s


def _seconds(value) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value <= 3600:
        return float(value)
    raise v.Invalid(f"expected a number of seconds above 0 (at most 3600), got {v.describe(value)}")


def _config(paths: Callable) -> Callable:
    def convert(value) -> tuple[Path, ...]:
        if value is False:
            return ()
        if value is True:
            return tuple(paths(p) for p in DEFAULT_CONFIGS)
        return (paths(value),)
    return convert

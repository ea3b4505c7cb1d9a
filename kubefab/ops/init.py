"""`kubefab init`: a commented starter inventory for the newest supported release
(kubefab.versions.STARTER), from the template the package carries
(kubefab/templates/starter/hosts.yaml.j2). It loads and renders as written; the
operator then gives the hosts their addresses. Local only."""
from __future__ import annotations

import ipaddress
import os
from pathlib import Path

import jinja2

from kubefab import profiles, versions
from kubefab import validate as v

TEMPLATE = "hosts.yaml.j2"
EXAMPLE_HOSTS = (("master-1", "10.0.0.1"), ("node-1", "10.0.0.2"), ("node-2", "10.0.0.3"))


class InitError(Exception):
    """A flag init cannot use, in one line."""


def hosts_of(spec: str | None) -> tuple[tuple[str, str], ...]:
    """`--hosts a=10.0.0.1,b=10.0.0.2`: (name, IPv4 address) pairs, the first the master."""
    if spec is None:
        return EXAMPLE_HOSTS
    out: dict[str, str] = {}
    for item in spec.split(","):
        name, eq, address = item.strip().partition("=")
        try:
            v.host_name(name)
            if ipaddress.ip_address(address).version != 4:
                raise ValueError
        except (v.Invalid, ValueError) as e:
            why = str(e) if isinstance(e, v.Invalid) else f"{address!r} is not an IPv4 address"
            raise InitError(f"--hosts {item.strip()!r}: {why if eq else 'wants name=address'}; "
                            "e.g. --hosts master-1=10.0.0.1,node-1=10.0.0.2") from None
        if name in out:
            raise InitError(f"--hosts: {name} is given twice")
        out[name] = address
    return tuple(out.items())


def version_of(given: str | None) -> str:
    version = given or versions.STARTER
    try:
        v.version(version)
    except v.Invalid as e:
        raise InitError(f"--version {version}: {e}") from None
    if profiles.kind(version) is not profiles.Modern:  # the starter is written for today's profile
        raise InitError(f"--version {version}: init writes an inventory for today's releases "
                        f"({', '.join(f'v{a}.{b}' for a, b in versions.MINORS)})")
    return version


def starter(version: str, hosts, cluster: str = "kubernetes", user: str = "core") -> str:
    env = jinja2.Environment(loader=jinja2.PackageLoader("kubefab", "templates/starter"),
                             undefined=jinja2.StrictUndefined, keep_trailing_newline=True, trim_blocks=True,
                             lstrip_blocks=True, autoescape=False)
    return env.get_template(TEMPLATE).render(version=version, hosts=hosts, cluster=cluster, user=user)


def write(path: Path, text: str) -> None:
    """A new file: an existing inventory is never overwritten."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        raise InitError(f"{path} exists; init never overwrites an inventory (name another with --out)") from None
    except OSError as e:
        raise InitError(f"cannot write {path}: {e.strerror}") from None
    with os.fdopen(fd, "w") as fh:
        fh.write(text)

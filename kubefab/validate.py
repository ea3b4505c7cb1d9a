"""Converters for inventory values: a YAML value in, the model's value out.

Each converter returns the value or raises `Invalid(problem)`; `kubefab.yamldoc` adds
the file, line and key. Problems say what is wrong and how to fix it.
"""
from __future__ import annotations

import ipaddress
import os
import posixpath
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from kubefab import versions


class Invalid(ValueError):
    """A value's problem, not yet located; `quote` asks for a "quote it: '...'" hint."""

    def __init__(self, problem: str, quote: bool = False):
        super().__init__(problem)
        self.quote = quote


def describe(value: Any) -> str:
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the string {value!r}"
    if value is None:
        return "nothing (null)"
    return {list: "a list", dict: "a mapping"}.get(type(value), f"the {type(value).__name__} {value}")


def text(value: Any) -> str:
    if isinstance(value, str):
        return value
    note = " (YAML reads unquoted yes/no/on/off/true/false as booleans)" if isinstance(value, bool) else ""
    raise Invalid(f"expected a string, got {describe(value)}{note}", quote=not isinstance(value, (list, dict)))


def integer(low: int, high: int, what: str = "an integer") -> Callable[[Any], int]:
    def convert(value: Any) -> int:
        if isinstance(value, int) and not isinstance(value, bool) and low <= value <= high:
            return value
        unquote = "; write it without quotes" if isinstance(value, str) and value.isdigit() else ""
        raise Invalid(f"expected {what} from {low} to {high}, got {describe(value)}{unquote}")
    return convert


port = integer(1, 65535, "a port number")


def boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    unquote = "; write it without quotes" if isinstance(value, str) and value.lower() in ("true", "false") else ""
    raise Invalid(f"expected true or false, got {describe(value)}{unquote}")


def choice(*options: str) -> Callable[[Any], str]:
    def convert(value: Any) -> str:
        if text(value) not in options:
            raise Invalid(f"expected one of {', '.join(options)}, got {value!r}")
        return value
    return convert


def _rule(what: str, valid: Callable[[str], bool], rule: str, fix: Callable[[str], str] = lambda s: ""):
    """A converter for strings `valid` accepts; the error explains `rule` and, when it
    can, suggests `fix(s)`."""
    def convert(value: Any) -> str:
        s = text(value)
        if valid(s):
            return s
        suggestion = fix(s)
        example = f"; use e.g. '{suggestion}'" if suggestion and valid(suggestion) else ""
        raise Invalid(f"{s!r} is not a valid {what} ({rule}){example}")
    return convert


def _matches(pattern: str, max_len: int) -> Callable[[str], bool]:
    regex = re.compile(pattern)
    return lambda s: len(s) <= max_len and regex.fullmatch(s) is not None


def _dns_fix(s: str) -> str:
    parts = (re.sub(r"[^a-z0-9]+", "-", p.lower()).strip("-")[:63].strip("-") for p in s.split("."))
    return ".".join(p for p in parts if p)


def _name_fix(s: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", s).strip("-_.")[:63].strip("-_.")


_DNS_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
is_dns_label = _matches(_DNS_LABEL, 63)
_is_dns_name = _matches(rf"{_DNS_LABEL}(\.{_DNS_LABEL})*", 253)
_is_label_name = _matches(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]", 63)
_DNS_RULE = "lowercase letters, digits and '-', starting and ending with a letter or digit"


def is_dns_subdomain(s: str) -> bool:
    """RFC 1123: what Kubernetes accepts as a node name."""
    return _is_dns_name(s) and all(is_dns_label(part) for part in s.split("."))


def _is_label_key(s: str) -> bool:
    prefix, slash, name = s.rpartition("/")
    return _is_label_name(name) and (not slash or is_dns_subdomain(prefix))


def _label_key_fix(s: str) -> str:
    prefix, _, name = s.rpartition("/")
    return "/".join(p for p in (_dns_fix(prefix), _name_fix(name)) if p)


cluster_name = _rule("cluster name", is_dns_label, f"{_DNS_RULE}, at most 63 characters", _dns_fix)
cluster_domain = _rule("cluster domain", is_dns_subdomain, f"RFC 1123: {_DNS_RULE}; e.g. cluster.local",
                       _dns_fix)
host_name = _rule("host name", is_dns_subdomain, f"RFC 1123: {_DNS_RULE}; dot-separated labels of "
                  "at most 63 characters", _dns_fix)
label_key = _rule("label key", _is_label_key, "a name of up to 63 letters, digits, '-', '_' or '.', "
                  "starting and ending with a letter or digit, with an optional DNS prefix such as "
                  "example.com/", _label_key_fix)
label_value = _rule("label value", lambda s: s == "" or _is_label_name(s), "up to 63 letters, digits, "
                    "'-', '_' or '.', starting and ending with a letter or digit, or empty", _name_fix)
unit = _rule("systemd unit name", _matches(r"[A-Za-z0-9:_.\\@-]+\.(service|socket|target|mount|"
             r"automount|swap|path|timer|slice|scope|device)", 255), "a name and its type",
             lambda s: f"{s}.service")
user = _rule("user name", _matches(r"[A-Za-z_][A-Za-z0-9_.-]*", 32), "letters, digits, '_', '.' "
             "and '-', starting with a letter or '_'")
env_name = _rule("environment variable name", _matches(r"[A-Za-z_][A-Za-z0-9_]*", 255),
                 "letters, digits and '_', not starting with a digit")
_abs_dir = _rule("absolute directory", _matches(r"/[A-Za-z0-9._+-][A-Za-z0-9._+/-]*", 4096),
                 "starting with /, without spaces or quotes, not / itself")


def directory(value: Any) -> str:
    return posixpath.normpath(_abs_dir(value))


def version(value: Any) -> str:
    s = text(value)
    parsed = versions.parse(s)
    if not parsed:
        raise Invalid(f"{s!r} is not a Kubernetes release version; write it like v1.0.1")
    if versions.profile(parsed) is None:
        raise Invalid(f"{s} is not supported: {versions.supported()}")
    return s


def component_version(value: Any) -> str:
    """A component's release without the v: 2.3.4, 3.6.14, 2.3.0-rc.1."""
    s = text(value).removeprefix("v") if isinstance(value, str) else text(value)
    if not re.fullmatch(r"\d+\.\d+\.\d+(-[0-9A-Za-z.]+)?", s):
        raise Invalid(f"{s!r} is not a release version; write it like 2.3.4", quote=True)
    return s


def prefix_length(value: Any) -> int:
    return integer(8, 28, "a prefix length")(value)


def ip(value: Any) -> str:
    s = text(value)
    try:
        ipaddress.ip_address(s)
    except ValueError:
        raise Invalid(f"{s!r} is not an IP address; use e.g. 0.0.0.0 (every interface) or 10.1.0.1") from None
    return s


def address(value: Any) -> str:
    """An IP address or a DNS name."""
    s = text(value)
    if re.fullmatch(r"[\d.]+|[\da-fA-F.]*:[\da-fA-F:.]*", s):  # meant as IPv4 or IPv6
        return ip(s)
    if is_dns_subdomain(s.lower()):
        return s
    raise Invalid(f"{s!r} is neither an IP address nor a DNS name; use e.g. 10.1.0.2 or node2.example.com")


def endpoint(value: Any) -> str:
    """Where clients reach the apiservers: an address or DNS name, optionally :port
    (an IPv6 address with a port in brackets)."""
    s = text(value)
    if "://" in s or "/" in s:
        raise Invalid(f"{s!r} is no address or DNS name with an optional port; write e.g. 10.1.0.100 "
                      "or k8s.example.com:6443 (no scheme, no path)")
    host, port = s, ""
    if s.startswith("[") and "]:" in s:
        host, port = s[1:].split("]:", 1)
    elif s.count(":") == 1:
        host, port = s.split(":")
    if port and not (port.isdigit() and 0 < int(port) < 65536):
        raise Invalid(f"{s!r}: {port!r} is no port; write host or host:port, e.g. k8s.example.com:6443")
    try:
        address(host)
    except Invalid:
        raise Invalid(f"{s!r} is no address or DNS name with an optional port; write e.g. 10.1.0.100 "
                      "or k8s.example.com:6443 (no scheme, no path)") from None
    return s


def server(value: Any) -> str:
    """A registry host, optionally with a port: quay.io, registry.example.com:5000."""
    s = text(value)
    host, colon, number = s.partition(":")
    if is_dns_subdomain(host.lower()) and (not colon or number.isdigit() and 0 < int(number) < 65536):
        return s
    raise Invalid(f"{s!r} is not a registry host name; write the bare host, e.g. quay.io or "
                  "registry.example.com:5000 (no scheme, no path)")


def url(value: Any) -> str:
    s = text(value)
    parts = urlsplit(s)
    try:
        ok = parts.scheme in ("http", "https") and bool(parts.hostname) and parts.port != 0
    except ValueError:  # a port that is not a number from 0 to 65535
        ok = False
    if not ok or re.search(r"\s", s):
        raise Invalid(f"{s!r} is not an http(s) URL with a host; write it like http://10.1.0.1:2379 "
                      "or https://example.com/path")
    return s


def cidr(value: Any) -> str:
    s = text(value)
    try:
        if "/" not in s:
            raise ValueError("no prefix length")
        ipaddress.ip_network(s)
    except ValueError as e:
        try:
            fix = f"use {ipaddress.ip_network(s, strict=False)}" if "/" in s else f"use e.g. {s}/16"
        except ValueError:
            fix = "use e.g. 10.100.0.0/16"
        raise Invalid(f"{s!r} is not a CIDR range ({e}); {fix}") from None
    return s


def digest(value: Any) -> str:
    """A sha256 in kubernetes.sha256 (sha256sum's first column)."""
    s = text(value).removeprefix("sha256:")
    if not re.fullmatch(r"[0-9a-f]{64}", s):
        raise Invalid(f"{s!r} is not a sha256 digest (64 lowercase hex digits, got {len(s)} characters); "
                      "copy the published one (e.g. the .sha256 file beside the download)")
    return s


def sha256(value: Any) -> str:
    s = text(value)
    if not re.fullmatch(r"[0-9a-f]{64}", s):
        raise Invalid(f"{s!r} is not a sha256 digest (64 lowercase hex digits, got {len(s)} characters); "
                      "copy it from `sha256sum kubernetes.tar.gz`, or write null to skip the check")
    return s


def path_in(base: Path, environ: Mapping[str, str]) -> Callable[[Any], Path]:
    """Paths: `~` is the home directory; a relative path is relative to `base`."""
    def convert(value: Any) -> Path:
        s = text(value)
        if not s:
            raise Invalid("expected a path, got an empty string")
        if s == "~" or s.startswith("~/"):
            s = (environ.get("HOME") or str(Path.home())) + s[1:]
        return Path(os.path.normpath(base / os.path.expanduser(s)))
    return convert

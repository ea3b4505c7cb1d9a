"""Whether the apiserver is up, asked the way nodes ask it: one curl, as root on the
master (from the probe, deploy's wait and master.restart alike). Each profile builds
its checks (`inv.profile.health()`, `.loopback()`) from this shape. Pure: argv out."""
from __future__ import annotations

from dataclasses import dataclass

# -S: a failure says why; --globoff: an IPv6 address in brackets is no glob range
CURL = ("curl", "-sS", "--globoff", "--max-time", "2")


@dataclass(frozen=True)
class Check:
    url: str  # the health endpoint asked
    argv: tuple[str, ...]  # prints "ok" when healthy
    says: str  # what was asked, for the operator


def curl(url: str, says: str, cacert: str = "", cert: str = "", key: str = "") -> Check:
    """curl `url`, with TLS files when given (the server checked against `cacert`, the
    client certificate `cert` and its `key` shown)."""
    tls = (("--cacert", cacert) if cacert else ()) + (("--cert", cert, "--key", key) if cert else ())
    return Check(url, (*CURL, *tls, url), says)

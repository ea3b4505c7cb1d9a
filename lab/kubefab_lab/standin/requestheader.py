"""The aggregation layer's flags on today's apiserver, loaded and checked at start as
the real server does: --requestheader-client-ca-file (a CA bundle that must load),
--requestheader-allowed-names, --requestheader-username-headers / -group-headers /
-extra-headers-prefix, --proxy-client-cert-file / --proxy-client-key-file (both or
neither, a pair that must load), --enable-aggregator-routing.

requestheader authentication: a client certificate signed by the requestheader CA,
whose CN is in --requestheader-allowed-names (any CN when empty), may assert who the
request is for in the username/group/extra headers (X-Remote-User, X-Remote-Group,
X-Remote-Extra-*), as the aggregator and front proxies do; without the username
header such a certificate authenticates no one by this path."""
from __future__ import annotations

import os
import ssl

from . import common


class RequestHeader:
    def __init__(self, fl):
        self.ca = fl["requestheader-client-ca-file"]
        self.allowed = [n for n in fl["requestheader-allowed-names"] or [] if n]
        self.user_headers = [h for h in fl["requestheader-username-headers"] or [] if h]
        self.group_headers = [h for h in fl["requestheader-group-headers"] or [] if h]
        self.extra_prefixes = [h for h in fl["requestheader-extra-headers-prefix"] or [] if h]
        self.issuer = None
        if self.ca:
            if not os.path.isfile(self.ca):
                common.command_failed(f"failed to load requestheader client CA file {self.ca}: open {self.ca}: no "
                                      "such file or directory")
            try:
                self.issuer = ssl._ssl._test_decode_cert(self.ca)["subject"]  # noqa: SLF001 - PEM subject
            except (ssl.SSLError, OSError, KeyError) as e:
                common.command_failed(f"failed to load requestheader client CA file {self.ca}: {e}")
        self.client_ca_issuer = None
        if fl["client-ca-file"] and os.path.isfile(fl["client-ca-file"]):
            try:
                self.client_ca_issuer = ssl._ssl._test_decode_cert(fl["client-ca-file"])["subject"]  # noqa: SLF001
            except (ssl.SSLError, OSError, KeyError):
                pass
        cert, key = fl["proxy-client-cert-file"], fl["proxy-client-key-file"]
        if bool(cert) != bool(key):
            common.command_failed("--proxy-client-cert-file and --proxy-client-key-file must be specified together")
        if cert:
            try:
                ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_cert_chain(cert, key)
            except (OSError, ssl.SSLError) as e:
                common.command_failed(f"failed to load proxy client certificate/key pair {cert}, {key}: {e}")

    def load_into(self, ctx: ssl.SSLContext) -> None:
        if self.ca:
            ctx.load_verify_locations(cafile=self.ca)
            ctx.verify_mode = ssl.CERT_OPTIONAL

    def user(self, peer: dict | None, headers):
        """(name, groups, extra) asserted by a trusted front proxy, or None."""
        if not self.ca or not peer or tuple(peer.get("issuer") or ()) != tuple(self.issuer or ()):
            return None
        cn = next((v for rdn in peer.get("subject") or () for k, v in rdn if k == "commonName"), "")
        if self.allowed and cn not in self.allowed:
            return None
        name = next((headers.get(h) for h in self.user_headers if headers.get(h)), None)
        if not name:
            return None
        groups = [g for h in self.group_headers for g in headers.get_all(h) or []]
        return name, tuple(groups) + ("system:authenticated",)

    def proxy_only(self, peer: dict | None) -> bool:
        """A certificate of the requestheader CA (not also the client CA) that asserted
        no user: the x509 authenticator, which trusts only --client-ca-file, ignores it."""
        issuer = tuple((peer or {}).get("issuer") or ())
        return bool(self.ca and peer and issuer == tuple(self.issuer or ()) and
                    issuer != tuple(self.client_ca_issuer or ()))

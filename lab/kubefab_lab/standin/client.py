"""A small HTTP(S) client for the stand-ins that talk to the apiserver: `Endpoint`
(where, and with which TLS credentials), requests, /healthz probes, and failures
described in words an operator can act on."""
from __future__ import annotations

import functools
import http.client
import json
import os
import shutil
import socket
import ssl
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit

from . import common


class CredentialsError(Exception):
    """The TLS files of an endpoint cannot be used (missing, unreadable, not PEM, a key
    that does not match its certificate). Not an OSError: it is a configuration error,
    never "the apiserver is not reachable"."""


@dataclass
class Endpoint:
    """Where and how to reach an apiserver (from --master/--api-servers or a kubeconfig)."""

    server: str  # "http://10.1.0.1:8080"
    ca_file: str | None = None
    ca_data: bytes | None = None
    cert_file: str | None = None
    key_file: str | None = None
    token: str | None = None
    insecure: bool = False
    cert_data: bytes | None = None
    key_data: bytes | None = None
    source: str = ""  # where the credentials came from ("kubeconfig /etc/kubernetes/kubelet.kubeconfig")
    tls_server_name: str | None = None  # a kubeconfig's tls-server-name: the name the certificate is checked for
    _ctx: ssl.SSLContext | None = field(default=None, repr=False, compare=False)

    @property
    def https(self) -> bool:
        return self.server.startswith("https://")

    def with_server(self, server: str) -> "Endpoint":
        """The same credentials against another server (--api-servers, --master)."""
        return replace(self, server=server.rstrip("/"), _ctx=None)

    def ca_text(self) -> str:
        if self.insecure:
            return "no verification (insecure-skip-tls-verify)"
        if self.ca_data:
            return f"certificate-authority-data from {self.source or 'the kubeconfig'}"
        if self.ca_file:
            return f"CA {self.ca_file}"
        return "the system's CA roots (no certificate-authority given)"

    def cert_text(self) -> str:
        if self.cert_data:
            return f"client-certificate-data from {self.source or 'the kubeconfig'}"
        if self.cert_file:
            return f"client certificate {self.cert_file}"
        return "no client certificate"

    def ssl_context(self) -> ssl.SSLContext | None:
        """The client TLS context for an https server (built once): the server verified
        against the CA, host name (IP SAN) checked, the client certificate presented.
        CredentialsError when a file cannot be used."""
        if not self.https:
            return None
        if self._ctx is None:
            self._ctx = self._build_context()
        return self._ctx

    def _build_context(self) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # check_hostname on, CERT_REQUIRED
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        if self.insecure:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        elif self.ca_file or self.ca_data:
            what = "certificate-authority-data" if self.ca_data else self.ca_file
            try:
                ctx.load_verify_locations(cafile=None if self.ca_data else self.ca_file,
                                          cadata=self.ca_data.decode("ascii", "replace") if self.ca_data else None)
            except FileNotFoundError:
                raise CredentialsError(f"unable to load root certificates: open {what}: no such file or directory") \
                    from None
            except (OSError, ssl.SSLError, ValueError) as e:
                raise CredentialsError(f"unable to load root certificates from {what}: {_ssl_reason(e)}") from None
        else:
            ctx.load_default_certs()
        if self.cert_data or self.cert_file:
            self._load_client_cert(ctx)
        return ctx

    def _load_client_cert(self, ctx: ssl.SSLContext) -> None:
        if self.cert_data:  # load_cert_chain reads files only: a private temp dir, removed at once
            if not self.key_data:
                raise CredentialsError("client-certificate-data without client-key-data")
            tmp = tempfile.mkdtemp(prefix="standin-tls-")
            try:
                cert, key = os.path.join(tmp, "client.crt"), os.path.join(tmp, "client.key")
                for path, data in ((cert, self.cert_data), (key, self.key_data)):
                    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as f:
                        f.write(data)
                self._load_pair(ctx, cert, key, "client-certificate-data", "client-key-data")
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
            return
        if not self.key_file:
            raise CredentialsError(f"client-certificate {self.cert_file} without client-key")
        self._load_pair(ctx, self.cert_file, self.key_file, self.cert_file, self.key_file)

    @staticmethod
    def _load_pair(ctx, cert, key, cert_name, key_name) -> None:
        for path, name in ((cert, cert_name), (key, key_name)):
            if not os.path.isfile(path):
                raise CredentialsError(f"unable to load client certificate/key: open {name}: no such file or directory")
        try:
            ctx.load_cert_chain(cert, key)
        except (OSError, ssl.SSLError) as e:
            raise CredentialsError(f"unable to load client certificate/key ({cert_name}, {key_name}): "
                                   f"{_ssl_reason(e)}") from None


def _ssl_reason(e: BaseException) -> str:
    if isinstance(e, ssl.SSLError) and e.reason:
        lib = f"{e.library}: " if getattr(e, "library", None) else ""
        return f"{lib}{e.reason}".lower().replace("_", " ")
    return str(e.strerror if isinstance(e, OSError) and e.strerror else e)


def describe_failure(ep: Endpoint, e: BaseException) -> str:
    """A connection failure in words an operator can act on; TLS failures say which
    side refused what, and which files were used."""
    if isinstance(e, ssl.SSLCertVerificationError):
        detail = e.verify_message or _ssl_reason(e)
        if "mismatch" in detail or "hostname" in detail.lower():
            return (f"TLS: the apiserver's certificate is not valid for {urlsplit(ep.server).hostname} ({detail}); "
                    "its subjectAltName must name the address in the server URL")
        return (f"TLS: the apiserver's certificate is not trusted ({detail}), verified against {ep.ca_text()}: "
                "x509: certificate signed by unknown authority")
    check = f"sent {ep.cert_text()} - is it signed by the CA in the apiserver's --client-ca-file?"
    if isinstance(e, ssl.SSLError):
        reason = (e.reason or str(e)).lower()
        if "alert" in reason:
            alert = reason.split("alert", 1)[1].replace("_", " ").strip()
            return f"TLS: the apiserver refused the connection (remote error: tls: {alert}); {check}"
        if isinstance(e, ssl.SSLEOFError) or "eof" in reason:
            # TLS 1.3: the server checks the client certificate after the client thinks the
            # handshake done; its alert can be lost to the close, leaving an EOF
            return f"TLS: the apiserver closed the connection during the handshake (no alert received); {check}"
        return f"TLS: handshake with {ep.server} failed: {_ssl_reason(e)}"
    if isinstance(e, (socket.timeout, TimeoutError)):
        return f"{ep.server}: timed out"
    return f"{ep.server}: {e.strerror if isinstance(e, OSError) and e.strerror else e}"


def unauthorized_hint(ep: Endpoint, status: int) -> str:
    """What a 401/403 means for this endpoint's credentials ("" otherwise)."""
    if status == 401:
        if ep.https and not (ep.cert_file or ep.cert_data or ep.token):
            return (f" (HTTP 401: no credentials were sent to {ep.server}; "
                    f"give client-certificate/client-key in the kubeconfig)")
        return f" (HTTP 401: the apiserver did not accept {ep.cert_text() if not ep.token else 'the token'})"
    if status == 403:
        return " (HTTP 403: authenticated, but not allowed)"
    return ""


def server_url(master: str) -> str:
    """--master as the real programs take it: host:port or a URL."""
    master = master.strip()
    if "://" not in master:
        master = "http://" + master
    return master.rstrip("/")


class HTTPError(Exception):
    def __init__(self, status: int, body: bytes):
        super().__init__(f"HTTP {status}: {body[:200]!r}")
        self.status, self.body = status, body


def request(ep: Endpoint, method: str, path: str, body=None, content_type="application/json",
            timeout: float = 5.0) -> tuple[int, bytes]:
    """One request; (status, body). Raises OSError when the server cannot be reached."""
    data = None
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
    req = urllib.request.Request(ep.server + path, data=data, method=method)
    req.add_header("Accept", "application/json")
    req.add_header("User-Agent", common.user_agent())
    if data is not None:
        req.add_header("Content-Type", content_type)
    if ep.token:
        req.add_header("Authorization", f"Bearer {ep.token}")
    try:
        if ep.https and ep.tls_server_name:
            opener = urllib.request.build_opener(_NamedHandler(ep.ssl_context(), ep.tls_server_name))
            opened = opener.open(req, timeout=timeout)
        else:
            opened = urllib.request.urlopen(req, timeout=timeout, context=ep.ssl_context())
        with opened as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except urllib.error.URLError as e:
        reason = e.reason if isinstance(e.reason, OSError) else OSError(str(e.reason))
        raise reason from None


class _NamedTLS(http.client.HTTPSConnection):
    """client-go's tls-server-name (rest.TLSClientConfig.ServerName): the TLS handshake
    sends, and the certificate is checked for, that name instead of the URL's host (a
    load balancer's address the certificate does not carry)."""

    def __init__(self, *args, server_name: str, **kwargs):
        super().__init__(*args, **kwargs)
        self._server_name = server_name

    def connect(self):
        http.client.HTTPConnection.connect(self)
        self.sock = self._context.wrap_socket(self.sock, server_hostname=self._server_name)


class _NamedHandler(urllib.request.HTTPSHandler):
    def __init__(self, context: ssl.SSLContext, server_name: str):
        super().__init__(context=context)
        self._server_name = server_name

    def https_open(self, req):
        return self.do_open(functools.partial(_NamedTLS, server_name=self._server_name), req, context=self._context)


def probe(ep: Endpoint, timeout: float = 2.0) -> str | None:
    """GET /healthz: None when it answers `ok`, else why not (in words, see describe_failure)."""
    try:
        status, body = request(ep, "GET", "/healthz", timeout=timeout)
    except (OSError, ValueError) as e:  # ssl.SSLError is an OSError
        return describe_failure(ep, e)
    except CredentialsError as e:
        return f"TLS credentials ({ep.source or 'flags'}) cannot be used: {e}"
    if status == 200 and body.strip() == b"ok":
        return None
    return f"/healthz answered {status}: {status_message(body)}{unauthorized_hint(ep, status)}"


def healthz(ep: Endpoint, timeout: float = 2.0) -> bool:
    return probe(ep, timeout) is None


def status_message(body: bytes) -> str:
    """The message of a metav1.Status body, else the body's start."""
    try:
        obj = json.loads(body)
        if isinstance(obj, dict) and obj.get("message"):
            return str(obj["message"])
    except ValueError:
        pass
    return body[:200].decode(errors="replace").strip()

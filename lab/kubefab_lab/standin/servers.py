"""The socket servers behind the apiserver's ports: plain HTTP, HTTPS with each
handshake in its connection's thread, and a listener that accepts and closes (the
secure port without a certificate); the secure port's SSL context, and the
self-signed pair made when no certificate is given."""
from __future__ import annotations

import os
import re
import shutil
import socket
import ssl
import subprocess
import time
from http.server import ThreadingHTTPServer

from .common import Config, fatal, no_delay, warning
from .flags import Parsed


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, addr, handler):
        self.address_family = socket.AF_INET6 if ":" in addr[0] else socket.AF_INET
        super().__init__(addr, handler)

    def get_request(self):
        sock, peer = super().get_request()
        return no_delay(sock), peer


HANDSHAKE_TIMEOUT = 10.0


class _TLSServer(_HTTPServer):
    """HTTPS: each connection's handshake runs in its own thread (ThreadingMixIn calls
    finish_request there), so a slow or bad client never holds up the listener; a failed
    handshake is logged as Go's server logs it ("http: TLS handshake error from ...")."""

    def __init__(self, addr, handler, ctx: ssl.SSLContext):
        super().__init__(addr, handler)
        self.ctx = ctx

    def finish_request(self, request, client_address):
        peer = f"{client_address[0]}:{client_address[1]}"
        request.settimeout(HANDSHAKE_TIMEOUT)
        try:
            first = request.recv(1, socket.MSG_PEEK)
            if first and first != b"\x16":  # not a TLS handshake record: plain HTTP, as Go answers it
                request.sendall(b"HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n")
                warning(f"http: TLS handshake error from {peer}: client sent an HTTP request to an HTTPS server")
                return
            conn = self.ctx.wrap_socket(request, server_side=True, do_handshake_on_connect=False)
        except OSError as e:
            warning(f"http: TLS handshake error from {peer}: {_handshake_reason(e)}")
            return
        try:
            conn.do_handshake()
        except (ssl.SSLError, OSError) as e:
            warning(f"http: TLS handshake error from {peer}: {_handshake_reason(e)}")
            _close_gently(conn)
            return
        conn.settimeout(None)
        try:
            self.RequestHandlerClass(conn, client_address, self)
        finally:
            try:
                conn.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            conn.close()


def _close_gently(conn: ssl.SSLSocket) -> None:
    """After a failed handshake: FIN, not RST. A TLS 1.3 client sends its request right
    after its Finished; closing with those bytes unread makes the kernel reset the
    connection, and the client may never read the alert that says why."""
    raw = socket.socket(fileno=conn.detach())
    try:
        raw.shutdown(socket.SHUT_WR)
        raw.settimeout(1.0)
        while raw.recv(65536):
            pass
    except OSError:
        pass
    finally:
        raw.close()


def _handshake_reason(e: BaseException) -> str:
    if isinstance(e, ssl.SSLCertVerificationError):
        return (f"the client certificate is not signed by the --client-ca-file CA (or not valid for client "
                f"auth): {e.verify_message or e.reason}")
    if isinstance(e, ssl.SSLError):
        return (e.reason or str(e)).lower().replace("_", " ")
    if isinstance(e, (socket.timeout, TimeoutError)):
        return f"no handshake within {HANDSHAKE_TIMEOUT:g}s"
    return str(e)


TLS_VERSIONS = {"VersionTLS12": ssl.TLSVersion.TLSv1_2, "VersionTLS13": ssl.TLSVersion.TLSv1_3}


def server_context(cfg: Config, fl: Parsed, cert: tuple[str, str]) -> ssl.SSLContext:
    """The secure port's TLS: TLS 1.2+ (or --tls-min-version=VersionTLS13), the serving
    pair, and with --client-ca-file client certificates asked for and verified. The
    client CA is authentication config: a bad one is fatal, as for the real server."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    wanted = fl["tls-min-version"]
    if wanted in TLS_VERSIONS:
        ctx.minimum_version = TLS_VERSIONS[wanted]
    elif wanted:
        warning(f"--tls-min-version={wanted}: the stand-in serves TLS 1.2 and later")
    if fl["tls-cipher-suites"]:
        warning("--tls-cipher-suites: not emulated (Python's default suites are used)")
    ctx.set_alpn_protocols(["http/1.1"])
    ca = fl["client-ca-file"]
    if ca:
        try:
            ctx.load_verify_locations(cafile=ca)
        except (OSError, ssl.SSLError) as e:
            fatal(f"Invalid Authentication Config: unable to load client CA file {ca}: "
                  f"{(getattr(e, 'reason', None) or str(e)).lower().replace('_', ' ')}")
        ctx.verify_mode = ssl.CERT_OPTIONAL
    ctx.load_cert_chain(*cert)  # ssl.SSLError/OSError: the caller decides
    return ctx


def self_signed(cert_dir: str, host: str) -> tuple[str, str] | None:
    """apiserver.crt/.key in cert_dir (made with openssl when missing), as the real
    server generates its own pair; None when openssl is not there."""
    crt, key = os.path.join(cert_dir, "apiserver.crt"), os.path.join(cert_dir, "apiserver.key")
    if os.path.isfile(crt) and os.path.isfile(key):
        return crt, key
    openssl = shutil.which("openssl")
    if not openssl:
        return None
    try:
        os.makedirs(cert_dir, exist_ok=True)
        san = f"IP:{host}" if re.fullmatch(r"[\d.]+|[0-9a-fA-F:]+", host) else f"DNS:{host}"
        subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "365",
                        "-keyout", key, "-out", crt, "-subj", f"/CN={host}@{int(time.time())}",
                        "-addext", f"subjectAltName={san},DNS:localhost,IP:127.0.0.1"],
                       check=True, capture_output=True, timeout=60)
        os.chmod(key, 0o600)
        return crt, key
    except (OSError, subprocess.SubprocessError) as e:
        warning(f"could not generate a self-signed certificate in {cert_dir}: {e}")
        return None


class _Closer:
    """A TCP listener that accepts and closes: the secure port without a certificate."""

    def __init__(self, sock):
        self.sock, self._stop = sock, False

    def serve_forever(self):
        self.sock.settimeout(0.5)
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
                conn.close()
            except socket.timeout:
                continue
            except OSError:
                return

    def shutdown(self):
        self._stop = True

    def server_close(self):
        self.sock.close()

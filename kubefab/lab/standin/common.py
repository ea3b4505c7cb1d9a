"""What every stand-in program shares: its baked-in config, glog-style logging,
SIGTERM handling, a small HTTP(S) client, and the little YAML a kubeconfig needs."""
from __future__ import annotations

import json
import os
import pkgutil
import re
import shutil
import signal
import socket
import ssl
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit

# --- config -------------------------------------------------------------------------


@dataclass(frozen=True)
class Config:
    version: str  # "v1.0.1"
    faults: frozenset[str]

    @property
    def v(self) -> tuple[int, int, int]:
        return parse_version(self.version)


def parse_version(version: str) -> tuple[int, int, int]:
    m = re.match(r"^v?(\d+)\.(\d+)(?:\.(\d+))?", version)
    if not m:
        raise ValueError(f"not a Kubernetes version: {version!r}")
    return int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)


def load_config() -> Config:
    """config.json beside this module (inside the zipapp); from a source checkout,
    KUBEFAB_STANDIN_VERSION / KUBEFAB_STANDIN_FAULTS stand in for it."""
    data = None
    try:
        raw = pkgutil.get_data(__package__, "config.json")
        data = json.loads(raw) if raw else None
    except (OSError, ValueError):
        data = None
    if data is None:
        data = {"version": os.environ.get("KUBEFAB_STANDIN_VERSION", "v1.0.1"),
                "faults": [f for f in os.environ.get("KUBEFAB_STANDIN_FAULTS", "").split(",") if f]}
    return Config(data["version"], frozenset(data.get("faults", ())))


def env_float(name: str, default: float) -> float:
    """A timing knob for tests (KUBEFAB_STANDIN_*); the default otherwise."""
    try:
        return float(os.environ[name])
    except (KeyError, ValueError):
        return default


# --- logging (glog's line format: Lmmdd hh:mm:ss.uuuuuu pid prefix] msg) ------------

_prog = "standin"
_verbosity = 0
_user_agent = "standin"
_log_lock = threading.Lock()


def set_program(name: str, verbosity: int = 0, version: str = "") -> None:
    """Who logs (and, with the version, the User-Agent the real programs send:
    `kubelet/v1.0.1 (linux/amd64) kubernetes/<commit>`)."""
    global _prog, _verbosity, _user_agent
    _prog, _verbosity = name, verbosity
    if version:
        import uuid

        commit = uuid.uuid5(uuid.NAMESPACE_URL, "kubefab-standin/" + version).hex[:7]
        _user_agent = f"{name}/{version} (linux/amd64) kubernetes/{commit}"


def _log(level: str, msg: str) -> None:
    now = time.time()
    lt = time.localtime(now)
    stamp = time.strftime("%m%d %H:%M:%S", lt) + f".{int(now % 1 * 1e6):06d}"
    line = f"{level}{stamp} {os.getpid():7d} {_prog}] {msg}\n"
    with _log_lock:
        try:
            sys.stderr.write(line)
            sys.stderr.flush()
        except (OSError, ValueError):
            pass


def info(msg: str, v: int = 0) -> None:
    if v <= _verbosity:
        _log("I", msg)


def warning(msg: str) -> None:
    _log("W", msg)


def error(msg: str) -> None:
    _log("E", msg)


def error_exit(errors: list[str]):
    """cobra's way to refuse a configuration: `Error: <msg>` (an aggregate in brackets)."""
    text = errors[0] if len(errors) == 1 else "[" + ", ".join(errors) + "]"
    with _log_lock:
        sys.stderr.write(f"Error: {text}\n")
        sys.stderr.flush()
    raise SystemExit(1)


def fatal(msg: str, code: int = 1):
    """Log like glog's Fatal and exit (1, not glog's 255: systemd sees a failure either way)."""
    _log("F", msg)
    raise SystemExit(code)


# --- signals ------------------------------------------------------------------------

stopping = threading.Event()


def install_signal_handlers() -> None:
    """SIGTERM/SIGINT: log, then leave cleanly (exit 0) from the main thread."""

    def handler(signum, _frame):
        if stopping.is_set():
            return
        stopping.set()
        info(f"received signal {signal.Signals(signum).name}, shutting down")
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def sleep(seconds: float) -> None:
    """time.sleep that a signal can cut short (the handler raises SystemExit)."""
    end = time.monotonic() + seconds
    while not stopping.is_set():
        left = end - time.monotonic()
        if left <= 0:
            return
        time.sleep(min(left, 0.2))


# --- HTTP client ----------------------------------------------------------------------


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
    req.add_header("User-Agent", _user_agent)
    if data is not None:
        req.add_header("Content-Type", content_type)
    if ep.token:
        req.add_header("Authorization", f"Bearer {ep.token}")
    try:
        with urllib.request.urlopen(req, timeout=timeout, context=ep.ssl_context()) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except urllib.error.URLError as e:
        reason = e.reason if isinstance(e.reason, OSError) else OSError(str(e.reason))
        raise reason from None


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


# --- a little YAML: block maps, block lists, scalars, flow [] / {} --------------------


class YAMLError(ValueError):
    pass


def load_yaml(text: str):
    """Enough YAML for kubeconfigs and KubeletConfiguration files (JSON passes too).
    Not a general parser: anchors, multi-line scalars and tags are not supported."""
    if text.lstrip().startswith("{"):
        return json.loads(text)
    lines = []
    for raw in text.splitlines():
        if raw.strip() in ("---", "...") and not raw.startswith(" "):
            if lines:
                break
            continue
        stripped = _strip_comment(raw).rstrip()
        if stripped.strip():
            lines.append((len(stripped) - len(stripped.lstrip(" ")), stripped.strip()))
    if not lines:
        return None
    value, pos = _block(lines, 0, lines[0][0])
    if pos != len(lines):
        raise YAMLError(f"cannot parse line: {lines[pos][1]!r}")
    return value


def _strip_comment(line: str) -> str:
    quote = None
    for i, c in enumerate(line):
        if quote:
            if c == quote:
                quote = None
        elif c in "'\"":
            quote = c
        elif c == "#" and (i == 0 or line[i - 1] in " \t"):
            return line[:i]
    return line


def _block(lines, pos, indent):
    if lines[pos][1].startswith("- ") or lines[pos][1] == "-":
        return _seq(lines, pos, indent)
    return _map(lines, pos, indent)


def _seq(lines, pos, indent):
    out = []
    while pos < len(lines) and lines[pos][0] == indent and (lines[pos][1].startswith("- ") or lines[pos][1] == "-"):
        rest = lines[pos][1][1:].strip()
        if not rest:
            pos += 1
            if pos < len(lines) and lines[pos][0] > indent:
                value, pos = _block(lines, pos, lines[pos][0])
            else:
                value = None
            out.append(value)
            continue
        if _key_value(rest):
            # "- key: value" opens a map whose keys sit at the column after "- "
            inner = indent + (len(lines[pos][1]) - len(rest))
            lines[pos] = (inner, rest)
            value, pos = _map(lines, pos, inner)
            out.append(value)
        else:
            out.append(_scalar(rest))
            pos += 1
    return out, pos


def _key_value(text):
    m = re.match(r'^("(?:[^"\\]|\\.)*"|\'[^\']*\'|[^\s:\'"][^:]*?)\s*:(?:\s+(.*)|$)', text)
    if not m:
        return None
    return _scalar(m.group(1)), (m.group(2) or "").strip()


def _map(lines, pos, indent):
    out = {}
    while pos < len(lines) and lines[pos][0] == indent:
        kv = _key_value(lines[pos][1])
        if kv is None:
            raise YAMLError(f"expected 'key: value': {lines[pos][1]!r}")
        key, rest = kv
        pos += 1
        if rest:
            out[str(key)] = _scalar(rest)
        elif pos < len(lines) and (lines[pos][0] > indent or
                                   (lines[pos][0] == indent and lines[pos][1].startswith("- "))):
            out[str(key)], pos = _block(lines, pos, lines[pos][0])
        else:
            out[str(key)] = None
    return out, pos


def _scalar(text: str):
    text = text.strip()
    if text.startswith('"'):
        return json.loads(text)
    if text.startswith("'"):
        return text[1:-1].replace("''", "'")
    if text.startswith("[") and text.endswith("]"):
        inner = text[1:-1].strip()
        return [_scalar(x) for x in _split_flow(inner)] if inner else []
    if text.startswith("{") and text.endswith("}"):
        inner = text[1:-1].strip()
        out = {}
        for item in _split_flow(inner) if inner else []:
            k, _, v = item.partition(":")
            out[str(_scalar(k))] = _scalar(v) if v.strip() else None
        return out
    if text in ("null", "~", "Null", "NULL"):
        return None
    if text in ("true", "True", "TRUE"):
        return True
    if text in ("false", "False", "FALSE"):
        return False
    if re.fullmatch(r"[-+]?\d+", text):
        return int(text)
    if re.fullmatch(r"[-+]?(\d+\.\d*|\.\d+)([eE][-+]?\d+)?", text):
        return float(text)
    return text


def _split_flow(text: str) -> list[str]:
    parts, depth, quote, cur = [], 0, None, ""
    for c in text:
        if quote:
            cur += c
            if c == quote:
                quote = None
            continue
        if c in "'\"":
            quote = c
        elif c in "[{":
            depth += 1
        elif c in "]}":
            depth -= 1
        elif c == "," and depth == 0:
            parts.append(cur.strip())
            cur = ""
            continue
        cur += c
    if cur.strip():
        parts.append(cur.strip())
    return parts


# --- kubeconfig -----------------------------------------------------------------------


class KubeconfigError(Exception):
    pass


def load_kubeconfig(path: str) -> Endpoint:
    """The current context's cluster server and credentials from a kubeconfig file."""
    try:
        with open(path, encoding="utf-8") as f:
            doc = load_yaml(f.read())
    except OSError as e:
        raise KubeconfigError(f"stat {path}: {e.strerror.lower() if e.strerror else e}") from None
    except ValueError as e:
        raise KubeconfigError(f"error loading config file \"{path}\": {e}") from None
    if not isinstance(doc, dict):
        raise KubeconfigError(f"error loading config file \"{path}\": not a kubeconfig")
    base = os.path.dirname(os.path.abspath(path))

    def named(section, name):
        for item in doc.get(section) or []:
            if isinstance(item, dict) and item.get("name") == name:
                return item
        return None

    ctx_name = doc.get("current-context") or ""
    ctx = (named("contexts", ctx_name) or {}).get("context") or {}
    clusters = doc.get("clusters") or []
    cluster_item = named("clusters", ctx.get("cluster")) if ctx else None
    if cluster_item is None and len(clusters) == 1:
        cluster_item = clusters[0]
    if not cluster_item or not (cluster_item.get("cluster") or {}).get("server"):
        raise KubeconfigError(f"invalid configuration: no server found for cluster in {path}")
    cluster = cluster_item["cluster"]
    user = ((named("users", ctx.get("user")) or {}).get("user") or {}) if ctx else {}

    def rel(p):
        return p if not p or os.path.isabs(p) else os.path.join(base, p)

    import base64
    import binascii

    def data(section: dict, key: str) -> bytes | None:
        raw = section.get(key)
        if not raw:
            return None
        try:
            return base64.b64decode("".join(str(raw).split()), validate=True)
        except (binascii.Error, ValueError):
            raise KubeconfigError(f"error loading config file \"{path}\": {key}: illegal base64 data") from None

    ep = Endpoint(server=str(cluster["server"]).rstrip("/"),
                  ca_file=rel(cluster.get("certificate-authority")),
                  ca_data=data(cluster, "certificate-authority-data"),
                  insecure=bool(cluster.get("insecure-skip-tls-verify")),
                  cert_file=rel(user.get("client-certificate")),
                  key_file=rel(user.get("client-key")),
                  cert_data=data(user, "client-certificate-data"),
                  key_data=data(user, "client-key-data"),
                  token=user.get("token"),
                  source=f"kubeconfig {path}")
    if ep.insecure and (ep.ca_file or ep.ca_data):  # client-go refuses the pair
        raise KubeconfigError("invalid configuration: specifying a root certificates file with the insecure flag "
                              "is not allowed")
    if user.get("tokenFile") and not ep.token:
        try:
            with open(rel(user["tokenFile"]), encoding="utf-8") as f:
                ep.token = f.read().strip()
        except OSError:
            pass
    return ep


def rfc3339(t: float | None = None) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() if t is None else t))

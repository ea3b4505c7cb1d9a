"""What every stand-in program shares: its baked-in config, glog-style logging,
SIGTERM handling. The HTTP(S) client is `client`, kubeconfigs `kubeconfig`, the
little YAML `miniyaml`."""
from __future__ import annotations

import json
import os
import pkgutil
import re
import signal
import socket
import sys
import threading
import time
from dataclasses import dataclass

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


def user_agent() -> str:
    """The User-Agent set_program chose, for the HTTP client."""
    return _user_agent


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


def go_quote(text: str) -> str:
    """Go's %q, for the ASCII the stand-ins log."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _structured(level: str, where: str, msg: str, **kv) -> None:
    """A klog structured line: `E0102 03:04:05.678901    123 run.go:72] "msg" key="value"`."""
    now = time.time()
    stamp = time.strftime("%m%d %H:%M:%S", time.localtime(now)) + f".{int(now % 1 * 1e6):06d}"
    pairs = "".join(f" {k}={go_quote(str(v))}" for k, v in kv.items())
    with _log_lock:
        sys.stderr.write(f"{level}{stamp} {os.getpid():7d} {where}] {go_quote(msg)}{pairs}\n")
        sys.stderr.flush()


def info_structured(msg: str, **kv) -> None:
    _structured("I", f"{_prog}.go:0", msg, **kv)


def command_failed(err: str):
    """component-base's cli.Run once logging is set up (1.2x on): the error as a
    structured klog line, `E... run.go:72] "command failed" err="..."`; exit 1."""
    _structured("E", "run.go:72", "command failed", err=err)
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


def rfc3339(t: float | None = None) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() if t is None else t))


def no_delay(sock: socket.socket) -> socket.socket:
    """An accepted connection with Nagle's algorithm off, as Go's net package leaves every
    TCP connection (TCPConn.SetNoDelay: "the default is true"), so the real servers'. With
    it on, a response written in two parts (http.server writes the headers, then the
    body) waits for the client's delayed ACK of the first: about 40 ms a request."""
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock

"""Helpers for the stand-in tests: processes that are always stopped, HTTP, free
ports on 127.0.0.x, and starting a stand-in apiserver."""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
import uuid
from pathlib import Path

ETCD = shutil.which("etcd")
API_ADDR = "127.0.0.71"
NODE_ADDR = "127.0.0.73"
# Fast timings for the stand-ins under test (the defaults suit systemd hosts).
FAST_ENV = {"KUBEFAB_STANDIN_HEARTBEAT": "1", "KUBEFAB_STANDIN_ETCD_WAIT": "1",
            "KUBEFAB_STANDIN_STARTUP_TIMEOUT": "3", "KUBEFAB_STANDIN_PROXY_STARTUP_TIMEOUT": "3",
            "KUBEFAB_STANDIN_POLL": "0.5", "KUBEFAB_STANDIN_MASTER_GRACE": "2"}


def free_port(addr: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((addr, 0))
        return s.getsockname()[1]


def http_get(url: str, timeout: float = 2.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def http(method: str, url: str, body=None, ctype="application/json") -> tuple[int, dict]:
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": ctype})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def wait_until(predicate, timeout: float, what: str, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


class Proc:
    def __init__(self, argv, log: Path, env: dict):
        self.argv, self.log_path = argv, log
        self._log = open(log, "wb")
        self.popen = subprocess.Popen(argv, stdout=self._log, stderr=subprocess.STDOUT, env=env,
                                      stdin=subprocess.DEVNULL, start_new_session=True)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def alive(self) -> bool:
        return self.popen.poll() is None

    def wait_exit(self, timeout: float) -> int:
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"{self.argv[0]} still runs after {timeout}s; its log:\n{self.log()}") from None

    def stop(self, timeout: float = 5.0) -> int | None:
        """SIGTERM (then SIGKILL) this process only, by its pid."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5)
        self._log.close()
        return self.popen.returncode


class Procs:
    """Starts processes and stops every one of them at teardown."""

    def __init__(self, tmp: Path):
        self.tmp, self.started = tmp, []

    def start(self, argv, name: str | None = None, env: dict | None = None) -> Proc:
        name = name or Path(argv[0]).name
        log = self.tmp / f"{name}-{len(self.started)}.log"
        environ = {**os.environ, **FAST_ENV, **(env or {})}
        proc = Proc([str(a) for a in argv], log, environ)
        self.started.append(proc)
        return proc

    def stop_all(self):
        for proc in reversed(self.started):
            proc.stop()


class Api:
    def __init__(self, url: str, port: int, proc: Proc, argv: list[str]):
        self.url, self.port, self.proc, self.argv = url, port, proc, argv

    def get(self, path: str):
        return http("GET", self.url + path)

    def node(self, name: str) -> dict | None:
        code, body = self.get(f"/api/v1/nodes/{name}")
        return body if code == 200 else None


def seed_apiserver_argv(bin_dir: Path, port: int, etcd_url: str, prefix: str, addr: str = API_ADDR,
                        extra=()) -> list:
    """The original cluster's kube-apiserver command line, on a lab address."""
    return [bin_dir / "kube-apiserver", f"--address={addr}", f"--port={port}", "--kubelet-https=true",
            f"--bind-address={addr}", f"--secure-port={free_port(addr)}", "--service-cluster-ip-range=10.100.0.0/16",
            f"--etcd-servers={etcd_url}", "--cloud-provider=vagrant", "--logtostderr=true", "--v=3",
            f"--etcd-prefix={prefix}", *extra]


def start_apiserver(procs: Procs, bin_dir: Path, etcd_url: str, prefix: str | None = None, port: int | None = None,
                    extra=(), argv=None) -> Api:
    port = port or free_port(API_ADDR)
    prefix = prefix or f"/test-{uuid.uuid4().hex[:8]}"
    argv = argv or seed_apiserver_argv(bin_dir, port, etcd_url, prefix, extra=extra)
    proc = procs.start(argv, "kube-apiserver")
    url = f"http://{API_ADDR}:{port}"

    def up():
        if not proc.alive():
            raise AssertionError(f"kube-apiserver exited {proc.popen.returncode}:\n{proc.log()}")
        try:
            return http_get(url + "/healthz", 1) == (200, b"ok")
        except OSError:
            return False

    wait_until(up, 15, "the apiserver's /healthz")
    return Api(url, port, proc, [str(a) for a in argv])

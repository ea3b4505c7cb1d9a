"""The lab's machine-side services, run detached so they outlive `fab lab.up`: a real
etcd on 127.0.0.1 and an HTTP server for the release tarballs."""
from __future__ import annotations

import os
import shutil
import socket
import sys
import time
import urllib.request
from pathlib import Path

from . import procs
from .state import LabError, Layout


def port_taken(address: str, port: int) -> bool:
    """Whether something listens on address:port (a bind test, then a connect test)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((address, port))
        except OSError:
            return True
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((address, port)) == 0


def free_port(address: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((address, 0))
        return s.getsockname()[1]


def free_port_pair() -> int:
    """A port p on 127.0.0.1 with p and p + 1 free (etcd's client and peer ports)."""
    for _ in range(100):
        port = free_port()
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
    raise RuntimeError("no two free ports in a row on 127.0.0.1")


def _wait_url(url: str, pid: int, what: str, log: Path, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not procs.alive(pid):
            break
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    tail = "\n".join(log.read_text(errors="replace").splitlines()[-10:]) if log.exists() else ""
    raise LabError(f"{what} did not answer at {url}; the end of {log}:\n{tail}")


def start_etcd(layout: Layout, port: int) -> str:
    """A one-member etcd on 127.0.0.1:port (peer port+1); its client URL."""
    url, peer = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{port + 1}"
    layout.etcd_data.mkdir(parents=True, exist_ok=True)
    argv = ["etcd", "--name", "lab", "--data-dir", str(layout.etcd_data),
            "--listen-client-urls", url, "--advertise-client-urls", url,
            "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
            "--initial-cluster", f"lab={peer}", "--listen-metrics-urls", ""]
    log = layout.log_file("etcd")
    pid = procs.spawn(argv, layout.pid_file("etcd"), log)
    _wait_url(f"{url}/health", pid, "etcd", log)
    return url


def start_http(layout: Layout) -> tuple[str, int]:
    """The release server (kubefab_lab.release_server) for the releases dir on a free
    127.0.0.1 port."""
    layout.releases.mkdir(parents=True, exist_ok=True)
    port = free_port()
    argv = [sys.executable, "-m", "kubefab_lab.release_server", "--bind", "127.0.0.1",
            "--directory", str(layout.releases), str(port)]
    log = layout.log_file("http")
    pid = procs.spawn(argv, layout.pid_file("http"), log)
    url = f"http://127.0.0.1:{port}"
    _wait_url(url + "/", pid, "the release server", log)
    return url, port


def markers(layout: Layout) -> dict[str, str]:
    """Per service, what its command line contains (so a reused pid is not ours)."""
    return {"etcd": str(layout.etcd_data), "http": str(layout.releases)}


def running(layout: Layout) -> dict[str, int]:
    """The lab services that run now: name -> pid."""
    found = {}
    for name, marker in markers(layout).items():
        pid = procs.read_pid(layout.pid_file(name))
        if procs.alive(pid, marker):
            found[name] = pid
    return found


def stop_all(layout: Layout) -> None:
    for name, marker in markers(layout).items():
        pid = procs.read_pid(layout.pid_file(name))
        procs.stop([pid] if pid else [], marker)
        layout.pid_file(name).unlink(missing_ok=True)


def publish_release(layout: Layout, version: str, faults, build, cache: Path) -> tuple[str, str]:
    """Build a release with `build(version, out_dir, faults=...)` in the cache (the
    builder reuses a tarball whose inputs did not change), then link it into the
    served dir atomically; its path under the server and its sha256. A faulty release
    goes beside the good one, under `<version>+<fault>+.../`."""
    name = "+".join([version, *sorted(faults)])
    try:
        release = build(version, cache / name, faults=frozenset(faults))
    except (ValueError, OSError) as e:
        raise LabError(f"cannot build the release {name}: {e}") from None
    served = layout.releases / name / "kubernetes.tar.gz"
    served.parent.mkdir(parents=True, exist_ok=True)
    staged = served.with_name(".kubernetes.tar.gz.tmp")
    staged.unlink(missing_ok=True)
    try:
        os.link(release.path, staged)
    except OSError:  # another filesystem
        shutil.copyfile(release.path, staged)
    staged.chmod(0o644)
    staged.replace(served)
    return f"{name}/kubernetes.tar.gz", release.sha256

"""A v1.37.1 lab for one test module (the repo's hosts.yaml at that version, the lab's
mirror with the sums it publishes), deployed once, and what those tests compare before
and after a run: every file a host wrote (its upper dir, by digest), when its units last
started, a local folder's bytes and mtimes."""
from __future__ import annotations

import hashlib
import http.server
import threading
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import yaml

from kubefab.inventory import load
from kubefab_lab import kubectls

from .conftest import own_lab
from .helpers import fab, unit_starts

VERSION, MINOR = "v1.37.1", "1.37"
MASTER_UNITS = ["kubernetes.apiserver.service", "kubernetes.scheduler.service",
                "kubernetes.controller-manager.service", "kubernetes.etcd.service"]
NODE_UNITS = ["kubernetes.containerd.service", "kubernetes.kubelet.service", "kubernetes.proxy.service"]
# what changes on a host by itself, deployed or not: journals, systemd's state, caches, homes
NOISE = ("var/log/", "var/lib/systemd/", "var/cache/", "var/tmp/", "tmp/", "run/", "root/", "home/core/",
         "etc/.pwd.lock", "var/lib/private", "var/lib/containerd/", "var/lib/kubelet/pods", "var/lib/etcd/",
         "opt/cni/", "var/lib/kubefab/lock")


@contextmanager
def deployed_lab(name: str, first_address: int):
    """The lab, up and deployed; taken down afterwards."""
    with own_lab(name, first_address, version=VERSION, pin_sums=False) as lab:
        fab(lab.inventory_path, "deploy")
        yield lab


def variant(inventory: Path, name: str, change) -> Path:
    """A copy of the inventory beside it (its pki/ and relative paths the same), changed."""
    data = yaml.safe_load(inventory.read_text())
    change(data)
    path = inventory.parent / f"hosts-{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def host_files(lab, name: str) -> dict[str, str]:
    """What a host wrote over its image, by digest, its noise aside."""
    upper = lab.upper_dir(name)
    out = {}
    for p in upper.rglob("*"):
        rel = p.relative_to(upper).as_posix()
        if p.is_file() and not p.is_symlink() and not rel.startswith(NOISE):
            out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def hosts(lab) -> dict:
    """Every host's files and its units' last starts."""
    inv = load(lab.inventory_path)
    return {h.name: (host_files(lab, h.name),
                     unit_starts(lab.inventory_path, h.name, MASTER_UNITS if h.is_master else NODE_UNITS))
            for h in inv.hosts}


def folder(path: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under `path`: bytes and mtime."""
    return {p.relative_to(path).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(path.rglob("*")) if p.is_file()}


def kubectl(inventory: Path):
    """The real kubectl of the minor, as the operator (pki/admin.kubeconfig)."""
    import subprocess
    binary = kubectls.ensure(MINOR)
    admin = load(inventory).kubernetes.pki_dir / "admin.kubeconfig"

    def run(*args, check=True, stdin=None):
        return subprocess.run([str(binary), "--kubeconfig", str(admin), *args], capture_output=True, text=True,
                              check=check, timeout=60, input=stdin)
    return run


@contextmanager
def slow_mirror(upstream: str, delay: float):
    """The lab's mirror behind a proxy that waits `delay` seconds before each answer: a
    download that runs for a while. Yields its URL."""
    class Slow(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            time.sleep(delay)
            try:
                with urllib.request.urlopen(upstream.rstrip("/") + self.path.removeprefix("/mirror"),
                                            timeout=30) as r:
                    body = r.read()
            except OSError:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/mirror"
    finally:
        server.shutdown()

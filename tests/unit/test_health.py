"""kubefab.health: the apiserver check that status, deploy and master.restart share. Its
argv per layout, and that argv run for real, through the probe and through
HostRun.wait_healthy, against a local HTTPS server that wants a client certificate from
the cluster CA (as kube-apiserver with --client-ca-file), using the files render puts
on the master."""
from __future__ import annotations

import http.server
import shutil
import ssl
import subprocess
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from kubefab import facts, health, pki, render
from kubefab.ops import host
from kubefab.remote import wait
from fakehost import host_run
from kubefab.remote.transport import Result
from kubefab.profiles.legacy import paths as legacy_paths

try:
    from test_render import FAKE_PKI, seed_inventory
except ImportError:  # tests/ imported as a package
    from tests.unit.test_render import FAKE_PKI, seed_inventory

CURL = ["curl", "-sS", "--globoff", "--max-time", "2"]
TLS = ["--cacert", "/etc/kubernetes/pki/ca.crt", "--cert", "/etc/kubernetes/pki/admin.crt",
       "--key", "/etc/kubernetes/pki/admin.key"]


def at(inv, address, bind="0.0.0.0"):
    return replace(inv, hosts=(replace(inv.master, address=address, bind_address=bind), *inv.nodes))


# name -> (inventory, the check's argv, what it says, the loopback check's argv and says)
CASES = {
    "tls": (seed_inventory(tls=True), [*CURL, *TLS, "https://10.1.0.1:6443/healthz"],
            "https://10.1.0.1:6443, TLS, client certificate",
            ([*CURL, "http://127.0.0.1:8080/healthz"], "loopback :8080")),
    "lab": (at(seed_inventory(tls=True), "127.0.0.2", "127.0.0.2"), [*CURL, *TLS, "https://127.0.0.2:6443/healthz"],
            "https://127.0.0.2:6443, TLS, client certificate",
            ([*CURL, "http://127.0.0.2:8080/healthz"], "loopback :8080")),
    "ipv6": (at(seed_inventory(tls=True), "fd00::1", "::"), [*CURL, *TLS, "https://[fd00::1]:6443/healthz"],
             "https://[fd00::1]:6443, TLS, client certificate",
             ([*CURL, "http://127.0.0.1:8080/healthz"], "loopback :8080")),
    # without tls the insecure port is the nodes' way in: checked as before TLS
    "plain": (seed_inventory(), [*CURL, "http://127.0.0.1:8080/healthz"], "http://127.0.0.1:8080", None),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_check_asks_the_port_nodes_use(name):
    inv, argv, says, loopback = CASES[name]
    check = inv.profile.health()
    assert (list(check.argv), check.says, check.url) == (argv, says, argv[-1])
    lo = inv.profile.loopback()
    assert (lo and (list(lo.argv), lo.says)) == loopback


def test_the_master_gets_what_the_check_reads():
    inv = seed_inventory(tls=True)
    files = render.render_host(inv, inv.master, FAKE_PKI)
    check = inv.profile.health()
    for path in (legacy_paths.CA_CERT, legacy_paths.ADMIN_CERT, legacy_paths.ADMIN_KEY):
        assert path in check.argv and path in files
    key = files[legacy_paths.ADMIN_KEY]
    assert (key.content, key.mode, key.secret, key.restarts) == (FAKE_PKI.admin.key, 0o600, True, ())
    assert not [p for p in render.render_host(inv, inv.host("azure-prd-02"), FAKE_PKI) if "admin" in p]


# --- for real ---------------------------------------------------------------------------

class _Apiserver(http.server.BaseHTTPRequestHandler):
    """/healthz says ok to a client with a verified certificate, 401 without one (the
    stand-in's and kube-apiserver v1.0's x509-only authentication)."""

    def do_GET(self):
        known = self.connection.getpeercert()
        code, body = (200, b"ok") if known and self.path == "/healthz" else (401, b"Unauthorized\n")
        self.send_response(code)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def master(tmp_path):
    """(inventory, root): an HTTPS server on 127.0.0.1 with the cluster's apiserver
    certificate, the inventory's secure port pointing at it, and the master's rendered
    files under root/ (the check's paths, prefixed)."""
    if not shutil.which("curl"):
        pytest.skip("curl is not installed")
    inv = at(seed_inventory(tls=True), "127.0.0.1")
    inv = replace(inv, kubernetes=replace(inv.kubernetes, pki_dir=tmp_path / "pki"))
    made = pki.ensure(inv)
    root = tmp_path / "root"
    for path, f in render.render_host(inv, inv.master, made).items():
        if path.startswith(legacy_paths.PKI_DIR):
            (root / path.lstrip("/")).parent.mkdir(parents=True, exist_ok=True)
            (root / path.lstrip("/")).write_text(f.content)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(made.dir / "apiserver.crt", made.dir / "apiserver.key")
    ctx.load_verify_locations(made.dir / "ca.crt")
    ctx.verify_mode = ssl.CERT_OPTIONAL
    server = http.server.HTTPServer(("127.0.0.1", 0), _Apiserver)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    k = inv.kubernetes
    yield replace(inv, kubernetes=replace(k, apiserver=replace(k.apiserver, secure_port=server.server_address[1]))), root
    server.shutdown()
    server.server_close()


def rooted(argv, root: Path) -> list[str]:
    return [str(root) + a if a.startswith(legacy_paths.PKI_DIR) else a for a in argv]


def probe_healthz(argv) -> str | None:
    args = facts.probe_args("/nonexistent", "/nonexistent", [], [], healthz=argv)
    out = subprocess.run([*host.PROBE.argv(), *args], capture_output=True, text=True, check=True)
    return facts.parse(out.stdout).healthz


def test_the_probe_gets_ok_with_the_masters_files(master):
    inv, root = master
    assert probe_healthz(rooted(inv.profile.health().argv, root)) == "ok"


def test_without_the_client_certificate_it_is_not_ok(master):
    inv, root = master
    argv = [a for a in rooted(inv.profile.health().argv, root) if "admin" not in a and a not in ("--cert", "--key")]
    assert probe_healthz(argv) == "Unauthorized"
    (root / legacy_paths.ADMIN_KEY.lstrip("/")).write_text(pki.ensure(
        replace(inv, kubernetes=replace(inv.kubernetes, pki_dir=root / "other"))).admin.key)
    said = probe_healthz(rooted(inv.profile.health().argv, root))
    assert said.startswith("curl: (58)")  # the key does not match the certificate: curl says why


class LocalRemote:
    """steps' view of a host, running argv here (with the master's paths under root)."""

    def __init__(self, root: Path):
        self.root, self.ran = root, []

    def run(self, argv, *, sudo=False, check=True, **kwargs):
        self.ran.append((list(argv), sudo))
        r = subprocess.run(rooted(argv, self.root), capture_output=True, text=True, timeout=30)
        return Result(" ".join(argv), r.returncode, r.stdout, r.stderr)


def test_deploy_and_master_restart_wait_with_the_same_check(master):
    inv, root = master
    remote = LocalRemote(root)
    assert host_run(remote, inv, timeout=5).wait_healthy() == inv.profile.health().says
    [(argv, sudo)] = remote.ran  # one look on the host, as root: the admin key is 0600
    assert argv[:4] == wait.LOOK.argv()[:4] and argv[8:] == list(inv.profile.health().argv) and sudo

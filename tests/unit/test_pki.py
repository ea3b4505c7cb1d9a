"""kubefab.pki: what ensure() makes (files, modes, names, signatures), that a second run
changes nothing, what makes it re-issue a leaf (and never the CA), the admin
kubeconfig, and a real TLS handshake with the certificates (Python's ssl and curl)."""
from __future__ import annotations

import base64
import datetime as dt
import http.server
import shutil
import ssl
import subprocess
import threading
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from kubefab import profiles
from kubefab import certs, pki
from kubefab.model import Host, NODE

try:
    from test_render import seed_inventory
except ImportError:  # tests/ imported as a package
    from tests.unit.test_render import seed_inventory

NODES = ("azure-prd-02", "azure-prd-03", "azure-prd-04", "ded-prd-01")
LEAVES = ("apiserver", *(f"kubelet-{n}" for n in NODES), "kube-proxy", "admin")
FILES = {"ca.crt": 0o644, "ca.key": 0o600, "admin.kubeconfig": 0o600,
         **{f"{leaf}.crt": 0o644 for leaf in LEAVES}, **{f"{leaf}.key": 0o600 for leaf in LEAVES}}
SERVER, CLIENT = ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH
APISERVER_DNS = {"azure-prd-01", "kubernetes", "kubernetes.default", "kubernetes.default.svc"}
APISERVER_IPS = {"10.1.0.1", "127.0.0.1", "10.100.0.1"}
# leaf -> (CN, O, usage, DNS SANs, IP SANs)
SUBJECTS = {
    "apiserver": ("kube-apiserver", [], SERVER, APISERVER_DNS, APISERVER_IPS),
    **{f"kubelet-{n}": (f"system:node:{n}", ["system:nodes"], CLIENT, set(), set()) for n in NODES},
    "kube-proxy": ("system:kube-proxy", [], CLIENT, set(), set()),
    "admin": ("kubefab-admin", ["system:masters"], CLIENT, set(), set()),
}


def inventory(folder: Path, **kube):
    inv = seed_inventory(tls=True)
    k = replace(inv.kubernetes, pki_dir=folder, **kube)
    return replace(inv, kubernetes=k, profile_class=profiles.kind(k.version))


def snapshot(folder: Path) -> dict[str, tuple[bytes, int, int]]:
    """Every file under `folder` (the kept previous versions as previous/NAME)."""
    return {p.relative_to(folder).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns, p.stat().st_mode & 0o777)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def cert(folder: Path, name: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate((folder / f"{name}.crt").read_bytes())


def verify_signature(leaf: x509.Certificate, ca: x509.Certificate) -> None:
    """The CA's public key checks the leaf's signature (raises InvalidSignature if not)."""
    assert leaf.issuer == ca.subject
    ca.public_key().verify(leaf.signature, leaf.tbs_certificate_bytes, ec.ECDSA(leaf.signature_hash_algorithm))


def sans(c: x509.Certificate) -> tuple[set[str], set[str]]:
    try:
        ext = c.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return set(), set()
    return set(ext.get_values_for_type(x509.DNSName)), {str(i) for i in ext.get_values_for_type(x509.IPAddress)}


# --- what ensure makes ------------------------------------------------------------------

def test_ensure_makes_every_file_private(tmp_path):
    folder = tmp_path / "pki"
    made = pki.ensure(inventory(folder))
    assert folder.stat().st_mode & 0o777 == 0o700
    assert {name: mode for name, (_, _, mode) in snapshot(folder).items()} == FILES
    assert made.dir == folder and made.admin_kubeconfig == folder / "admin.kubeconfig"
    assert made.ca_cert == (folder / "ca.crt").read_text()
    assert made.apiserver == ((folder / "apiserver.crt").read_text(), (folder / "apiserver.key").read_text())
    assert made.kubelets["ded-prd-01"].key == (folder / "kubelet-ded-prd-01.key").read_text()
    assert made.kubelet("azure-prd-02") == made.kubelets["azure-prd-02"] and set(made.kubelets) == set(NODES)
    assert made.changes[0].startswith("created the cluster CA")
    assert (folder / "admin.key").read_text().startswith("-----BEGIN EC PRIVATE KEY-----\n")
    assert "PRIVATE KEY" not in repr(made) and made.proxy.key not in repr(made)


@pytest.mark.parametrize("leaf", sorted(SUBJECTS))
def test_certificates_say_what_they_are_for_and_verify_against_the_ca(tmp_path, leaf):
    pki.ensure(inventory(tmp_path))
    ca, c = cert(tmp_path, "ca"), cert(tmp_path, leaf)
    cn, orgs, usage, dns, ips = SUBJECTS[leaf]
    verify_signature(c, ca)
    c.verify_directly_issued_by(ca)
    assert [a.value for a in c.subject.get_attributes_for_oid(NameOID.COMMON_NAME)] == [cn]
    assert [a.value for a in c.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)] == orgs
    assert list(c.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) == [usage]
    assert c.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    assert sans(c) == (dns, ips)
    assert isinstance(c.public_key(), ec.EllipticCurvePublicKey) and c.public_key().curve.name == "secp256r1"
    days = (c.not_valid_after_utc - c.not_valid_before_utc).days
    assert days == pki.LEAF_DAYS
    ca_days = (ca.not_valid_after_utc - ca.not_valid_before_utc).days
    assert ca_days == pki.CA_DAYS and ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


@pytest.mark.parametrize("address, bind, dns, ips", [
    ("10.1.0.1", "0.0.0.0", set(), {"10.1.0.1"}),  # production: a wildcard bind is no name
    ("127.0.0.2", "127.0.0.2", set(), {"127.0.0.2"}),  # the lab
    ("10.1.0.1", "10.2.0.1", set(), {"10.1.0.1", "10.2.0.1"}),
    ("master.example.com", "0.0.0.0", {"master.example.com"}, set()),
    ("fd00::1", "::", set(), {"fd00::1"}),
])
def test_apiserver_names(address, bind, dns, ips):
    inv = seed_inventory(tls=True)
    inv = replace(inv, hosts=(replace(inv.master, address=address, bind_address=bind), *inv.nodes))
    got_dns, got_ips = pki.apiserver_sans(inv)
    assert set(got_dns) == APISERVER_DNS | dns and len(got_dns) == len(set(got_dns))
    assert set(got_ips) == {"127.0.0.1", "10.100.0.1"} | ips and len(got_ips) == len(set(got_ips))


def test_admin_kubeconfig(tmp_path):
    made = pki.ensure(inventory(tmp_path))
    doc = yaml.safe_load(made.admin_kubeconfig.read_text())
    cluster, user = doc["clusters"][0]["cluster"], doc["users"][0]["user"]
    assert cluster["server"] == "https://10.1.0.1:6443"
    assert base64.b64decode(cluster["certificate-authority-data"]).decode() == made.ca_cert
    assert base64.b64decode(user["client-certificate-data"]).decode() == made.admin.cert
    assert base64.b64decode(user["client-key-data"]).decode() == made.admin.key
    assert doc["current-context"] == "kubefab-admin@production"


def test_no_tls_no_pki(tmp_path):
    assert pki.ensure(inventory(tmp_path / "pki", tls=False)) is None
    assert not (tmp_path / "pki").exists()


# --- idempotence and re-issuing ------------------------------------------------------------

def test_second_ensure_changes_no_file(tmp_path):
    inv = inventory(tmp_path)
    first = pki.ensure(inv)
    before = snapshot(tmp_path)
    second = pki.ensure(inv)
    assert snapshot(tmp_path) == before  # bytes, mtimes and modes
    assert second == first and second.changes == ()


def _master_moved(inv):
    return replace(inv, hosts=(replace(inv.master, address="10.1.0.9"), *inv.nodes))


def _node_added(inv):
    return replace(inv, hosts=(*inv.hosts, Host("azure-prd-05", "10.1.0.6", NODE)))


def _service_range(inv):
    k = inv.kubernetes
    return replace(inv, kubernetes=replace(k, apiserver=replace(k.apiserver, service_cluster_ip_range="10.200.0.0/16")))


def _delete(name):
    def change(folder):
        (folder / name).unlink()
    return change


def _foreign_key(name):
    def change(folder):
        other = certs.key_pem(ec.generate_private_key(ec.SECP256R1()))
        (folder / name).write_text(other)
    return change


def _other_ca(folder):
    """kube-proxy's certificate replaced by one a different CA signed."""
    other = folder.parent / "other"
    pki.ensure(inventory(other))
    for suffix in ("crt", "key"):
        shutil.copy(other / f"kube-proxy.{suffix}", folder / f"kube-proxy.{suffix}")


# change (to the inventory, or to the folder) -> files rewritten (the CA never)
REISSUE = [
    ("master address changed", _master_moved, None, {"apiserver.crt", "apiserver.key", "admin.kubeconfig"}),
    ("service range changed", _service_range, None, {"apiserver.crt", "apiserver.key"}),
    ("node added", _node_added, None, {"kubelet-azure-prd-05.crt", "kubelet-azure-prd-05.key"}),
    ("certificate deleted", None, _delete("kube-proxy.crt"), {"kube-proxy.crt", "kube-proxy.key"}),
    ("key deleted", None, _delete("kubelet-ded-prd-01.key"), {"kubelet-ded-prd-01.crt", "kubelet-ded-prd-01.key"}),
    ("key does not match", None, _foreign_key("apiserver.key"), {"apiserver.crt", "apiserver.key"}),
    ("signed by another CA", None, _other_ca, {"kube-proxy.crt", "kube-proxy.key"}),
    ("admin kubeconfig edited", None, lambda f: (f / "admin.kubeconfig").write_text("x"), {"admin.kubeconfig"}),
]


@pytest.mark.parametrize("change_inv, change_folder, rewritten",
                         [pytest.param(i, f, r, id=n) for n, i, f, r in REISSUE])
def test_reissues_only_what_no_longer_fits(tmp_path, change_inv, change_folder, rewritten):
    folder = tmp_path / "pki"
    inv = inventory(folder)
    pki.ensure(inv)
    if change_folder:
        change_folder(folder)
    before = snapshot(folder)
    made = pki.ensure(change_inv(inv) if change_inv else inv)
    after = snapshot(folder)
    changed = {n for n in after if n not in before or after[n][:2] != before[n][:2]}
    assert {n for n in changed if not n.startswith("previous/")} == rewritten
    for name in rewritten:  # what the hosts hold until the next write is kept, for rollback
        if name in before:
            assert after[f"previous/{name}"][0] == before[name][0], name
    assert after["ca.crt"] == before["ca.crt"] and after["ca.key"] == before["ca.key"]
    ca = cert(folder, "ca")
    for name in LEAVES:
        verify_signature(cert(folder, name), ca)
    if change_inv is _master_moved:
        assert "10.1.0.9" in sans(cert(folder, "apiserver"))[1]
        assert "https://10.1.0.9:6443" in made.admin_kubeconfig.read_text()
        assert any("apiserver.crt (its names (SANs) differ)" in c for c in made.changes)
    assert pki.ensure(change_inv(inv) if change_inv else inv).changes == ()  # settled


def test_leaves_renew_30_days_before_they_expire(tmp_path):
    inv, now = inventory(tmp_path), dt.datetime.now(dt.timezone.utc)
    pki.ensure(inv, now=now)
    before = snapshot(tmp_path)
    assert pki.ensure(inv, now=now + dt.timedelta(days=pki.LEAF_DAYS - 31)).changes == ()
    made = pki.ensure(inv, now=now + dt.timedelta(days=pki.LEAF_DAYS - 29))
    after = snapshot(tmp_path)
    assert {n for n in after if n in before and after[n][0] != before[n][0]} == {
        *(f"{leaf}.{s}" for leaf in LEAVES for s in ("crt", "key")), "admin.kubeconfig"}
    assert after["ca.crt"] == before["ca.crt"]
    assert all("expires on" in c for c in made.changes if c.startswith("issued"))


def test_a_broken_ca_is_never_replaced(tmp_path):
    inv = inventory(tmp_path)
    pki.ensure(inv)
    ca_crt = (tmp_path / "ca.crt").read_bytes()
    (tmp_path / "ca.key").unlink()
    with pytest.raises(pki.PkiError, match=r"ca.crt is there but .*ca.key is missing; restore it"):
        pki.ensure(inv)
    assert (tmp_path / "ca.crt").read_bytes() == ca_crt and not (tmp_path / "ca.key").exists()


def test_an_expiring_ca_stops_the_run(tmp_path):
    inv, now = inventory(tmp_path), dt.datetime.now(dt.timezone.utc)
    pki.ensure(inv, now=now)
    with pytest.raises(pki.PkiError, match="never replaces a CA by itself"):
        pki.ensure(inv, now=now + dt.timedelta(days=pki.CA_DAYS - 10))


def test_loose_modes_are_tightened_without_rewriting(tmp_path):
    inv = inventory(tmp_path / "pki")
    pki.ensure(inv)
    folder = tmp_path / "pki"
    folder.chmod(0o755)
    (folder / "ca.key").chmod(0o644)
    (folder / "kube-proxy.key").chmod(0o640)
    before = snapshot(folder)
    assert pki.ensure(inv).changes == ()
    after = snapshot(folder)
    assert folder.stat().st_mode & 0o777 == 0o700
    assert after["ca.key"][2] == after["kube-proxy.key"][2] == 0o600
    assert {n: v[:2] for n, v in after.items()} == {n: v[:2] for n, v in before.items()}


# --- load: read-only, for fab status -------------------------------------------------------

def parts(p: pki.Pki) -> dict:
    """Leaf name -> Pair."""
    return {"apiserver": p.apiserver, "kube-proxy": p.proxy, "admin": p.admin,
            **{f"kubelet-{n}": pair for n, pair in p.kubelets.items()}}


def _loose_key(folder):
    (folder / "kube-proxy.key").chmod(0o644)


# change to a made PKI -> (problem lines, each a substring in order; leaves load leaves unknown)
LOAD = [
    ("as made", None, [], set()),
    ("certificate deleted", _delete("kube-proxy.crt"), ["kube-proxy.crt: certificate or key missing or unreadable; "
                                                        "fab deploy re-issues it"], {"kube-proxy"}),
    ("key does not match", _foreign_key("apiserver.key"), ["apiserver.crt: its key does not match"], {"apiserver"}),
    ("signed by another CA", _other_ca, ["kube-proxy.crt: not signed by the CA"], {"kube-proxy"}),
    ("key readable by others", _loose_key, ["kube-proxy.key mode 0644, wanted 0600; fab deploy tightens it"], set()),
    ("folder open", lambda f: f.chmod(0o755), ["pki mode 0755, wanted 0700; fab deploy tightens it"], set()),
    ("admin kubeconfig edited", lambda f: (f / "admin.kubeconfig").write_text("x"),
     ["admin.kubeconfig differs; fab deploy writes it"], set()),
    ("CA key lost", _delete("ca.key"), ["ca.crt is there but", "ca.key is missing; restore it"], set(LEAVES)),
]


@pytest.mark.parametrize("change, problems, unknown", [pytest.param(c, p, u, id=n) for n, c, p, u in LOAD])
def test_load_says_what_ensure_would_do_and_does_nothing(tmp_path, change, problems, unknown):
    folder = tmp_path / "pki"
    inv = inventory(folder)
    made = pki.ensure(inv)
    if change:
        change(folder)
    before, mode = snapshot(folder), folder.stat().st_mode
    loaded, said = pki.load(inv)
    assert snapshot(folder) == before and folder.stat().st_mode == mode  # bytes, mtimes, modes
    assert len(said) == (1 if problems else 0) and all(p in said[0] for p in problems), said
    have, wanted = parts(loaded), parts(made)
    assert {name for name, pair in have.items() if pair == pki.UNKNOWN} == unknown
    assert {n: p for n, p in have.items() if n not in unknown} == {n: p for n, p in wanted.items() if n not in unknown}
    assert loaded.ca_cert == (None if unknown == set(LEAVES) else made.ca_cert)


def test_load_expiring_leaves_are_unknown(tmp_path):
    inv, now = inventory(tmp_path), dt.datetime.now(dt.timezone.utc)
    pki.ensure(inv, now=now)
    loaded, said = pki.load(inv, now=now + dt.timedelta(days=pki.LEAF_DAYS - 29))
    assert len(said) == len(LEAVES) and all("expires on" in p and "fab deploy re-issues it" in p for p in said)
    assert loaded.admin == loaded.proxy == pki.UNKNOWN and loaded.ca_cert is not None


@pytest.mark.parametrize("tls", [True, False])
def test_load_never_makes_the_folder(tmp_path, tls):
    folder = tmp_path / "pki"
    loaded, said = pki.load(inventory(folder, tls=tls))
    assert not folder.exists()
    if tls:
        assert said == (f"{folder} missing; fab deploy makes the cluster CA and certificates there",)
        assert loaded.ca_cert is None and loaded.apiserver == pki.UNKNOWN and repr(loaded.admin) == "Pair(unknown)"
    else:
        assert (loaded, said) == (None, ())


# --- the certificates at work ------------------------------------------------------------

class _Healthz(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        peer = self.connection.getpeercert()
        subject = dict(item for rdn in peer["subject"] for item in rdn)
        body = f"ok {subject['commonName']}".encode() if self.path == "/healthz" else b"no"
        self.send_response(200)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def apiserver(tmp_path):
    """An HTTPS server on 127.0.0.1 with the apiserver's certificate that requires
    client certificates from the CA, as kube-apiserver --client-ca-file does."""
    made = pki.ensure(inventory(tmp_path / "pki"))
    folder = made.dir
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(folder / "apiserver.crt", folder / "apiserver.key")
    ctx.load_verify_locations(folder / "ca.crt")
    ctx.verify_mode = ssl.CERT_REQUIRED
    server = http.server.HTTPServer(("127.0.0.1", 0), _Healthz)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield folder, f"https://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("client, cn", [("kubelet-azure-prd-02", "system:node:azure-prd-02"),
                                        ("kube-proxy", "system:kube-proxy"), ("admin", "kubefab-admin")])
def test_tls_handshake_with_curl(apiserver, client, cn):
    if not shutil.which("curl"):
        pytest.skip("curl is not installed")
    folder, url = apiserver
    r = subprocess.run(["curl", "--silent", "--show-error", "--fail", "--cacert", str(folder / "ca.crt"),
                        "--cert", str(folder / f"{client}.crt"), "--key", str(folder / f"{client}.key"),
                        f"{url}/healthz"], capture_output=True, text=True, timeout=30)
    assert (r.returncode, r.stdout) == (0, f"ok {cn}"), r.stderr


def test_tls_handshake_refuses_strangers(apiserver, tmp_path):
    if not shutil.which("curl"):
        pytest.skip("curl is not installed")
    folder, url = apiserver
    stranger = pki.ensure(inventory(tmp_path / "stranger")).dir  # a different CA
    r = subprocess.run(["curl", "--silent", "--fail", "--cacert", str(folder / "ca.crt"),
                        "--cert", str(stranger / "admin.crt"), "--key", str(stranger / "admin.key"),
                        f"{url}/healthz"], capture_output=True, text=True, timeout=30)
    assert r.returncode != 0 and "ok" not in r.stdout
    r = subprocess.run(["curl", "--silent", "--fail", "--cacert", str(stranger / "ca.crt"), f"{url}/healthz"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 60  # the server's certificate is not from the client's CA

"""A second operator and a first one: `kubefab init` (a starter inventory that loads
and renders as written), `pki.export` / `pki.import` (the cluster's identity sealed
with a passphrase, never replacing another PKI) and `kubeconfig --fresh` (a new admin
credential from the CA, no round trip)."""
from __future__ import annotations

import base64
import datetime as dt

import pytest
import yaml
from cryptography import x509
from cryptography.x509.oid import NameOID

from kubefab import pki, pkiarchive, render, versions
from kubefab.inventory import load
from kubefab.ops import credential, init, pki_transfer
from tests.unit.test_cli import ROOT, TOKEN, hosts_yaml, kubefab  # noqa: F401 (fixtures)

FAST = 2 ** 12  # scrypt's cost in these tests: the format is the same, the key quick to derive
PASSPHRASE = "correct horse battery staple"


def test_init_writes_a_starter_that_loads_and_renders_as_written(kubefab, tmp_path):
    target = tmp_path / "hosts.yaml"
    r = kubefab("init", "--out", str(target), "--hosts", "m1=10.0.0.1,n1=10.0.0.2,n2=10.0.0.3")
    assert r.returncode == 0, r.stderr
    inv = load(target, {})  # no token, no password: the starter names none
    assert inv.kubernetes.version == versions.STARTER and inv.profile.kind == versions.MODERN
    assert [(h.name, h.address, h.role) for h in inv.hosts] == [
        ("m1", "10.0.0.1", "master"), ("n1", "10.0.0.2", "node"), ("n2", "10.0.0.3", "node")]
    files = {h.name: render.render_host(inv, h, pki.ensure(inv)) for h in inv.hosts}
    assert all(files.values())
    text = target.read_text()
    assert text.count("\n#") > 10 and "kubefab deploy --dry-run" in text  # commented, with next steps
    again = kubefab("init", "--out", str(target))
    assert again.returncode == 2 and "exists" in again.stderr and target.read_text() == text


def test_the_starter_is_the_newest_supported_release():
    assert versions.parse(versions.STARTER)[:2] == max(versions.MINORS)
    default = yaml.safe_load(init.starter(init.version_of(None), init.hosts_of(None)))
    assert default["kubernetes"]["version"] == versions.STARTER
    assert list(default["hosts"]) == ["master-1", "node-1", "node-2"]


@pytest.mark.parametrize("args, says", [
    (("--hosts", "m"), "wants name=address"),
    (("--hosts", "M_1=10.0.0.1"), "not a valid host name"),
    (("--hosts", "m=fd00::1"), "not an IPv4 address"),
    (("--hosts", "m=10.0.0.1,m=10.0.0.2"), "m is given twice"),
    (("--version", "v1.0.1"), "today's releases"),
    (("--version", "v1.30.0"), "not supported"),
    (("--cluster", "Prod!"), "not a valid cluster name"),
])
def test_init_refuses_bad_flags_in_one_line(kubefab, tmp_path, args, says):
    r = kubefab("init", "--out", str(tmp_path / "h.yaml"), *args)
    assert r.returncode == 2 and r.stderr.startswith("error: ") and says in r.stderr, r.stderr
    assert not (tmp_path / "h.yaml").exists()


def test_an_archive_opens_with_its_passphrase_only():
    files = {"ca.crt": (b"CERT", 0o644), "ca.key": (b"KEY", 0o600), "sub/x": (b"\x00\x01", 0o600)}
    blob = pkiarchive.seal(files, PASSPHRASE, {"cluster": "c"}, n=FAST)
    assert b"KEY" not in blob and pkiarchive.header(blob)["cluster"] == "c"
    assert pkiarchive.unseal(blob, PASSPHRASE)[1] == files
    with pytest.raises(pkiarchive.ArchiveError, match="wrong passphrase, or the file was changed"):
        pkiarchive.unseal(blob, PASSPHRASE + "!")
    changed = blob.replace(b'"cluster": "c"', b'"cluster": "d"')
    with pytest.raises(pkiarchive.ArchiveError, match="wrong passphrase, or the file was changed"):
        pkiarchive.unseal(changed, PASSPHRASE)
    with pytest.raises(pkiarchive.ArchiveError, match="not a kubefab PKI archive"):
        pkiarchive.unseal(b"hello", PASSPHRASE)


@pytest.fixture
def two_operators(tmp_path, monkeypatch):
    """Two folders with the same hosts.yaml: the first one's PKI made, the second's empty."""
    monkeypatch.setenv("KUBEFAB_REGISTRY_TOKEN", TOKEN)
    invs = []
    for who in ("first", "second"):
        (tmp_path / who).mkdir()
        (tmp_path / who / "hosts.yaml").write_text((ROOT / "hosts.yaml").read_text())
        invs.append(load(tmp_path / who / "hosts.yaml"))
    pki.ensure(invs[0])
    return invs


def test_export_then_import_hands_over_the_same_pki(two_operators, tmp_path):
    first, second = two_operators
    archive = tmp_path / "prod.pki"
    said = pki_transfer.export(first, archive, PASSPHRASE, n=FAST)
    assert oct(archive.stat().st_mode & 0o777) == "0o600" and "sealed" in said
    with pytest.raises(pki_transfer.TransferError, match="exists"):
        pki_transfer.export(first, archive, PASSPHRASE, n=FAST)
    said = pki_transfer.import_(second, archive, PASSPHRASE)
    a, b = pki.pki_dir(first), pki.pki_dir(second)
    assert pki_transfer.files_of(a) == pki_transfer.files_of(b), said
    assert oct(b.stat().st_mode & 0o777) == "0o700" and oct((b / "ca.key").stat().st_mode & 0o777) == "0o600"
    assert pki.ensure(second).changes == ()  # the same PKI: nothing to make, the hosts' files unchanged
    assert "already held this CA" in pki_transfer.import_(second, archive, PASSPHRASE)


def test_import_never_replaces_another_pki(two_operators, tmp_path):
    first, second = two_operators
    archive = tmp_path / "prod.pki"
    pki_transfer.export(first, archive, PASSPHRASE, n=FAST)
    pki.ensure(second)  # the second operator made a CA of its own meanwhile
    before = pki_transfer.files_of(pki.pki_dir(second))
    with pytest.raises(pki_transfer.TransferError, match="holds another cluster CA .* move .* aside"):
        pki_transfer.import_(second, archive, PASSPHRASE)
    assert pki_transfer.files_of(pki.pki_dir(second)) == before


def test_the_passphrase_comes_from_a_variable_never_argv(kubefab, hosts_yaml, tmp_path, monkeypatch):
    monkeypatch.setattr(pkiarchive, "SCRYPT_N", FAST)
    assert kubefab("render", "--out", str(tmp_path / "r"), inventory=hosts_yaml).returncode == 0
    out = tmp_path / "c.pki"
    r = kubefab("pki.export", str(out), inventory=hosts_yaml, KUBEFAB_PKI_PASSPHRASE="short")
    assert r.returncode == 2 and "at least 12" in r.stderr and not out.exists()
    r = kubefab("pki.export", str(out), "--passphrase-env", "MY_PASS", inventory=hosts_yaml, MY_PASS=PASSPHRASE)
    assert r.returncode == 0 and out.exists(), r.stderr
    r = kubefab("pki.import", str(out), inventory=hosts_yaml, KUBEFAB_PKI_PASSPHRASE="wrong passphrase!")
    assert r.returncode == 2 and "wrong passphrase" in r.stderr
    r = kubefab("pki.export", str(tmp_path / "d.pki"), "--passphrase", "x", inventory=hosts_yaml)
    assert r.returncode == 2 and "did you mean --passphrase-env" in r.stderr  # no flag takes it on argv
    assert not (tmp_path / "d.pki").exists()


def test_a_fresh_admin_credential_is_signed_by_the_ca_and_named_after_its_operator(two_operators):
    first, _ = two_operators
    now = dt.datetime(2026, 12, 1, tzinfo=dt.timezone.utc)
    doc = credential.fresh_admin(first, "alice@laptop", now)
    user = doc["users"][0]["user"]
    cert = x509.load_pem_x509_certificate(base64.b64decode(user["client-certificate-data"]))
    ca = x509.load_pem_x509_certificate((pki.pki_dir(first) / "ca.crt").read_bytes())
    cert.verify_directly_issued_by(ca)
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "kubefab-admin:alice@laptop"
    assert [a.value for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)] == ["system:masters"]
    assert now - dt.timedelta(minutes=10) <= cert.not_valid_before_utc <= now
    assert doc["clusters"][0]["cluster"]["server"] == first.secure_master_url
    admin = pki.ensure(first).admin
    assert user["client-certificate-data"] != base64.b64encode(admin.cert.encode()).decode()  # not the shared one


def test_fresh_without_a_ca_is_one_line(kubefab, hosts_yaml, tmp_path):
    r = kubefab("kubeconfig", "--fresh", "--out", str(tmp_path / "kc"), inventory=hosts_yaml)
    assert r.returncode == 2 and "no CA to issue a credential from" in r.stderr and "pki.import" in r.stderr

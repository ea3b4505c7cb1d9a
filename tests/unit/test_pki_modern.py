"""kubefab.pki for the modern profile: the further leaves with their names and usages,
etcd and the front proxy under their own CAs, the admin bound by RBAC (not
system:masters) beside a super-admin kept in pki/, the service-account key pair and
the secretbox key made once (an older aescbc key kept); a second ensure changes
nothing, and load() reads what ensure made."""
from __future__ import annotations

import base64
from dataclasses import replace
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from kubefab import certs, pki
from kubefab.model import EtcdClient

try:
    from test_pki import inventory, snapshot
except ImportError:  # tests/ imported as a package
    from tests.unit.test_pki import inventory, snapshot

SERVER, CLIENT = ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH
# leaf -> (CN, O, usages, signing CA)
MODERN = {
    "kube-controller-manager": ("system:kube-controller-manager", [], [CLIENT], "ca"),
    "kube-scheduler": ("system:kube-scheduler", [], [CLIENT], "ca"),
    "apiserver-kubelet-client": ("kube-apiserver-kubelet-client", [], [CLIENT], "ca"),
    "kubelet-azure-prd-02": ("system:node:azure-prd-02", ["system:nodes"], [SERVER, CLIENT], "ca"),
    "etcd-server": ("etcd-azure-prd-01", [], [SERVER, CLIENT], "etcd-ca"),
    "apiserver-etcd-client": ("kube-apiserver-etcd-client", [], [CLIENT], "etcd-ca"),
    "front-proxy-client": ("front-proxy-client", [], [CLIENT], "front-proxy-ca"),
    # the operator's: RBAC binds the admin's group (kubeadm since 1.29); the super-admin
    # bypasses RBAC and never leaves pki/
    "admin": ("kubefab-admin", ["kubeadm:cluster-admins"], [CLIENT], "ca"),
    "super-admin": ("kubefab-super-admin", ["system:masters"], [CLIENT], "ca"),
}


def modern(folder: Path, **kube):
    return inventory(folder, **{"version": "v1.37.1", "etcd_servers": (), **kube})


def load_cert(folder: Path, name: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate((folder / f"{name}.crt").read_bytes())


@pytest.mark.parametrize("leaf", sorted(MODERN))
def test_modern_leaves(tmp_path, leaf):
    made = pki.ensure(modern(tmp_path))
    cn, orgs, usages, ca = MODERN[leaf]
    c = load_cert(tmp_path, leaf)
    assert certs.profile(c) == (cn, tuple(orgs))
    assert list(certs.extension(c, x509.ExtendedKeyUsage)) == usages
    assert certs.signed_by(c, load_cert(tmp_path, ca))
    for other in {"ca", "etcd-ca", "front-proxy-ca"} - {ca}:
        assert not certs.signed_by(c, load_cert(tmp_path, other))
    if leaf == "admin":
        assert made.admin.cert == (tmp_path / "admin.crt").read_text()
    elif leaf.startswith("kubelet-"):
        assert made.kubelet("azure-prd-02").cert == (tmp_path / f"{leaf}.crt").read_text()
        san = certs.extension(c, x509.SubjectAlternativeName)
        assert san.get_values_for_type(x509.DNSName) == ["azure-prd-02"]
    elif leaf not in ("apiserver",):
        assert made.part(leaf).cert == (tmp_path / f"{leaf}.crt").read_text()


def kubeconfig_user(path: Path) -> x509.Certificate:
    import yaml
    user = yaml.safe_load(path.read_text())["users"][0]["user"]
    return x509.load_pem_x509_certificate(base64.b64decode(user["client-certificate-data"]))


def test_the_admin_is_bound_by_rbac_and_the_super_admin_stays_in_pki(tmp_path):
    made = pki.ensure(modern(tmp_path))
    admin, super_admin = tmp_path / "admin.kubeconfig", tmp_path / "super-admin.kubeconfig"
    assert certs.profile(kubeconfig_user(admin)) == ("kubefab-admin", ("kubeadm:cluster-admins",))
    assert certs.profile(kubeconfig_user(super_admin)) == ("kubefab-super-admin", ("system:masters",))
    assert admin.stat().st_mode & 0o777 == super_admin.stat().st_mode & 0o777 == 0o600
    assert "bound by RBAC" in admin.read_text() and "never\n# leaves this machine" in super_admin.read_text()
    assert any("super-admin.kubeconfig" in c for c in made.changes)
    legacy = inventory(tmp_path / "legacy")  # the v1.0 profile has no RBAC: its admin stays system:masters
    pki.ensure(legacy)
    assert certs.profile(kubeconfig_user(tmp_path / "legacy/admin.kubeconfig")) == ("kubefab-admin", ("system:masters",))
    assert not (tmp_path / "legacy/super-admin.kubeconfig").exists()


def test_an_admin_of_system_masters_is_reissued_into_its_rbac_group(tmp_path):
    """A cluster kubefab deployed before: its admin certificate named system:masters."""
    pki.ensure(inventory(tmp_path, version="v1.0.1"))
    before = (tmp_path / "admin.crt").read_text()
    made = pki.ensure(modern(tmp_path))
    assert "issued admin.crt (its subject differs)" in made.changes
    assert (tmp_path / "admin.crt").read_text() != before
    assert certs.profile(load_cert(tmp_path, "admin"))[1] == ("kubeadm:cluster-admins",)


def test_modern_secrets_are_made_once_and_load_reads_them(tmp_path):
    inv = modern(tmp_path)
    first = pki.ensure(inv)
    assert any("service-account" in c for c in first.changes) and any("encrypts" in c for c in first.changes)
    assert len(base64.b64decode(first.secretbox_key)) == 32 and first.encryption_key is None
    assert first.ca_key == (tmp_path / "ca.key").read_text()  # the CSR signer's, uploaded to the master
    assert first.service_accounts.cert.startswith("-----BEGIN PUBLIC KEY-----")
    assert first.etcd_ca_cert == (tmp_path / "etcd-ca.crt").read_text()
    assert first.front_proxy_ca_cert == (tmp_path / "front-proxy-ca.crt").read_text()
    assert (tmp_path / "secretbox.key").stat().st_mode & 0o777 == 0o600
    assert not (tmp_path / "encryption.key").exists()
    before = snapshot(tmp_path)
    second = pki.ensure(inv)
    assert second.changes == () and snapshot(tmp_path) == before and second == first
    loaded, problems = pki.load(inv)
    assert problems == () and loaded == first
    san = certs.extension(load_cert(tmp_path, "apiserver"), x509.SubjectAlternativeName)
    assert "kubernetes.default.svc.cluster.local" in san.get_values_for_type(x509.DNSName)


def test_load_says_what_a_first_modern_deploy_makes(tmp_path):
    legacy = inventory(tmp_path)
    pki.ensure(legacy)
    loaded, problems = pki.load(modern(tmp_path))
    text = "\n".join(problems)
    for part in ("etcd-ca.crt missing", "front-proxy-ca.crt missing", "kube-scheduler.crt: missing",
                 "service-accounts.key missing", "secretbox.key missing", "admin.crt: its subject differs",
                 "kubelet-azure-prd-02.crt: its names (SANs) differ"):
        assert part in text, text
    assert loaded.secretbox_key is None and loaded.parts["kube-scheduler"].cert is None


def test_an_older_clusters_aescbc_key_is_kept_for_reading(tmp_path):
    tmp_path.mkdir(exist_ok=True)
    old = base64.b64encode(b"k" * 32).decode()
    (tmp_path / "encryption.key").write_text(old + "\n")
    (tmp_path / "encryption.key").chmod(0o644)
    made = pki.ensure(modern(tmp_path))
    assert made.encryption_key == old and len(base64.b64decode(made.secretbox_key)) == 32
    assert (tmp_path / "encryption.key").stat().st_mode & 0o777 == 0o600  # tightened, never replaced
    (tmp_path / "encryption.key").write_text("short\n")
    with pytest.raises(pki.PkiError, match="encryption.key is not 32 bytes in base64; restore it"):
        pki.ensure(modern(tmp_path))


def test_a_rotations_secretbox_keys_are_read_in_the_providers_order(tmp_path):
    """secretbox.key: one bare key (kubefab-1, as every cluster starts), or a rotation's
    `NAME KEY` lines, the first encrypting; a line that is no key is never replaced."""
    inv = modern(tmp_path)
    first = pki.ensure(inv)
    assert first.secretbox_keys == (("kubefab-1", first.secretbox_key),)
    new = base64.b64encode(b"n" * 32).decode()
    (tmp_path / "secretbox.key").write_text(f"kubefab-2 {new}\nkubefab-1 {first.secretbox_key}\n")
    made = pki.ensure(inv)
    assert made.secretbox_keys == (("kubefab-2", new), ("kubefab-1", first.secretbox_key))
    assert made.secretbox_key == new and made.changes == () and pki.load(inv)[0] == made
    (tmp_path / "secretbox.key").write_text(f"kubefab-2 {new}\n")  # the old key dropped: the name stays
    assert pki.ensure(inv).secretbox_keys == (("kubefab-2", new),)
    (tmp_path / "secretbox.key").write_text(f"kubefab-2 {new}\nkubefab-1 short\n")
    with pytest.raises(pki.PkiError, match="secretbox.key is not 32 bytes in base64; restore it"):
        pki.ensure(inv)
    assert "secretbox.key missing or not 32 bytes" in "\n".join(pki.load(inv)[1])


def test_external_etcd_client_files(tmp_path):
    other = tmp_path / "other"
    pki.ensure(inventory(other))  # any CA and client certificate will do
    client = EtcdClient(other / "ca.crt", other / "admin.crt", other / "admin.key")
    inv = modern(tmp_path / "pki", etcd_servers=("https://10.1.0.1:2379",), etcd_client=client)
    made = pki.ensure(inv)
    assert "etcd-server" not in made.parts and not (tmp_path / "pki" / "etcd-ca.crt").exists()
    assert made.part("etcd-client").key == (other / "admin.key").read_text()
    assert made.etcd_ca_cert == (other / "ca.crt").read_text()
    broken = replace(inv, kubernetes=replace(inv.kubernetes, etcd_client=replace(client, key=other / "ca.key")))
    with pytest.raises(pki.PkiError, match="not a certificate and its key"):
        pki.ensure(broken)
    assert any("not a certificate and its key" in p for p in pki.load(broken)[1])

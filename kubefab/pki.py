"""kubefab's PKI: a cluster CA and the certificates TLS needs, kept in the inventory's
`kubernetes.pki_dir` (default `pki/` beside hosts.yaml; never in git).

`ensure(inv) -> Pki` loads what is there and creates or re-issues only what is missing
or wrong, so a second run returns the same bytes and touches no file. `load(inv)` is
its read-only twin for `fab status` and every dry run: it says what ensure would do and
does nothing. Deploy calls ensure only in a real run, once the plan was shown and the
cluster's identity (kubefab.identity) matched. The CA (10 years) is created once and
never replaced automatically. A leaf or the admin kubeconfig that ensure replaces keeps
its previous version under PREVIOUS (rollback puts it back with the hosts' files). A leaf (1 year, EC P-256) is
re-issued when it is missing, expires within 30 days, is not signed by the CA, or says
other names than wanted. Imports neither fabric nor invoke; its only side effect is
files in pki_dir (folder 0700, keys and the admin kubeconfig 0600). The X.509, key
and file mechanics are kubefab.certs'; the decisions are here. kubefab.certs (and with
it cryptography's X.509, 15 ms) is imported by the functions that read or write the
files: loading an inventory, whose profile names the PKI's parts, does not need it.
"""
from __future__ import annotations

import base64
import datetime as dt
import fcntl
import hashlib
import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import yaml

from kubefab.model import Inventory

if TYPE_CHECKING:
    from cryptography import x509

CA_DAYS, LEAF_DAYS, RENEW_DAYS = 3650, 365, 30
ADMIN_KUBECONFIG = "admin.kubeconfig"
# the break-glass credential (O system:masters) where the admin is bound by RBAC: it
# stays here, on the operator's side; kubefab uses it to make the admin's binding
SUPER_ADMIN, SUPER_ADMIN_KUBECONFIG = "super-admin", "super-admin.kubeconfig"
PREVIOUS = "previous"  # in pki_dir: each replaced leaf's and kubeconfig's last version
WILDCARDS = ("0.0.0.0", "::")
DAY = dt.timedelta(days=1)


class PkiError(Exception):
    """A PKI folder kubefab must not repair by itself, in one or two lines."""


class Pair(NamedTuple):
    """A certificate and its private key, PEM text as stored in pki_dir (None: unknown,
    from `load`)."""
    cert: str | None
    key: str | None

    def __repr__(self) -> str:  # never the key
        if self.cert is None:
            return "Pair(unknown)"
        return f"Pair(cert=<{len(self.cert)} characters>, key=<secret>)"


@dataclass(frozen=True)
class Pki:
    """From `ensure`, every part is there. From `load`, a part that ensure would make
    or re-issue is None (a Pair of Nones): what deploy would upload is not known yet."""
    dir: Path
    ca_cert: str | None  # PEM
    apiserver: Pair  # serving certificate
    kubelets: dict[str, Pair]  # node name -> client certificate system:node:<name>
    proxy: Pair  # client certificate system:kube-proxy
    admin: Pair  # client certificate kubefab-admin (the profile's admin_orgs)
    changes: tuple[str, ...] = field(default=(), compare=False)  # what this run created
    # The modern profile's (kubefab.profiles.modern.pki): further leaves by name, etcd's CA, the
    # service-account key pair (cert: public key PEM) and the secrets-at-rest key.
    parts: dict[str, Pair] = field(default_factory=dict)
    etcd_ca_cert: str | None = None
    service_accounts: Pair = Pair(None, None)
    # Secrets at rest (modern): secretbox encrypts with the first of secretbox_keys (its
    # provider's keys in order, (name, base64 secret); more than one during a rotation);
    # encryption_key is an older cluster's aescbc key, kept as a second provider that only
    # reads until a rotation has rewritten every Secret.
    secretbox_key: str | None = None  # the first of secretbox_keys
    secretbox_keys: tuple[tuple[str, str], ...] = ()
    encryption_key: str | None = None  # aescbc's (pki/encryption.key), read only
    front_proxy_ca_cert: str | None = None  # the aggregation layer's CA (modern)
    ca_key: str | None = field(default=None, repr=False)  # the cluster CA's key: the CSR signer's (modern)

    def part(self, name: str) -> Pair:
        try:
            return self.parts[name]
        except KeyError:
            raise ValueError(f"the PKI in {self.dir} has no {name} certificate; "
                             "make it with kubefab.pki.ensure(inventory)") from None

    def kubelet(self, node: str) -> Pair:
        try:
            return self.kubelets[node]
        except KeyError:
            raise ValueError(f"the PKI in {self.dir} has no kubelet certificate for {node}; "
                             "make it with kubefab.pki.ensure(inventory)") from None

    @property
    def admin_kubeconfig(self) -> Path:
        return self.dir / ADMIN_KUBECONFIG


@dataclass(frozen=True)
class Leaf:
    """What one certificate must say; `name` is its file stem in pki_dir."""
    name: str
    cn: str
    orgs: tuple[str, ...] = ()
    dns: tuple[str, ...] = ()
    ips: tuple[str, ...] = ()
    server: bool = False  # serverAuth; else clientAuth
    both: bool = False  # serverAuth and clientAuth
    ca: str = "ca"  # the file stem of the CA that signs it


def pki_dir(inv: Inventory) -> Path:
    return inv.kubernetes.pki_dir or inv.path.absolute().parent / "pki"


def fingerprint(pem: str | None) -> str | None:
    """A certificate's identity: sha256 of its DER, as `sha256:<hex>` (None: no certificate)."""
    if not pem:
        return None
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    cert = x509.load_pem_x509_certificate(pem.encode())
    return "sha256:" + cert.fingerprint(hashes.SHA256()).hex()


def key_fingerprint(secret: str) -> str:
    """An encryption key's identity: sha256 of its bytes, `sha256:<hex>`; the key itself is
    256 random bits, so its hash tells nothing of it."""
    return "sha256:" + hashlib.sha256(base64.b64decode(secret)).hexdigest()


def apiserver_sans(inv: Inventory) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(DNS names, IP addresses) the apiserver's certificate must name: every way a
    client reaches it (each master's name, address and bind address, loopback, the
    `kubernetes` service's first cluster IP and names, the inventory's endpoint and
    extra_sans). One certificate for every master (kubeadm's alt names are per host;
    one shared certificate keeps one file in pki/): it is issued again when the masters
    change, and the masters restart one at a time."""
    k = inv.kubernetes
    service_ip = ipaddress.ip_network(k.apiserver.service_cluster_ip_range)[1]
    names = [*(m.name for m in inv.masters), "kubernetes", "kubernetes.default", "kubernetes.default.svc",
             *inv.profile.apiserver_names()]
    addresses = ["127.0.0.1", str(service_ip)]
    endpoint = k.apiserver.endpoint
    endpoint_host = endpoint and (endpoint[1:].split("]")[0] if endpoint.startswith("[")
                                  else endpoint.rsplit(":", 1)[0] if endpoint.count(":") == 1 else endpoint)
    values = [v for m in inv.masters for v in (m.address, m.bind_address)]
    for value in [*values, *((endpoint_host,) if endpoint_host else ()), *k.apiserver.extra_sans]:
        if value in WILDCARDS:
            continue
        try:
            addresses.append(ipaddress.ip_address(value).compressed)
        except ValueError:
            names.append(value.lower().rstrip("."))
    return tuple(dict.fromkeys(names)), tuple(dict.fromkeys(addresses))


def wanted(inv: Inventory) -> tuple[Leaf, ...]:
    """Every leaf certificate the inventory needs (its profile says which)."""
    return inv.profile.leaves()


def common_leaves(inv: Inventory, kubelets: tuple[Leaf, ...]) -> tuple[Leaf, ...]:
    """What every profile's cluster has: the apiserver's serving certificate, the
    kubelets' (as the profile makes them), kube-proxy's and the operator's."""
    dns, ips = apiserver_sans(inv)
    return (Leaf("apiserver", "kube-apiserver", dns=dns, ips=ips, server=True),
            *kubelets,
            Leaf("kube-proxy", "system:kube-proxy"),
            Leaf("admin", "kubefab-admin", inv.profile.admin_orgs))


def _pki(inv: Inventory, folder: Path, ca_pems: dict, pairs: dict, secrets: dict, changes=()) -> Pki:
    common = {"apiserver", "kube-proxy", "admin", *(f"kubelet-{n.name}" for n in inv.nodes)}
    pairs = {name: Pair(*pair) for name, pair in pairs.items()}
    if "service_accounts" in secrets:
        secrets = {**secrets, "service_accounts": Pair(*secrets["service_accounts"])}
    return Pki(dir=folder, ca_cert=ca_pems.get("ca"), apiserver=pairs["apiserver"],
               kubelets={n.name: pairs[f"kubelet-{n.name}"] for n in inv.nodes},
               proxy=pairs["kube-proxy"], admin=pairs["admin"], changes=tuple(changes),
               parts={name: pair for name, pair in pairs.items() if name not in common},
               etcd_ca_cert=ca_pems.get("etcd-ca"), front_proxy_ca_cert=ca_pems.get("front-proxy-ca"), **secrets)


def ensure(inv: Inventory, now: dt.datetime | None = None) -> Pki | None:
    """The inventory's PKI, created or repaired in pki_dir as needed; None when
    profile uses none (v1.0 without `kubernetes.tls`: nothing is read or written)."""
    if not inv.profile.uses_pki:
        return None
    from kubefab import certs
    now = now or dt.datetime.now(dt.timezone.utc)
    folder, changes = pki_dir(inv), []
    try:
        certs.private_folder(folder)
        lock = os.open(folder, os.O_RDONLY)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)  # two runs at once make one CA, not two
            cas = {stem: _ca(folder, stem, cn, now, changes) for stem, cn in inv.profile.cas().items()}
            pairs = {leaf.name: _leaf(folder, leaf, *cas[leaf.ca], now, changes) for leaf in wanted(inv)}
            ca_pems = {stem: (folder / f"{stem}.crt").read_text() for stem in cas}
            for name, text in _operator_kubeconfigs(inv, ca_pems["ca"], pairs).items():
                if _read(folder / name) not in (None, text):
                    keep_previous(folder, name)
                if certs.put(folder / name, text, 0o600):
                    changes.append(f"wrote {folder / name}")
            secrets = inv.profile.ensure_secrets(folder, changes, pairs)
            if "etcd-ca" in secrets:
                ca_pems["etcd-ca"] = secrets.pop("etcd-ca")
        finally:
            os.close(lock)
    except OSError as e:
        raise PkiError(f"{e.filename or folder}: {e.strerror}; kubefab keeps its CA and "
                       f"certificates there (kubernetes.pki_dir)") from None
    return _pki(inv, folder, ca_pems, pairs, secrets, changes)


# --- read-only: what ensure would do ------------------------------------------------------

UNKNOWN = Pair(None, None)  # a leaf ensure would (re)issue: its next bytes are not known


def load(inv: Inventory, now: dt.datetime | None = None) -> tuple[Pki | None, tuple[str, ...]]:
    """The PKI as pki_dir holds it, and what `ensure` would still do there, one line
    each. Reads only: creates, renews and tightens nothing, takes no lock (ensure
    writes by rename, so a concurrent deploy is read whole or not at all). Parts that
    ensure would make or re-issue are None / UNKNOWN. (None, ()) without a PKI."""
    if not inv.profile.uses_pki:
        return None, ()
    from kubefab import certs
    now = now or dt.datetime.now(dt.timezone.utc)
    folder, problems = pki_dir(inv), []
    pairs = {leaf.name: UNKNOWN for leaf in wanted(inv)}
    ca_pems, secrets = {}, {}
    if not folder.is_dir():
        problems.append(f"{folder} missing; fab deploy makes the cluster CA and certificates there")
    elif not (folder / "ca.crt").exists() and not (folder / "ca.key").exists():
        problems.append(f"{folder / 'ca.crt'} missing; fab deploy makes the cluster CA")
    else:
        cas = {}
        for stem in inv.profile.cas():
            if stem != "ca" and not (folder / f"{stem}.crt").exists() and not (folder / f"{stem}.key").exists():
                problems.append(f"{folder / stem}.crt missing; fab deploy makes the {stem.removesuffix('-ca')} CA")
                continue
            try:
                cas[stem] = _existing_ca(folder, now, stem)[1]
                ca_pems[stem] = (folder / f"{stem}.crt").read_text()
            except (PkiError, OSError) as e:
                problems.append(str(e) if isinstance(e, PkiError) else f"{e.filename}: {e.strerror}")
        for leaf in wanted(inv):
            if leaf.ca not in cas:
                continue
            crt = folder / f"{leaf.name}.crt"
            why = _why_reissue(leaf, *certs.load(crt, folder / f"{leaf.name}.key"), cas[leaf.ca], now)
            if why is None:
                pairs[leaf.name] = Pair(crt.read_text(), (folder / f"{leaf.name}.key").read_text())
            else:
                problems.append(f"{crt}: {why}; fab deploy {'makes' if why == 'missing' else 're-issues'} it")
        if "ca" in cas:
            problems += _loose(folder, [*cas, *pairs])
        if "ca" in ca_pems:
            for name, want in _operator_kubeconfigs(inv, ca_pems["ca"], pairs).items():
                kubeconfig = folder / name
                text = kubeconfig.read_text() if kubeconfig.exists() else None
                if text != want:
                    problems.append(f"{kubeconfig} {'missing' if text is None else 'differs'}; fab deploy writes it")
        secrets = inv.profile.load_secrets(folder, problems, pairs)
        if "etcd-ca" in secrets:
            ca_pems["etcd-ca"] = secrets.pop("etcd-ca")
    return _pki(inv, folder, ca_pems, pairs, secrets), tuple(problems)


def _loose(folder: Path, stems) -> list[str]:
    """The folder and keys that ensure would tighten."""
    out = []
    mode = folder.stat().st_mode & 0o777
    if mode != 0o700:
        out.append(f"{folder} mode {mode:04o}, wanted 0700; fab deploy tightens it")
    for stem in stems:
        key = folder / f"{stem}.key"
        if key.exists() and key.stat().st_mode & 0o077:
            out.append(f"{key} mode {key.stat().st_mode & 0o777:04o}, wanted 0600; fab deploy tightens it")
    return out


# --- the CA -------------------------------------------------------------------------------

def _ca(folder: Path, stem: str, cn: str, now: dt.datetime, changes: list):
    from kubefab import certs
    crt, key = folder / f"{stem}.crt", folder / f"{stem}.key"
    if not crt.exists() and not key.exists():
        ca_key = certs.new_key()
        ca = certs.make_ca(cn, ca_key, now, now + CA_DAYS * DAY)
        certs.put(key, certs.key_pem(ca_key), 0o600)
        certs.put(crt, certs.cert_pem(ca), 0o644)
        what = "the cluster CA" if stem == "ca" else f"the {stem.removesuffix('-ca')} CA"
        changes.append(f"created {what} {crt} (valid {CA_DAYS // 365} years)")
        return ca_key, ca
    if key.exists():
        certs.tighten(key)
    return _existing_ca(folder, now, stem)


def _existing_ca(folder: Path, now: dt.datetime, stem: str = "ca"):
    """(key, certificate) of the CA in folder, or PkiError saying why it cannot serve;
    never repaired here."""
    from cryptography import x509
    from kubefab import certs
    crt, key = folder / f"{stem}.crt", folder / f"{stem}.key"
    move = f"kubefab never replaces a CA by itself; to start over, move {folder} aside and deploy again"
    if not (crt.exists() and key.exists()):
        have, lost = (crt, key) if crt.exists() else (key, crt)
        raise PkiError(f"{have} is there but {lost} is missing; restore it from your backup ({move})")
    ca, ca_key = certs.load(crt, key)
    if ca is None or ca_key is None or not certs.matches(ca, ca_key):
        raise PkiError(f"{crt} and {key} are not a readable certificate and its key; restore them ({move})")
    constraints = certs.extension(ca, x509.BasicConstraints)
    if constraints is None or not constraints.ca:
        raise PkiError(f"{crt} is not a CA certificate ({move})")
    if ca.not_valid_after_utc - now < RENEW_DAYS * DAY:
        raise PkiError(f"{crt} expires on {ca.not_valid_after_utc:%Y-%m-%d}; {move} "
                       "(every host then gets new certificates)")
    return ca_key, ca


# --- leaves -------------------------------------------------------------------------------

def _leaf(folder: Path, leaf: Leaf, ca_key, ca: x509.Certificate, now: dt.datetime, changes: list) -> Pair:
    from kubefab import certs
    crt, key = folder / f"{leaf.name}.crt", folder / f"{leaf.name}.key"
    if key.exists():
        certs.tighten(key)
    why = _why_reissue(leaf, *certs.load(crt, key), ca, now)
    if why is None:
        return Pair(crt.read_text(), key.read_text())
    leaf_key = certs.new_key()
    cert = certs.issue(leaf_key, ca_key, ca, now, min(now + LEAF_DAYS * DAY, ca.not_valid_after_utc),
                       cn=leaf.cn, orgs=leaf.orgs, dns=leaf.dns, ips=leaf.ips, server=leaf.server,
                       both=leaf.both)
    pair = Pair(certs.cert_pem(cert), certs.key_pem(leaf_key))
    if why != "missing":  # what the hosts have now: rollback may put it back
        keep_previous(folder, crt.name, key.name)
    certs.put(key, pair.key, 0o600)  # the key first: a crash in between leaves a mismatch, re-issued next run
    certs.put(crt, pair.cert, 0o644)
    changes.append(f"issued {crt.name} ({why})")
    return pair


def _why_reissue(leaf: Leaf, cert, key, ca: x509.Certificate, now: dt.datetime) -> str | None:
    """Why the stored certificate cannot stay, or None when it can."""
    from cryptography import x509
    from kubefab import certs
    if cert is None or key is None:
        return "missing" if cert is None and key is None else "certificate or key missing or unreadable"
    if not certs.matches(cert, key):
        return "its key does not match"
    if not certs.signed_by(cert, ca):
        return "not signed by the CA"
    if cert.not_valid_after_utc - now < RENEW_DAYS * DAY:
        return f"it expires on {cert.not_valid_after_utc:%Y-%m-%d}"
    if certs.profile(cert) != (leaf.cn, tuple(sorted(leaf.orgs))):
        return "its subject differs"
    san = certs.extension(cert, x509.SubjectAlternativeName)
    if set(san or ()) != set(certs.sans(leaf.dns, leaf.ips)):
        return "its names (SANs) differ"
    usage = certs.extension(cert, x509.ExtendedKeyUsage)
    if list(usage or ()) != certs.usages(leaf.server, leaf.both):
        return "its usage differs"
    return None


# --- earlier versions, for rollback -----------------------------------------------------------

def keep_previous(folder: Path, *names: str) -> None:
    """Copy these files of `folder` into its PREVIOUS folder (0700; a key stays 0600),
    replacing an older copy: the version the hosts hold until the next write."""
    from kubefab import certs
    kept = folder / PREVIOUS
    for name in names:
        text = _read(folder / name)
        if text is not None:
            certs.private_folder(kept)
            certs.put(kept / name, text, 0o644 if name.endswith(".crt") else 0o600)


def previous(folder: Path, name: str) -> str | None:
    """The kept earlier version of a file of `folder` (None: none)."""
    return _read(folder / PREVIOUS / name)


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except OSError:
        return None


# --- the operator's kubeconfig ----------------------------------------------------------------

def _operator_kubeconfigs(inv: Inventory, ca_pem: str, pairs: dict) -> dict[str, str]:
    """The operator's kubeconfigs that can be written (their pairs known): the admin's
    and, where the profile has one, the super-admin's."""
    out = {}
    if Pair(*pairs["admin"]).cert is not None:
        groups = ", ".join(inv.profile.admin_orgs)
        bound = "" if "system:masters" in inv.profile.admin_orgs else ", bound by RBAC"
        out[ADMIN_KUBECONFIG] = _kubeconfig(inv, ca_pem, Pair(*pairs["admin"]), "kubefab-admin",
                                            f"the cluster's admin (CN kubefab-admin, O {groups}{bound})")
    if SUPER_ADMIN in pairs and Pair(*pairs[SUPER_ADMIN]).cert is not None:
        out[SUPER_ADMIN_KUBECONFIG] = _kubeconfig(
            inv, ca_pem, Pair(*pairs[SUPER_ADMIN]), "kubefab-super-admin",
            "the break-glass super-admin (O system:masters: RBAC does not apply to it). It never\n"
            "# leaves this machine; kubefab uses it only to bind the admin's group")
    return out


def super_admin_kubeconfig(inv: Inventory) -> Path:
    return pki_dir(inv) / SUPER_ADMIN_KUBECONFIG


def _kubeconfig(inv: Inventory, ca_pem: str, pair: Pair, user: str, who: str) -> str:
    def b64(pem: str) -> str:
        return base64.b64encode(pem.encode()).decode()

    context = f"{user}@{inv.cluster}"
    doc = {"apiVersion": "v1", "kind": "Config",
           "clusters": [{"name": inv.cluster, "cluster": {
               "server": inv.endpoint_url or inv.secure_master_url, "certificate-authority-data": b64(ca_pem)}}],
           "contexts": [{"name": context, "context": {"cluster": inv.cluster, "user": user}}],
           "current-context": context,
           "users": [{"name": user, "user": {
               "client-certificate-data": b64(pair.cert), "client-key-data": b64(pair.key)}}]}
    return (f"# Written by kubefab: kubectl as {who}\n"
            "# over TLS. It holds a private key: keep it 0600, never commit it.\n"
            "# Use: kubectl --kubeconfig <this file> get nodes\n"
            + yaml.safe_dump(doc, sort_keys=False, default_flow_style=False, width=1000))

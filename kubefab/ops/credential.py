"""A fresh admin credential for an operator who holds the cluster's CA (`kubefab
kubeconfig --fresh`): a new key and client certificate, issued here from pki/ca.key,
with the admin's groups (the profile's `admin` leaf) and the operator's own name in
its CN, so the apiserver's audit log tells operators apart. No round trip: the
apiserver trusts every certificate its CA signs. Nothing is written to pki/; the
kubeconfig that holds it is the only copy."""
from __future__ import annotations

import base64
import datetime as dt

from kubefab import certs, pki
from kubefab.model import Inventory

DAYS = pki.LEAF_DAYS


class CredentialError(Exception):
    """No CA to issue from, in one line."""


def fresh_admin(inv: Inventory, who: str, now: dt.datetime | None = None) -> dict:
    """A kubeconfig (one cluster, user and context, named after the cluster) whose user
    is a new certificate for `who` in the admin's groups, valid DAYS days."""
    now = now or dt.datetime.now(dt.timezone.utc)
    folder = pki.pki_dir(inv)
    ca, ca_key = certs.load(folder / "ca.crt", folder / "ca.key")
    if ca is None or ca_key is None:
        raise CredentialError(f"{folder}/ca.crt and ca.key: no CA to issue a credential from; "
                              "import the cluster's PKI (kubefab pki.import FILE) or deploy first")
    admin = next(leaf for leaf in pki.wanted(inv) if leaf.name == "admin")
    key = certs.new_key()
    cert = certs.issue(key, ca_key, ca, now, min(now + DAYS * pki.DAY, ca.not_valid_after_utc),
                       cn=f"{admin.cn}:{who}", orgs=admin.orgs)

    def b64(pem: str) -> str:
        return base64.b64encode(pem.encode()).decode()
    name = inv.cluster
    return {"apiVersion": "v1", "kind": "Config",
            "clusters": [{"name": name, "cluster": {"server": inv.secure_master_url,
                                                    "certificate-authority-data": b64(certs.cert_pem(ca))}}],
            "users": [{"name": name, "user": {"client-certificate-data": b64(certs.cert_pem(cert)),
                                              "client-key-data": b64(certs.key_pem(key))}}],
            "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
            "current-context": name}

"""Kubeconfig files: the current context's server and credentials as an `Endpoint`."""
from __future__ import annotations

import os

from .client import Endpoint
from .miniyaml import load_yaml


class KubeconfigError(Exception):
    pass


def load_kubeconfig(path: str) -> Endpoint:
    """The current context's cluster server and credentials from a kubeconfig file."""
    try:
        with open(path, encoding="utf-8") as f:
            doc = load_yaml(f.read())
    except OSError as e:
        raise KubeconfigError(f"stat {path}: {e.strerror.lower() if e.strerror else e}") from None
    except ValueError as e:
        raise KubeconfigError(f"error loading config file \"{path}\": {e}") from None
    if not isinstance(doc, dict):
        raise KubeconfigError(f"error loading config file \"{path}\": not a kubeconfig")
    base = os.path.dirname(os.path.abspath(path))

    def named(section, name):
        for item in doc.get(section) or []:
            if isinstance(item, dict) and item.get("name") == name:
                return item
        return None

    ctx_name = doc.get("current-context") or ""
    ctx = (named("contexts", ctx_name) or {}).get("context") or {}
    clusters = doc.get("clusters") or []
    cluster_item = named("clusters", ctx.get("cluster")) if ctx else None
    if cluster_item is None and len(clusters) == 1:
        cluster_item = clusters[0]
    if not cluster_item or not (cluster_item.get("cluster") or {}).get("server"):
        raise KubeconfigError(f"invalid configuration: no server found for cluster in {path}")
    cluster = cluster_item["cluster"]
    user = ((named("users", ctx.get("user")) or {}).get("user") or {}) if ctx else {}

    def rel(p):
        return p if not p or os.path.isabs(p) else os.path.join(base, p)

    import base64
    import binascii

    def data(section: dict, key: str) -> bytes | None:
        raw = section.get(key)
        if not raw:
            return None
        try:
            return base64.b64decode("".join(str(raw).split()), validate=True)
        except (binascii.Error, ValueError):
            raise KubeconfigError(f"error loading config file \"{path}\": {key}: illegal base64 data") from None

    ep = Endpoint(server=str(cluster["server"]).rstrip("/"),
                  ca_file=rel(cluster.get("certificate-authority")),
                  ca_data=data(cluster, "certificate-authority-data"),
                  insecure=bool(cluster.get("insecure-skip-tls-verify")),
                  cert_file=rel(user.get("client-certificate")),
                  key_file=rel(user.get("client-key")),
                  cert_data=data(user, "client-certificate-data"),
                  key_data=data(user, "client-key-data"),
                  token=user.get("token"),
                  tls_server_name=cluster.get("tls-server-name") or None,
                  source=f"kubeconfig {path}")
    if ep.insecure and (ep.ca_file or ep.ca_data):  # client-go refuses the pair
        raise KubeconfigError("invalid configuration: specifying a root certificates file with the insecure flag "
                              "is not allowed")
    if user.get("tokenFile") and not ep.token:
        try:
            with open(rel(user["tokenFile"]), encoding="utf-8") as f:
                ep.token = f.read().strip()
        except OSError:
            pass
    return ep

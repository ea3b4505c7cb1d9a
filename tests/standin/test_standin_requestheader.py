"""The aggregation layer's requestheader authentication on today's (v1.37.1) stand-in
apiserver: a front proxy's certificate (signed by --requestheader-client-ca-file, CN
in --requestheader-allowed-names) may assert the user in X-Remote-User/X-Remote-Group;
the same certificate without them, or with a CN not allowed, authenticates no one."""
from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request

import pytest

from modern_cluster import Cluster
from standin_helpers import Procs


@pytest.fixture
def cluster(standins, etcd, pki, tmp_path):
    procs = Procs(tmp_path)
    try:
        yield Cluster(procs, standins, etcd, pki, tmp_path)
    finally:
        procs.stop_all()


def get(url, pki, pair, headers=None):
    ctx = ssl.create_default_context(cafile=str(pki.ca.crt))
    ctx.load_cert_chain(str(pair.cert), str(pair.key))
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=5) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_a_front_proxy_asserts_the_user_in_headers(cluster, pki):
    proxy = pki.other_ca.issue("front-proxy-client", "front-proxy-client")
    url = cluster.apiserver(extra=[
        f"--requestheader-client-ca-file={pki.other_ca.crt}", "--requestheader-allowed-names=front-proxy-client",
        "--requestheader-username-headers=X-Remote-User", "--requestheader-group-headers=X-Remote-Group",
        "--requestheader-extra-headers-prefix=X-Remote-Extra-", f"--proxy-client-cert-file={proxy.cert}",
        f"--proxy-client-key-file={proxy.key}", "--enable-aggregator-routing=true",
        "--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname"])
    code, body = get(url + "/api/v1/nodes", pki, proxy, {"X-Remote-User": "jane", "X-Remote-Group": "system:masters"})
    assert (code, body["kind"]) == (200, "NodeList")
    code, body = get(url + "/api/v1/nodes", pki, proxy, {"X-Remote-User": "jane"})
    assert code == 403 and 'User "jane" cannot list resource "nodes"' in body["message"]
    code, body = get(url + "/api/v1/nodes", pki, proxy)
    assert code == 403 and 'User "system:anonymous"' in body["message"]
    code, body = get(url + "/api/v1/nodes", pki, pki.other_admin, {"X-Remote-User": "jane",
                                                                     "X-Remote-Group": "system:masters"})
    assert code == 403 and 'User "system:anonymous"' in body["message"]  # CN kubefab-admin is not allowed

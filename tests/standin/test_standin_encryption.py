"""Secrets encrypted at rest by today's (v1.37.1) stand-in apiserver with
--encryption-provider-config: the etcd value carries upstream's prefix and decrypts
with the `cryptography`/PyNaCl implementations of the same ciphers; a key removed from
the list makes its secrets unreadable; a bad key length stops the server."""
from __future__ import annotations

import base64
import json
import os
import subprocess
import urllib.request

import nacl.secret
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from modern_cluster import V, Cluster
from standin_helpers import Procs
from test_standin_modern_api import kubectl137  # noqa: F401 - the fixture

import pytest


def config(tmp, providers) -> str:
    path = tmp / f"enc-{len(list(tmp.glob('enc-*')))}.yaml"
    lines = ["apiVersion: apiserver.config.k8s.io/v1", "kind: EncryptionConfiguration", "resources:",
             "- resources:", "  - secrets", "  providers:"]
    for kind, name, secret in providers:
        lines += [f"  - {kind}: {{}}"] if kind == "identity" else [
            f"  - {kind}:", "      keys:", f"      - name: {name}", f"        secret: {secret}"]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def etcd_value(etcd, key: str) -> bytes:
    body = json.dumps({"key": base64.b64encode(key.encode()).decode()}).encode()
    with urllib.request.urlopen(urllib.request.Request(etcd + "/v3/kv/range", data=body, method="POST")) as r:
        return base64.b64decode(json.loads(r.read())["kvs"][0]["value"])


@pytest.fixture
def cluster(standins, etcd, pki, tmp_path):
    procs = Procs(tmp_path)
    try:
        yield Cluster(procs, standins, etcd, pki, tmp_path)
    finally:
        procs.stop_all()


def test_secrets_are_encrypted_and_a_removed_key_cannot_read_them(cluster, kubectl137, etcd, tmp_path):
    key1, key2 = os.urandom(32), os.urandom(32)
    b64 = lambda k: base64.b64encode(k).decode()  # noqa: E731
    url = cluster.apiserver(extra=[f"--encryption-provider-config={config(tmp_path, [('aescbc', 'key1', b64(key1)), ('identity', '', '')])}"])
    k = lambda *a, **kw: kubectl137.with_kubeconfig(cluster.kubeconfig("super", url), *a, **kw)  # noqa: E731
    k("create", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s1",
                                             "namespace": "default"}, "stringData": {"token": "hunter2"}}))
    raw = etcd_value(etcd, f"{cluster.prefix}/secrets/default/s1")
    head = b"k8s:enc:aescbc:v1:key1:"
    assert raw.startswith(head) and b"hunter2" not in raw
    dec = Cipher(algorithms.AES(key1), modes.CBC(raw[len(head):len(head) + 16])).decryptor()
    padded = dec.update(raw[len(head) + 16:]) + dec.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    plain = json.loads(unpadder.update(padded) + unpadder.finalize())
    assert base64.b64decode(plain["data"]["token"]) == b"hunter2"
    cluster.apiservers[0].stop()
    url = cluster.apiserver(extra=[f"--encryption-provider-config={config(tmp_path, [('secretbox', 'key2', b64(key2)), ('identity', '', '')])}"])
    k = lambda *a, **kw: kubectl137.with_kubeconfig(cluster.kubeconfig("super", url), *a, **kw)  # noqa: E731
    r = k("get", "secret", "s1", check=False)
    assert r.returncode == 1 and "no matching prefix found" in r.stderr, r.stderr
    k("create", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s2",
                                             "namespace": "default"}, "data": {"a": b64(b"b")}}))
    raw = etcd_value(etcd, f"{cluster.prefix}/secrets/default/s2")
    head = b"k8s:enc:secretbox:v1:key2:"
    box = raw[len(head):]
    plain = json.loads(nacl.secret.SecretBox(key2).decrypt(box[24:], box[:24]))
    assert plain["data"] == {"a": b64(b"b")}
    assert json.loads(k("get", "secret", "s2", "-o", "json").stdout)["data"] == {"a": b64(b"b")}


def test_a_key_of_the_wrong_length_stops_the_apiserver(standins, tmp_path, etcd, pki):
    path = config(tmp_path, [("aesgcm", "k", base64.b64encode(b"12345678").decode())])
    r = subprocess.run([str(standins(V) / "kube-apiserver"), f"--etcd-servers={etcd}",
                        f"--service-account-issuer=https://x", f"--service-account-key-file={pki.ca.crt}",
                        f"--service-account-signing-key-file={pki.ca.pair.key}", f"--encryption-provider-config={path}",
                        "--bind-address=127.0.0.71"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 1
    assert ('err="error while parsing file: resources[0].providers[0].aesgcm.keys[0].secret: Invalid value: '
            '\\"REDACTED\\": secret is not of the expected length, got 8, expected one of [16 24 32]"') in r.stderr

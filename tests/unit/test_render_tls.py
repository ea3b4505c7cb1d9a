"""render with `kubernetes.tls` on: the flag table per version, the certificate files
and what restarts when they change, the kubeconfigs, keys only in secret files, and
the lab's loopback shape. Certificates come from FAKE_PKI (fixed strings)."""
from __future__ import annotations

from dataclasses import replace

import pytest
import yaml

from kubefab import render
from kubefab.model import MANUAL, SELF
from kubefab import layout
from kubefab.profiles.legacy import paths as legacy_paths
from kubefab.profiles.legacy import render as legacy_render

try:
    from test_render import FAKE_KEYS, FAKE_PKI, FAKE_TOKEN, UNITS, exec_start, rendered, seed_inventory
except ImportError:  # tests/ imported as a package
    from tests.unit.test_render import (FAKE_KEYS, FAKE_PKI, FAKE_TOKEN, UNITS, exec_start, rendered,
                                        seed_inventory)

APISERVER, KUBELET, PROXY = layout.APISERVER, layout.KUBELET, layout.PROXY
PKI = "/etc/kubernetes/pki/"
TLS_API = {"--tls-cert-file": PKI + "apiserver.crt", "--tls-private-key-file": PKI + "apiserver.key",
           "--client-ca-file": PKI + "ca.crt", "--bind-address": "0.0.0.0", "--secure-port": "6443"}
# version -> (apiserver's version-dependent and TLS flags, kubelet's, kube-proxy's)
VERSIONS = {
    "v1.0.1": ({"--address": "127.0.0.1", "--port": "8080", **TLS_API},
               {"--api-servers": "https://10.1.0.1:6443", "--kubeconfig": legacy_paths.KUBELET_KUBECONFIG,
                "--config": "/etc/kubernetes/manifests/"},
               {"--master": "https://10.1.0.1:6443", "--kubeconfig": legacy_paths.PROXY_KUBECONFIG}),
    "v1.4.0": ({"--insecure-bind-address": "127.0.0.1", "--insecure-port": "8080", **TLS_API},
               {"--api-servers": "https://10.1.0.1:6443", "--kubeconfig": legacy_paths.KUBELET_KUBECONFIG,
                "--pod-manifest-path": "/etc/kubernetes/manifests/"},
               {"--master": "https://10.1.0.1:6443", "--kubeconfig": legacy_paths.PROXY_KUBECONFIG}),
    "v1.8.0": ({"--insecure-bind-address": "127.0.0.1", "--insecure-port": "8080", **TLS_API},
               {"--kubeconfig": legacy_paths.KUBELET_KUBECONFIG, "--pod-manifest-path": "/etc/kubernetes/manifests/"},
               {"--master": "https://10.1.0.1:6443", "--kubeconfig": legacy_paths.PROXY_KUBECONFIG}),
    "v1.19.0": ({"--insecure-bind-address": "127.0.0.1", "--insecure-port": "8080", **TLS_API},
                {"--kubeconfig": legacy_paths.KUBELET_KUBECONFIG, "--pod-manifest-path": "/etc/kubernetes/manifests/"},
                {"--master": "https://10.1.0.1:6443", "--kubeconfig": legacy_paths.PROXY_KUBECONFIG}),
}
API_FLAGS = {"--address", "--port", "--insecure-bind-address", "--insecure-port", *TLS_API}
KUBELET_FLAGS = {"--api-servers", "--kubeconfig", "--config", "--pod-manifest-path"}


@pytest.mark.parametrize("version", sorted(VERSIONS))
def test_flag_table(version):
    api, kubelet, proxy = VERSIONS[version]
    inv = seed_inventory(version=version, tls=True)
    master, node = rendered(inv, inv.master), rendered(inv, inv.host("azure-prd-02"))
    a = exec_start(master[UNITS + APISERVER].content, "")
    k = exec_start(node[UNITS + KUBELET].content, "")
    p = exec_start(node[UNITS + PROXY].content, "")
    assert {f: v for f, v in a.items() if f in API_FLAGS} == api
    assert {f: v for f, v in k.items() if f in KUBELET_FLAGS} == kubelet
    assert {f: v for f, v in p.items() if f != "binary"} == {**proxy, "--logtostderr": "true"}
    assert legacy_render.flags(inv, inv.master)["apiserver_tls"] == (
        f"--tls-cert-file={PKI}apiserver.crt", f"--tls-private-key-file={PKI}apiserver.key",
        f"--client-ca-file={PKI}ca.crt")
    for unit in legacy_render.MASTER_UNITS[1:]:  # the master's own processes keep the insecure port
        assert exec_start(master[UNITS + unit].content, "")["--master"] == "http://127.0.0.1:8080"


@pytest.mark.parametrize("version", ["v1.0.1", "v1.8.0", "v1.19.0"])
def test_plain_flags_have_no_tls(version):
    inv = seed_inventory(version=version)
    f = legacy_render.flags(inv, inv.master)
    assert f["apiserver_tls"] == () and f["apiserver_insecure"][0].endswith("=0.0.0.0")
    assert f["proxy_master"] == ("--master=http://10.1.0.1:8080",)
    assert not [p for p in render.render_host(inv, inv.host("azure-prd-02")) if "pki" in p or "proxy.kube" in p]


# path -> (mode, secret, restarts, content) per role, registration: manual
NODE = {
    PKI + "ca.crt": (0o644, False, (layout.REGISTER, KUBELET, PROXY), FAKE_PKI.ca_cert),
    PKI + "kubelet.crt": (0o644, False, (layout.REGISTER, KUBELET), FAKE_PKI.kubelets["ded-prd-01"].cert),
    PKI + "kubelet.key": (0o600, True, (layout.REGISTER, KUBELET), FAKE_PKI.kubelets["ded-prd-01"].key),
    PKI + "kube-proxy.crt": (0o644, False, (PROXY,), FAKE_PKI.proxy.cert),
    PKI + "kube-proxy.key": (0o600, True, (PROXY,), FAKE_PKI.proxy.key),
}
MASTER = {
    PKI + "ca.crt": (0o644, False, (APISERVER,), FAKE_PKI.ca_cert),
    PKI + "apiserver.crt": (0o644, False, (APISERVER,), FAKE_PKI.apiserver.cert),
    PKI + "apiserver.key": (0o600, True, (APISERVER,), FAKE_PKI.apiserver.key),
    PKI + "admin.crt": (0o644, False, (), FAKE_PKI.admin.cert),  # kubefab.health's client certificate
    PKI + "admin.key": (0o600, True, (), FAKE_PKI.admin.key),
}


@pytest.mark.parametrize("name, expected", [("azure-prd-01", MASTER), ("ded-prd-01", NODE)])
def test_certificate_files(name, expected):
    inv = seed_inventory(tls=True)
    files = rendered(inv, inv.host(name))
    pki = {p: (f.mode, f.secret, f.restarts, f.content) for p, f in files.items() if p.startswith(PKI)}
    assert pki == expected
    assert all((f.owner, f.group) == ("root", "root") for p, f in files.items() if p.startswith(PKI))


@pytest.mark.parametrize("registration, kubelet_restarts", [
    (MANUAL, (layout.REGISTER, KUBELET)), (SELF, (KUBELET,))])
def test_kubeconfigs(registration, kubelet_restarts):
    inv = seed_inventory(tls=True, registration=registration, version="v1.0.1")
    files = rendered(inv, inv.host("azure-prd-03"))
    for path, user, cert, restarts in (
            (legacy_paths.KUBELET_KUBECONFIG, "kubelet", "kubelet", kubelet_restarts),
            (legacy_paths.PROXY_KUBECONFIG, "kube-proxy", "kube-proxy", (PROXY,))):
        f = files[path]
        assert (f.mode, f.secret, f.restarts) == (0o644, False, restarts)
        doc = yaml.safe_load(f.content)
        assert doc["clusters"] == [{"name": "production", "cluster": {
            "server": "https://10.1.0.1:6443", "certificate-authority": PKI + "ca.crt"}}]
        assert doc["users"] == [{"name": user, "user": {
            "client-certificate": f"{PKI}{cert}.crt", "client-key": f"{PKI}{cert}.key"}}]
        assert doc["current-context"] == user and doc["contexts"][0]["context"]["user"] == user


def test_tls_needs_the_pki():
    inv = seed_inventory(tls=True)
    with pytest.raises(ValueError, match="the v1.0 profile of v1.0.1 needs the cluster's PKI"):
        render.render_host(inv, inv.master)
    with pytest.raises(ValueError, match="needs the cluster's PKI"):
        render.cloud_config(inv, inv.master)
    partial = replace(FAKE_PKI, kubelets={})
    with pytest.raises(ValueError, match="no kubelet certificate for azure-prd-02"):
        render.render_host(inv, inv.host("azure-prd-02"), partial)
    plain = seed_inventory()  # without tls the PKI is not needed, and not used if given
    assert render.render_host(plain, plain.master) == render.render_host(plain, plain.master, FAKE_PKI)


@pytest.mark.parametrize("name", ["azure-prd-01", "azure-prd-02", "ded-prd-01"])
def test_keys_only_in_secret_files_and_redacted(name):
    inv = seed_inventory(tls=True)
    files = rendered(inv, inv.host(name))
    leaks = [(p, k) for p, f in files.items() if not f.secret for k in FAKE_KEYS if k in f.content]
    assert leaks == []
    notes = {p: render.redact(f).content for p, f in files.items() if f.secret and p.startswith(PKI)}
    assert notes == ({PKI + "apiserver.key": "<secret: apiserver private key>\n",
                      PKI + "admin.key": "<secret: admin (kubefab-admin) private key>\n"} if name == "azure-prd-01" else
                     {PKI + "kubelet.key": "<secret: kubelet private key>\n",
                      PKI + "kube-proxy.key": "<secret: kube-proxy private key>\n"})
    redacted = render.cloud_config(inv, inv.host(name), FAKE_PKI, redact=True)
    assert not [k for k in [*FAKE_KEYS, FAKE_TOKEN] if k in redacted]
    doc = yaml.safe_load(render.cloud_config(inv, inv.host(name), FAKE_PKI))
    written = {w["path"]: w for w in doc["write_files"]}
    for path, f in files.items():
        if path.startswith(PKI):
            assert (written[path]["content"], written[path]["permissions"]) == (f.content, f"{f.mode:04o}")


def test_lab_shape_keeps_everything_on_loopback():
    """The lab's master binds 127.0.0.2: the insecure port stays on that address (its
    own loopback), the secure port too; nodes reach https://127.0.0.2."""
    inv = seed_inventory(requires=(), tls=True)
    master = replace(inv.master, address="127.0.0.2", bind_address="127.0.0.2")
    node = replace(inv.host("azure-prd-02"), address="127.0.0.3", bind_address="127.0.0.3")
    inv = replace(inv, hosts=(master, node))
    m, n = rendered(inv, master), rendered(inv, node)
    a = exec_start(m[UNITS + APISERVER].content, "")
    assert (a["--address"], a["--port"], a["--bind-address"], a["--secure-port"]) == (
        "127.0.0.2", "8080", "127.0.0.2", "6443")
    assert exec_start(n[UNITS + KUBELET].content, "")["--api-servers"] == "https://127.0.0.2:6443"
    assert "wupiao http://127.0.0.2:8080/healthz" in m[UNITS + "kubernetes.scheduler.service"].content
    assert "0.0.0.0" not in "".join(f.content for f in [*m.values(), *n.values()])

"""render for the modern profile: golden files per supported minor, every rendered flag
in the release's flag table, every config file parsed with its apiVersion/kind and
only known fields, secrets only in secret files, the units and what restarts.

KUBEFAB_UPDATE_GOLDEN=1 rewrites tests/unit/golden/modern-1.3x/."""
from __future__ import annotations

import base64
import json
import os
import shutil
import tomllib
from pathlib import Path

import pytest
import yaml

from kubefab.profiles.modern import atrest, downloads, paths as L, render as modern
from kubefab import render, versions
from kubefab.model import MANUAL
from kubefab import layout

try:
    from modern_fixtures import FAKE_MODERN_KEYS, FAKE_MODERN_PKI, FLAGS_TSV, VARIANTS, flag_table, modern_inventory
    from test_render import FAKE_TOKEN
except ImportError:  # tests/ imported as a package
    from tests.unit.modern_fixtures import (FAKE_MODERN_KEYS, FAKE_MODERN_PKI, FLAGS_TSV, VARIANTS, flag_table,
                                            modern_inventory)
    from tests.unit.test_render import FAKE_TOKEN

GOLDEN = Path(__file__).resolve().parent / "golden"
UNITS = layout.UNIT_DIR + "/"
HOSTS = ("azure-prd-01", "azure-prd-02")


def rendered(inv, name):
    return render.render_host(inv, inv.host(name), FAKE_MODERN_PKI)


@pytest.mark.parametrize("name", HOSTS)
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_golden(variant, name):
    inv = modern_inventory(variant)
    base = GOLDEN / variant
    files = rendered(inv, name)
    wanted = {base / name / p.lstrip("/"): f.content for p, f in files.items()}
    wanted[base / "cloud-config" / f"{name}.yaml"] = render.cloud_config(inv, inv.host(name), FAKE_MODERN_PKI)
    if os.environ.get("KUBEFAB_UPDATE_GOLDEN") == "1":
        shutil.rmtree(base / name, ignore_errors=True)
        for path, content in wanted.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)
    have = {p for p in (base / name).rglob("*") if p.is_file()}
    assert have == {p for p in wanted if p.is_relative_to(base / name)}, \
        "golden files differ in number; KUBEFAB_UPDATE_GOLDEN=1 regenerates them"
    for path, content in wanted.items():
        assert path.read_text() == content, f"{path} differs; review, then KUBEFAB_UPDATE_GOLDEN=1"


# --- command lines ----------------------------------------------------------------------

def exec_start(content: str) -> list[str]:
    """ExecStart's words, continuation lines joined."""
    lines = content.splitlines()
    i = next(i for i, line in enumerate(lines) if line.startswith("ExecStart="))
    text = lines[i][len("ExecStart="):]
    while text.endswith("\\"):
        i += 1
        text = text[:-1] + " " + lines[i].strip()
    return text.split()


COMPONENT = {"kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "kube-proxy"}


@pytest.mark.skipif(not FLAGS_TSV.exists(), reason=f"{FLAGS_TSV} is not on this machine")
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_rendered_flag_is_in_the_flag_table(variant):
    table, seen = flag_table(), set()
    inv = modern_inventory(variant)
    for host in inv.hosts:
        for path, f in render.render_host(inv, host, FAKE_MODERN_PKI).items():
            if not path.startswith(UNITS) or "ExecStart=" not in f.content:
                continue
            words = exec_start(f.content)
            component = words[0].rsplit("/", 1)[1]
            if component not in COMPONENT:
                continue
            seen.add(component)
            for word in words[1:]:
                flag = word.split("=", 1)[0]
                assert flag in table[component], f"{component} has no {flag} (in {path})"
                assert table[component][flag] == "not-deprecated", f"{component} {flag} is deprecated"
    assert seen == COMPONENT


def test_apiserver_flags_what_the_issue_asks():
    for variant in VARIANTS:
        inv = modern_inventory(variant)
        words = exec_start(rendered(inv, "azure-prd-01")[UNITS + layout.APISERVER].content)
        flags = dict(w.split("=", 1) for w in words[1:])
        assert flags["--authorization-mode"] == "Node,RBAC"
        assert "NodeRestriction" in flags["--enable-admission-plugins"].split(",")
        assert not [f for f in flags if "insecure" in f or f in ("--address", "--port")]
        assert flags["--service-account-issuer"] == "https://10.1.0.1:6443"
        assert {"--encryption-provider-config", "--kubelet-client-certificate", "--tls-cert-file",
                "--service-account-key-file", "--service-account-signing-key-file"} <= set(flags)
        etcd = flags["--etcd-servers"]
        if inv.kubernetes.managed_etcd:
            assert etcd == "https://127.0.0.1:2379" and flags["--etcd-certfile"] == L.ETCD_CLIENT_CERT
        else:
            assert etcd == "http://10.1.0.1:2379,http://10.1.0.2:2379" and "--etcd-certfile" not in flags


def test_binds_come_from_the_inventory():
    """The lab's shape: each host on its own 127.0.0.N, nothing on 0.0.0.0."""
    from dataclasses import replace
    inv = modern_inventory("modern-1.36")
    hosts = tuple(replace(h, address=f"127.0.0.{i + 2}", bind_address=f"127.0.0.{i + 2}")
                  for i, h in enumerate(inv.hosts))
    inv = replace(inv, hosts=hosts)
    for host in inv.hosts:
        text = "".join(f.content for f in render.render_host(inv, host, FAKE_MODERN_PKI).values())
        assert "0.0.0.0:" not in text and "=0.0.0.0" not in text and "127.0.0.1" not in text.replace(
            "127.0.0.1/8", "")
    kubelet = yaml.safe_load(render.render_host(inv, inv.host("azure-prd-02"), FAKE_MODERN_PKI)[L.KUBELET_CONFIG].content)
    assert (kubelet["address"], kubelet["healthzBindAddress"]) == ("127.0.0.3", "127.0.0.3")


# --- config files -------------------------------------------------------------------------

# (apiVersion, kind) -> the top-level fields kubefab may write (a subset of the type's)
KNOWN = {
    ("kubelet.config.k8s.io/v1beta1", "KubeletConfiguration"): {
        "address", "port", "readOnlyPort", "healthzBindAddress", "enableServer", "authentication",
        "authorization", "cgroupDriver", "clusterDNS", "clusterDomain", "containerRuntimeEndpoint",
        "failSwapOn", "memorySwap", "registerNode", "resolvConf", "runtimeRequestTimeout", "tlsCertFile",
        "tlsPrivateKeyFile"},
    ("kubeproxy.config.k8s.io/v1alpha1", "KubeProxyConfiguration"): {
        "bindAddress", "healthzBindAddress", "metricsBindAddress", "clientConnection", "clusterCIDR",
        "hostnameOverride", "mode"},
    ("kubescheduler.config.k8s.io/v1", "KubeSchedulerConfiguration"): {"clientConnection", "leaderElection"},
    ("apiserver.config.k8s.io/v1", "EncryptionConfiguration"): {"resources"},
    ("v1", "Config"): {"clusters", "contexts", "current-context", "users"},
}
YAML_FILES = {L.KUBELET_CONFIG, L.PROXY_CONFIG, L.SCHEDULER_CONFIG, L.ENCRYPTION_CONFIG, L.CM_KUBECONFIG,
              L.SCHEDULER_KUBECONFIG, L.KUBELET_KUBECONFIG, L.PROXY_KUBECONFIG, L.ADMIN_KUBECONFIG}
# containerd config version -> the top-level tables and the plugins it may set
CONTAINERD = {2: ({"version", "root", "state", "grpc", "plugins"}, {"io.containerd.grpc.v1.cri"}),
              3: ({"version", "root", "state", "grpc", "plugins"},
                  {"io.containerd.cri.v1.images", "io.containerd.cri.v1.runtime"})}


def test_the_encryption_config_during_a_rotation_keeps_an_older_aescbc_key_second():
    """secretbox first (it encrypts), its keys in the rotation's order; an older cluster's
    aescbc key second (it only reads what it wrote); identity last. One key renders as the
    goldens do."""
    inv = modern_inventory("modern-1.37")
    new, old, cbc = (base64.b64encode(c * 32).decode() for c in (b"n", b"o", b"c"))
    keys = atrest.with_keys(FAKE_MODERN_PKI, (("kubefab-2", new), ("kubefab-1", old)), cbc)
    text = render.render_host(inv, inv.master, keys)[L.ENCRYPTION_CONFIG].content
    assert yaml.safe_load(text)["resources"][0]["providers"] == [
        {"secretbox": {"keys": [{"name": "kubefab-2", "secret": new}, {"name": "kubefab-1", "secret": old}]}},
        {"aescbc": {"keys": [{"name": "key1", "secret": cbc}]}}, {"identity": {}}]
    assert "# A key rotation (kubefab secrets.rotate-key)" in text and "# The aescbc key kubefab used before" in text
    one = render.render_host(inv, inv.master, FAKE_MODERN_PKI)[L.ENCRYPTION_CONFIG].content
    assert one == (GOLDEN / "modern-1.37" / "azure-prd-01" / L.ENCRYPTION_CONFIG.lstrip("/")).read_text()


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_config_files_parse_with_known_fields(variant):
    inv = modern_inventory(variant)
    parsed = set()
    for host in inv.hosts:
        for path, f in render.render_host(inv, host, FAKE_MODERN_PKI).items():
            if path in YAML_FILES:
                doc = yaml.safe_load(f.content)
                known = KNOWN[(doc.pop("apiVersion"), doc.pop("kind"))]
                assert set(doc) <= known, f"{path}: unknown fields {set(doc) - known}"
                parsed.add(path)
            elif path == L.CONTAINERD_CONFIG:
                doc = tomllib.loads(f.content)
                tables, plugins = CONTAINERD[doc["version"]]
                assert set(doc) == tables and set(doc["plugins"]) == plugins
                major = int(inv.kubernetes.component_version("containerd")[0])
                assert doc["version"] == (3 if major >= 2 else 2)
                parsed.add(path)
            elif path.endswith("hosts.toml"):
                doc = tomllib.loads(f.content)
                assert doc["server"] == "https://quay.io"
                assert doc["host"]["https://quay.io"]["header"]["Authorization"] == [f"Basic {FAKE_TOKEN}"]
                parsed.add("hosts.toml")
            elif path in (L.CNI_BRIDGE, L.REGISTRY_AUTH):
                json.loads(f.content)
                parsed.add(path)
    assert {L.KUBELET_CONFIG, L.PROXY_CONFIG, L.SCHEDULER_CONFIG, L.CONTAINERD_CONFIG, "hosts.toml"} <= parsed
    assert (L.CNI_BRIDGE in parsed) is inv.kubernetes.bridge_network


def test_pod_subnets_and_routes():
    inv = modern_inventory("modern-1.36")
    bridge = json.loads(rendered(inv, "azure-prd-02")[L.CNI_BRIDGE].content)
    assert bridge["plugins"][0]["ipam"]["ranges"] == [[{"subnet": "10.200.1.0/24"}]]
    routes = rendered(inv, "azure-prd-02")[UNITS + layout.POD_ROUTES].content
    assert "ExecStart=/sbin/ip route replace 10.200.0.0/24 via 10.1.0.1" in routes
    assert "route replace 10.200.1.0/24" not in routes  # not its own
    # masquerade only what the node's pods send out of the pod and service ranges
    assert "ExecStart=/sbin/iptables -w -t nat -A KUBEFAB-POD-MASQ -d 10.200.0.0/16 -j RETURN" in routes
    assert "ExecStart=/sbin/iptables -w -t nat -A KUBEFAB-POD-MASQ -d 10.100.0.0/16 -j RETURN" in routes
    assert ("ExecStart=/sbin/iptables -w -t nat -A POSTROUTING -s 10.200.1.0/24 -m comment --comment "
            "kubefab-pod-masquerade -j KUBEFAB-POD-MASQ") in routes
    assert (bridge["plugins"][0]["ipMasq"], bridge["plugins"][0]["hairpinMode"]) == (False, True)
    master = rendered(inv, "azure-prd-01")[UNITS + layout.POD_ROUTES].content
    assert "route replace 10.200.1.0/24 via 10.1.0.2" in master and "iptables" not in master  # no pods there
    external = modern_inventory("modern-1.38")
    files = rendered(external, "azure-prd-02")
    assert L.CNI_BRIDGE not in files and UNITS + layout.POD_ROUTES not in files
    assert "Requires=weave-network.target" in files[UNITS + "kubernetes.node.target"].content


# --- secrets ------------------------------------------------------------------------------

@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_token_and_keys_only_in_secret_files(variant):
    inv = modern_inventory(variant)
    for host in inv.hosts:
        files = rendered(inv, host.name)
        for f in files.values():
            if f.secret:
                assert f.mode == 0o600 and f.owner == "root"
                assert render.redact(f).content.startswith("<secret: ")
                continue
            assert FAKE_TOKEN not in f.content, f.path
            assert not [k for k in FAKE_MODERN_KEYS if k.strip() in f.content], f.path
        cloud = render.cloud_config(inv, host, FAKE_MODERN_PKI, redact=True)
        assert FAKE_TOKEN not in cloud and not [k for k in FAKE_MODERN_KEYS if k.strip() in cloud]
        if not host.is_master:
            auth = json.loads(files[L.REGISTRY_AUTH].content)
            assert auth == {"auths": {"quay.io": {"auth": FAKE_TOKEN, "email": ""}}}


# --- units, order, restarts ---------------------------------------------------------------

ORDER = {
    ("modern-1.36", "azure-prd-01"): (layout.DOWNLOAD, layout.APISERVER, layout.SCHEDULER, layout.CONTROLLER_MANAGER, layout.ETCD,
                                      layout.POD_ROUTES),
    ("modern-1.36", "azure-prd-02"): (layout.DOWNLOAD, layout.CONTAINERD, layout.POD_ROUTES, layout.REGISTER, layout.KUBELET, layout.PROXY),
    ("modern-1.37", "azure-prd-01"): (layout.DOWNLOAD, layout.APISERVER, layout.SCHEDULER, layout.CONTROLLER_MANAGER, layout.POD_ROUTES),
    ("modern-1.38", "azure-prd-02"): (layout.DOWNLOAD, layout.CONTAINERD, layout.KUBELET, layout.PROXY),
}


@pytest.mark.parametrize("variant, name", sorted(ORDER))
def test_unit_order_and_restarts(variant, name):
    inv = modern_inventory(variant)
    host = inv.host(name)
    order = inv.profile.unit_order(host)
    assert order == ORDER[variant, name]
    files = rendered(inv, name)
    assert {p[len(UNITS):] for p in files if p.startswith(UNITS)} == {inv.profile.target(host), *order}
    for unit in order:
        assert files[UNITS + unit].restarts == (unit,)
    restarted = {u for f in files.values() for u in f.restarts}
    assert restarted <= set(order)


def test_kubelet_has_only_per_node_flags_and_labels_when_it_registers_itself():
    inv = modern_inventory("modern-1.35")
    words = exec_start(rendered(inv, "azure-prd-02")[UNITS + layout.KUBELET].content)
    flags = dict(w.split("=", 1) for w in words[1:])
    assert set(flags) == {"--config", "--kubeconfig", "--hostname-override", "--node-ip", "--node-labels", "--v"}
    assert flags["--node-labels"] == "environment=production,host=azure,name=azure-prd-02,workload=high-available"
    manual = modern_inventory("modern-1.37")
    assert manual.kubernetes.registration == MANUAL
    assert "--node-labels" not in rendered(manual, "azure-prd-02")[UNITS + layout.KUBELET].content


def test_downloads_per_role_and_where_their_sums_come_from():
    from dataclasses import replace
    inv = modern_inventory("modern-1.38")
    master = [a.component for a in downloads.artifacts(inv, inv.master)]
    node = [a.component for a in downloads.artifacts(inv, inv.host("azure-prd-02"))]
    assert master == ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl"]
    assert node == ["containerd", "runc", "cni-plugins", "kubelet", "kube-proxy"]
    kubelet = downloads.artifacts(inv, inv.host("azure-prd-02"))[3]
    assert kubelet.url == "http://10.1.0.9:8000/mirror/kubernetes/v1.38.0/bin/linux/amd64/kubelet"
    assert (kubelet.sha256, kubelet.source, kubelet.sums_url) == ("a" * 64, "inventory", "")
    etcd = downloads.artifacts(inv, inv.master)[0]  # nobody pinned it: the release's own sum file
    assert (etcd.sha256, etcd.source) == (None, "published")
    assert etcd.sums_url == "http://10.1.0.9:8000/mirror/etcd/v3.7.1/SHA256SUMS"
    assert downloads.missing(inv) == () and downloads.missing_message(inv) is None
    assert downloads.sources(inv, inv.host("azure-prd-02")) == \
        "sha256 inventory: containerd, kubelet; published: runc, cni-plugins, kube-proxy"

    strict = replace(inv, kubernetes=replace(inv.kubernetes, require_pinned_sums=True))
    assert "etcd 3.7.1 amd64" in downloads.missing(strict)
    assert "kubelet 1.38.0" not in " ".join(downloads.missing(strict))
    message = downloads.missing_message(strict)
    assert "\n" not in message and "kubernetes.sha256" in message and "require_pinned_sums: true" in message
    assert "\tetcd\t-\t" in rendered(strict, "azure-prd-01")[L.DOWNLOAD_MANIFEST].content  # the script refuses it

    pinned = modern_inventory("modern-1.35")
    kubelet = next(a for a in downloads.artifacts(pinned, pinned.host("azure-prd-02")) if a.component == "kubelet")
    assert kubelet.sha256 == "e7343310e03ff0d424df4397bdfa4468947d6d1f0f93dac586c1e8d6e4086d5d"
    assert kubelet.source == "pinned"


@pytest.mark.parametrize("component,version,sums", [
    ("kubelet", "1.37.1", "https://dl.k8s.io/release/v1.37.1/bin/linux/amd64/kubelet.sha256"),
    ("etcd", "3.7.1", "https://github.com/etcd-io/etcd/releases/download/v3.7.1/SHA256SUMS"),
    ("containerd", "2.3.4", "https://github.com/containerd/containerd/releases/download/v2.3.4/"
                            "containerd-2.3.4-linux-amd64.tar.gz.sha256sum"),
    ("runc", "1.4.3", "https://github.com/opencontainers/runc/releases/download/v1.4.3/runc.sha256sum"),
    ("cni-plugins", "1.9.1", "https://github.com/containernetworking/plugins/releases/download/v1.9.1/"
                             "cni-plugins-linux-amd64-v1.9.1.tgz.sha256"),
])
def test_each_release_publishes_its_sums_beside_the_download(component, version, sums):
    assert versions.sums_url(component, version, "amd64") == sums
    under = "kubernetes/v1.37.1/bin/linux/amd64" if component == "kubelet" else f"{component}/v{version}"
    assert versions.sums_url(component, version, "amd64", "http://m/") == f"http://m/{under}/{sums.rsplit('/', 1)[1]}"


def test_release_stamp_changes_with_what_is_installed():
    inv = modern_inventory("modern-1.37")
    stamp = inv.profile.release_stamp()
    from dataclasses import replace
    k = inv.kubernetes
    for other in (replace(k, version="v1.37.2"), replace(k, containerd_version="2.2.7"),
                  replace(k, sha256=(("kube-proxy", "c" * 64),)), replace(k, mirror="http://m"),
                  replace(k, require_pinned_sums=True)):
        assert (replace(inv, kubernetes=other)).profile.release_stamp() != stamp
    assert " sums=published:" in stamp  # where the sums come from, then their digest
    assert f"stamp\t{stamp}\n" in rendered(inv, "azure-prd-02")[L.DOWNLOAD_MANIFEST].content


def test_rbac_and_readyz_for_the_orchestration():
    inv = modern_inventory("modern-1.37")
    doc = yaml.safe_load(modern.rbac_manifest(inv))
    assert doc["roleRef"]["name"] == "system:kubelet-api-admin"
    assert doc["subjects"][0]["name"] == "kube-apiserver-kubelet-client"
    assert modern.readyz(inv) == "https://10.1.0.1:6443/readyz"
    assert modern.kubectl(inv) == ["/opt/bin/kubectl", "--kubeconfig", L.ADMIN_KUBECONFIG]
    admin = rendered(inv, "azure-prd-01")[L.ADMIN_KUBECONFIG]
    assert admin.mode == 0o600 and yaml.safe_load(admin.content)["users"][0]["user"]["client-key"] == L.ADMIN_KEY


def test_health_check_is_readyz_with_the_admin_certificate():
    from kubefab import health
    inv = modern_inventory("modern-1.37")
    check = inv.profile.health()
    assert check.url == "https://10.1.0.1:6443/readyz"
    assert check.argv[-7:] == ("--cacert", L.CA, "--cert", L.ADMIN_CERT, "--key", L.ADMIN_KEY, check.url)[-7:]
    assert inv.profile.loopback() is None
    files = rendered(inv, "azure-prd-01")
    assert files[L.ADMIN_KEY].secret and L.ADMIN_CERT in files


def test_hosts_yaml_with_the_version_changed_and_its_plain_etcd_accepted_renders_as_the_1_37_golden(tmp_path):
    from kubefab import inventory
    text = (Path(__file__).resolve().parents[2] / "hosts.yaml").read_text()
    (tmp_path / "hosts.yaml").write_text(text.replace("version: v1.0.1", "version: v1.37.1\n  etcd_insecure: true"))
    inv = inventory.load(tmp_path / "hosts.yaml", environ={"KUBEFAB_REGISTRY_TOKEN": FAKE_TOKEN})
    ours = modern_inventory("modern-1.37")
    for host in ours.hosts:
        a, b = render.render_host(inv, inv.host(host.name), FAKE_MODERN_PKI), rendered(ours, host.name)
        assert {p: (f.content, f.mode, f.owner) for p, f in a.items()} == \
               {p: (f.content, f.mode, f.owner) for p, f in b.items()}


def test_modern_core_imports_no_ssh_or_task_library():
    import subprocess
    import sys
    mods = ["versions", "layout", "profiles.modern.paths", "profiles.modern.network", "profiles.modern.downloads",
            "profiles.modern.units", "profiles.modern.render", "profiles.modern.pki", "profiles.modern.settings",
            "health"]
    code = ("import sys\n" + "".join(f"import kubefab.{m}\n" for m in mods)
            + "print(sorted(m for m in ('fabric', 'invoke', 'paramiko') if m in sys.modules))")
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"

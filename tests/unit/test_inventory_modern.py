"""kubefab.inventory for the modern profile: hosts.yaml with only the version changed
loads with every default; the version switch; one located error per bad modern key."""
from __future__ import annotations

from pathlib import Path

import pytest

from kubefab.profiles.modern import network
from kubefab import versions
from kubefab.inventory import InventoryError, load
from kubefab.model import EtcdClient

REPO = Path(__file__).resolve().parents[2]
ENV = {"KUBEFAB_REGISTRY_TOKEN": "s3cret-token", "HOME": "/home/tester"}


ACCEPT_PLAIN_ETCD = "  etcd_insecure: true  # hosts.yaml's etcd servers are plain http\n"
SHA_COMMENT = "  # sha256 of the release tarball; the download service refuses a tarball that differs.\n"


def repo_hosts(tmp_path: Path, version: str, extra: str = "", replace: tuple[str, str] = ("", ""),
               plain_etcd: bool | None = None) -> Path:
    """hosts.yaml at `version`, `extra` keys after tls; a modern one accepts its plain-http
    etcd servers (plain_etcd, in place of a comment line: the lines keep their numbers)."""
    text = (REPO / "hosts.yaml").read_text().replace("version: v1.0.1", f"version: {version}")
    if plain_etcd if plain_etcd is not None else not version.startswith("v1.0."):
        text = text.replace(SHA_COMMENT, ACCEPT_PLAIN_ETCD)
    text = text.replace("  tls: true\n", "  tls: true\n" + extra).replace(*replace)
    (tmp_path / "hosts.yaml").write_text(text)
    return tmp_path / "hosts.yaml"


@pytest.mark.parametrize("version", ["v1.35.1", "v1.36.4", "v1.37.1", "v1.38.0", "v1.38.0-rc.1"])
def test_hosts_yaml_with_the_version_changed_is_modern(tmp_path, version):
    inv = load(repo_hosts(tmp_path, version), ENV)
    k = inv.kubernetes
    assert inv.profile.name == "modern" and k.tls and not k.managed_etcd  # hosts.yaml names external etcd servers
    assert (k.arch, k.mirror, k.sha256, k.cluster_cidr, k.dns_address, k.cluster_domain, k.pod_network) == \
        ("amd64", None, (), "10.200.0.0/16", "10.100.0.10", "cluster.local", "bridge")
    assert not k.require_pinned_sums  # unpinned downloads take the sums their release publishes
    minor = versions.MINORS[k.minor]
    assert k.component_version("containerd") == minor.containerd
    assert k.component_version("etcd") == minor.etcd
    assert k.component_version("kubelet") == version[1:]
    assert network.pod_subnets(inv)["ded-prd-01"] == "10.200.4.0/24"


def test_modern_defaults_without_the_legacy_keys(tmp_path):
    (tmp_path / "hosts.yaml").write_text(
        "kubernetes:\n  version: v1.37.1\nhosts:\n  m: {address: 127.0.0.2, role: master}\n"
        "  n: {address: 127.0.0.3, pod_cidr: 10.200.7.0/24}\n")
    k = load(tmp_path / "hosts.yaml", ENV).kubernetes
    assert k.managed_etcd and k.etcd_servers == () and k.requires == () and k.bin_dir == "/usr/local/bin"
    assert k.release_url == "" and k.tls


def test_modern_keys_are_read(tmp_path):
    extra = ("  arch: arm64\n  mirror: http://127.0.0.1:8000/mirror\n  containerd_version: v2.2.7\n"
             "  etcd_version: 3.6.14\n  cluster_cidr: 10.244.0.0/16\n  node_cidr_prefix: 25\n"
             "  cluster_dns: 10.100.0.53\n  cluster_domain: prod.example\n  pod_network: weave-network.target\n"
             "  etcd_client: {ca: etcd/ca.crt, cert: etcd/client.crt, key: etcd/client.key}\n"
             f"  sha256:\n    kubelet: sha256:{'a' * 64}\n    etcd: {'b' * 64}\n  require_pinned_sums: true\n"
             "  addons: {coredns: false}\n  image_repository: registry.example.com:5000/k8s/\n"
             "  dns_upstream: [10.1.0.53, '2001:db8::53']\n  ignore_preflight: [swap, port:10250, sysctl]\n")
    k = load(repo_hosts(tmp_path, "v1.36.4", extra), ENV).kubernetes
    assert k.etcd_insecure and k.addons == (("coredns", False),)
    assert (k.image_repository, k.dns_upstream) == ("registry.example.com:5000/k8s", ("10.1.0.53", "2001:db8::53"))
    assert k.ignore_preflight == ("swap", "port:10250", "sysctl")
    assert (k.arch, k.mirror, k.containerd_version, k.etcd_version) == (
        "arm64", "http://127.0.0.1:8000/mirror", "2.2.7", "3.6.14")
    assert (k.cluster_cidr, k.node_cidr_prefix, k.dns_address, k.cluster_domain, k.bridge_network) == (
        "10.244.0.0/16", 25, "10.100.0.53", "prod.example", False)
    assert k.sha256 == (("etcd", "b" * 64), ("kubelet", "a" * 64)) and k.require_pinned_sums
    assert k.etcd_client == EtcdClient(tmp_path / "etcd/ca.crt", tmp_path / "etcd/client.crt",
                                       tmp_path / "etcd/client.key")


ERRORS = [
    ("v1.20.0", "", ("", ""), ["hosts.yaml:7: kubernetes.version: v1.20.0 is not supported:",
                               "v1.0.0 up to v1.19.x", "v1.35.x, v1.36.x, v1.37.x, v1.38.x"]),
    ("v1.34.11", "", ("", ""), ["kubernetes.version: v1.34.11 is not supported"]),
    ("v1.39.0", "", ("", ""), ["kubernetes.version: v1.39.0 is not supported"]),
    ("v1.0.1", "  containerd_version: 2.3.4\n", ("", ""),
     ["hosts.yaml:24: kubernetes.containerd_version: applies to the modern profile (v1.35 and later) only"]),
    ("v1.36.4", "  containerd_version: 1.7.28\n", ("", ""),
     ["hosts.yaml:24: kubernetes.containerd_version: containerd 1.7.28 cannot run kubelet v1.36.4",
      "need containerd 2.0 or later"]),
    ("v1.37.1", "  arch: s390x\n", ("", ""), ["hosts.yaml:24: kubernetes.arch: expected one of amd64, arm64"]),
    ("v1.37.1", "  sha256: {kubelett: " + "a" * 64 + "}\n", ("", ""),
     ["hosts.yaml:24: kubernetes.sha256: expected one of kube-apiserver"]),
    ("v1.37.1", "  sha256: {kubelet: abc}\n", ("", ""),
     ["hosts.yaml:24: kubernetes.sha256.kubelet: 'abc' is not a sha256 digest"]),
    ("v1.37.1", "  require_pinned_sums: yes please\n", ("", ""),
     ["hosts.yaml:24: kubernetes.require_pinned_sums: expected true or false, got the string 'yes please'"]),
    ("v1.0.1", "  require_pinned_sums: true\n", ("", ""),
     ["hosts.yaml:24: kubernetes.require_pinned_sums: applies to the modern profile (v1.35 and later) only"]),
    ("v1.37.1", "  pod_network: weave\n", ("", ""),
     ["hosts.yaml:24: kubernetes.pod_network: 'weave' is not a valid systemd unit name"]),
    ("v1.37.1", "  tls: false\n", ("  tls: true\n", ""),
     ["kubernetes.tls: the modern profile always serves TLS"]),
    ("v1.37.1", "", ("release_sha256: null", "release_sha256: " + "c" * 64),
     ["hosts.yaml:10: kubernetes.release_sha256: the modern profile verifies every download on its own"]),
    ("v1.37.1", "  etcd_client: {ca: a, cert: b, key: c}\n", ("  etcd_servers:\n    - http://10.1.0.1:2379\n"
                                                               "    - http://10.1.0.2:2379\n", ""),
     ["kubernetes.etcd_client: names certificates for external etcd_servers, and there are none"], False),
    ("v1.37.1", "  cluster_cidr: 10.200.0.0/22\n", ("", ""),
     ["hosts.yaml:24: kubernetes.cluster_cidr: ded-prd-01: cluster_cidr 10.200.0.0/22 has no /24 left"]),
    ("v1.37.1", "", ("address: 10.1.0.5", "address: ded.example.com"),
     ["hosts.yaml:56: hosts.ded-prd-01.address: pod_network: bridge routes pod subnets via host addresses"]),
    ("v1.37.1", "", ("address: 10.1.0.5", "address: 10.1.0.5\n    pod_cidr: 10.201.0.0/24"),
     ["hosts.yaml:57: hosts.ded-prd-01.pod_cidr: pod_cidr 10.201.0.0/24 is not inside cluster_cidr"]),
    ("v1.0.1", "", ("address: 10.1.0.5", "address: 10.1.0.5\n    pod_cidr: 10.200.0.0/24"),
     ["hosts.yaml:57: hosts.ded-prd-01.pod_cidr: applies to the modern profile"]),
    # secure defaults, the add-ons and preflight
    ("v1.37.1", "", ("", ""),  # hosts.yaml with only its version changed: its etcd2 servers are plain http
     ["hosts.yaml:14: kubernetes.etcd_servers: http://10.1.0.1:2379 is plain http", "give etcd TLS",
      "let kubefab run etcd (remove etcd_servers)", "etcd_insecure: true"], False),
    ("v1.36.4", "", ("http://10.1.0.2:2379", "https://10.1.0.2:2379"),  # one plain among TLS ones
     ["kubernetes.etcd_servers: http://10.1.0.1:2379 is plain http"], False),
    ("v1.37.1", "", ("    - http://10.1.0.1:2379\n    - http://10.1.0.2:2379\n",
                     "    - https://10.1.0.1:2379\n    - https://10.1.0.2:2379\n"),
     ["hosts.yaml:9: kubernetes.etcd_insecure: applies to plain http etcd_servers, and there are none"]),
    ("v1.0.1", "  etcd_insecure: true\n", ("", ""),
     ["hosts.yaml:24: kubernetes.etcd_insecure: applies to the modern profile (v1.35 and later) only"]),
    ("v1.37.1", "  addons: {kube-dns: false}\n", ("", ""), ["hosts.yaml:24: kubernetes.addons: expected one of coredns"]),
    ("v1.37.1", "  addons: {coredns: off please}\n", ("", ""),
     ["hosts.yaml:24: kubernetes.addons.coredns: expected true or false"]),
    ("v1.37.1", "  image_repository: https://registry.example.com/k8s\n", ("", ""),
     ["hosts.yaml:24: kubernetes.image_repository: 'https://registry.example.com/k8s' is no image repository",
      "without a scheme"]),
    ("v1.37.1", "  dns_upstream: [8.8.8.8, dns.example.com]\n", ("", ""),
     ["hosts.yaml:24: kubernetes.dns_upstream", "'dns.example.com' is not an IP address"]),
    ("v1.37.1", "  ignore_preflight: [swap, prot:6443]\n", ("", ""),
     ["hosts.yaml:24: kubernetes.ignore_preflight", "'prot:6443' names no preflight check", "port[:NAME]"]),
]


@pytest.mark.parametrize("version, extra, replace, wanted, plain", [(*e, None)[:5] for e in ERRORS])
def test_modern_errors(tmp_path, version, extra, replace, wanted, plain):
    """plain: whether hosts.yaml accepts its plain-http etcd (None: where modern)."""
    with pytest.raises(InventoryError) as caught:
        load(repo_hosts(tmp_path, version, extra, replace, plain_etcd=plain), ENV)
    message = str(caught.value)
    assert "\n" not in message and "s3cret" not in message
    for part in wanted:
        assert part in message, message

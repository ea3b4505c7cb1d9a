"""Modern-profile inventories and a fake PKI for the render tests: the seed cluster at
each supported minor, in the variants the goldens cover."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from kubefab.model import MANUAL, SELF
from kubefab.pki import Pair, Pki

try:
    from test_render import FAKE_PKI, seed_inventory
except ImportError:  # tests/ imported as a package
    from tests.unit.test_render import FAKE_PKI, seed_inventory

FLAGS_TSV = Path(__file__).resolve().parents[1] / "data" / "k8s-flags-1.37.tsv"  # tests/data/README.md


def _fake(what: str) -> str:
    return f"-----FAKE {what.upper()}-----\n"


FAKE_MODERN_PKI = replace(
    FAKE_PKI,
    parts={name: Pair(_fake(f"{name} certificate"), _fake(f"{name} key"))
           for name in ("kube-controller-manager", "kube-scheduler", "apiserver-kubelet-client", "etcd-server",
                        "apiserver-etcd-client", "etcd-client", "front-proxy-client", "super-admin")},
    etcd_ca_cert=_fake("etcd ca certificate"),
    front_proxy_ca_cert=_fake("front-proxy ca certificate"),
    ca_key=_fake("ca key"),
    service_accounts=Pair(_fake("service-accounts public key"), _fake("service-accounts key")),
    secretbox_key="RkFLRS1TRUNSRVRCT1gtS0VZLTMyLUJZVEVTISEhISE=")
FAKE_MODERN_KEYS = [p.key for p in (FAKE_MODERN_PKI.apiserver, FAKE_MODERN_PKI.proxy, FAKE_MODERN_PKI.admin,
                                    FAKE_MODERN_PKI.service_accounts, *FAKE_MODERN_PKI.kubelets.values(),
                                    *FAKE_MODERN_PKI.parts.values())] + [FAKE_MODERN_PKI.secretbox_key,
                                                                         FAKE_MODERN_PKI.ca_key]

# golden name -> (version, Kubernetes overrides, registration)
VARIANTS = {
    # containerd 1.7 is still allowed with kubelet 1.35: its config version 2
    "modern-1.35": ("v1.35.1", dict(etcd_servers=(), requires=(), containerd_version="1.7.28"), SELF),
    # the modern default: kubefab's etcd, its bridge network, manual registration as hosts.yaml
    "modern-1.36": ("v1.36.4", dict(etcd_servers=(), requires=(), bin_dir="/usr/local/bin"), MANUAL),
    # hosts.yaml with the version changed and its plain-http etcd accepted (etcd_insecure):
    # external etcd, weave and etcd2 required
    "modern-1.37": ("v1.37.1", dict(requires=("weave-network.target", "etcd2.service"), etcd_insecure=True), MANUAL),
    # an existing network unit instead of kubefab's bridge; a mirror with its own sums, an
    # image mirror and upstream resolvers for the cluster DNS (an air-gapped site)
    "modern-1.38": ("v1.38.0", dict(etcd_servers=(), requires=(), bin_dir="/usr/local/bin",
                                    pod_network="weave-network.target",
                                    mirror="http://10.1.0.9:8000/mirror",
                                    sha256=(("kubelet", "a" * 64), ("containerd", "b" * 64)),
                                    image_repository="registry.example.com:5000/k8s",
                                    dns_upstream=("10.1.0.53", "10.1.0.54")), SELF),
}


def modern_inventory(variant: str = "modern-1.37", **kube):
    version, overrides, registration = VARIANTS[variant]
    inv = seed_inventory(version=version, registration=registration, tls=True)
    return replace(inv, kubernetes=replace(inv.kubernetes, release_url="", **{**overrides, **kube}))


def flag_table() -> dict[str, dict[str, str]]:
    """component -> {flag: status} from the 1.37 flag table."""
    table: dict[str, dict[str, str]] = {}
    for line in FLAGS_TSV.read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        component, flag, status = line.split("\t")
        table.setdefault(component, {})[flag] = status
    return table

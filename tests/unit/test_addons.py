"""The modern profile's add-ons, pure: CoreDNS as kubeadm creates it (its objects equal
to kubeadm's template as docs/ADDONS.md keeps it, but for kubefab's labels), its version
pinned per minor, its values from the inventory (DNS address, domain, upstream
resolvers, an image mirror), and the opt-out."""
from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from kubefab.model import Apiserver
from kubefab.profiles.modern import addons

try:
    from modern_fixtures import modern_inventory
except ImportError:  # tests/ imported as a package
    from tests.unit.modern_fixtures import modern_inventory

DOCS = Path(__file__).resolve().parents[2] / "docs"
OURS = {"kubefab.io/addon": "coredns", "app.kubernetes.io/managed-by": "kubefab"}


def coredns(inv) -> addons.Addon:
    [dns] = inv.profile.addons()
    assert dns.name == "coredns"
    return dns


def docs(dns: addons.Addon) -> list[dict]:
    return [d for d in yaml.safe_load_all(dns.manifest) if d]


@pytest.mark.parametrize("variant, version", [("modern-1.35", "v1.13.1"), ("modern-1.36", "v1.14.2"),
                                              ("modern-1.37", "v1.14.6"), ("modern-1.38", "v1.14.7")])
def test_coredns_is_pinned_per_minor_as_kubeadm_pins_it(variant, version):
    dns = coredns(modern_inventory(variant))
    assert dns.version == version and dns.wanted
    [deployment] = [d for d in docs(dns) if d["kind"] == "Deployment"]
    image = deployment["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == (f"registry.k8s.io/coredns/coredns:{version}" if variant != "modern-1.38"
                     else f"registry.example.com:5000/k8s/coredns:{version}")  # 1.38's variant: a mirror


def test_the_objects_are_kubeadms_with_kubefabs_labels():
    """kubeadm's manifests.go as docs/ADDONS.md renders it with kubeadm's defaults (the
    10.96.0.0/12 service range, cluster.local, v1.14.2): the same objects, kubefab's
    labels added and the Service's resourceVersion "0" (kubeadm's update trick) left out."""
    inv = modern_inventory("modern-1.36")
    inv = replace(inv, kubernetes=replace(inv.kubernetes, apiserver=Apiserver(service_cluster_ip_range="10.96.0.0/12")))
    kubeadm = [d for d in yaml.safe_load_all(re.search(r"```yaml\n(.*?)```", (DOCS / "ADDONS.md").read_text(),
                                                       re.S)[1]) if d]
    ours = docs(coredns(inv))
    for d in ours:
        labels = d["metadata"]["labels"]
        assert {k: labels.pop(k) for k in OURS} == OURS
        if not labels:
            del d["metadata"]["labels"]
    service = next(d for d in kubeadm if d["kind"] == "Service")
    assert service["metadata"].pop("resourceVersion") == "0"
    key = lambda d: (d["kind"], d["metadata"]["name"])  # noqa: E731
    assert sorted(ours, key=key) == sorted(kubeadm, key=key)


def test_the_inventorys_dns_address_domain_and_upstream_resolvers():
    inv = modern_inventory("modern-1.38")  # upstream resolvers 10.1.0.53, 10.1.0.54
    inv = replace(inv, kubernetes=replace(inv.kubernetes, cluster_domain="prod.example", cluster_dns="10.100.0.53"))
    dns = coredns(inv)
    objects = {d["kind"]: d for d in docs(dns)}
    assert objects["Service"]["spec"]["clusterIP"] == "10.100.0.53"
    corefile = objects["ConfigMap"]["data"]["Corefile"]
    assert "kubernetes prod.example in-addr.arpa ip6.arpa {" in corefile
    assert "forward . 10.1.0.53 10.1.0.54 {" in corefile and "disable success prod.example" in corefile
    assert dns.objects[-1] == "Service/kube-system/kube-dns (10.100.0.53)"
    default = {d["kind"]: d for d in docs(coredns(modern_inventory("modern-1.37")))}
    assert "forward . /etc/resolv.conf {" in default["ConfigMap"]["data"]["Corefile"]
    assert default["Service"]["spec"]["clusterIP"] == "10.100.0.10"  # the 10th address of the service range


def test_two_replicas_spread_over_nodes_and_every_object_found_by_kubefabs_label():
    dns = coredns(modern_inventory("modern-1.37"))
    deployment = next(d for d in docs(dns) if d["kind"] == "Deployment")
    assert deployment["spec"]["replicas"] == 2
    term = deployment["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"]
    assert term["preferredDuringSchedulingIgnoredDuringExecution"][0]["podAffinityTerm"]["topologyKey"] == \
        "kubernetes.io/hostname"
    assert all(d["metadata"]["labels"]["kubefab.io/addon"] == "coredns" for d in docs(dns))
    assert dns.selector == "kubefab.io/addon=coredns" and dns.ready == ("kube-system", "coredns")
    assert set(dns.kinds.split(",")) >= {"deployments.apps", "services", "configmaps", "serviceaccounts",
                                         "clusterroles.rbac.authorization.k8s.io",
                                         "clusterrolebindings.rbac.authorization.k8s.io"}


def test_an_add_on_the_inventory_opts_out_of_is_not_wanted():
    inv = modern_inventory("modern-1.37", addons=(("coredns", False),))
    assert not coredns(inv).wanted
    assert modern_inventory("modern-1.37", addons=(("coredns", True),)).profile.addons()[0].wanted
    assert modern_inventory("modern-1.37").profile.addons()[0].wanted  # on unless said

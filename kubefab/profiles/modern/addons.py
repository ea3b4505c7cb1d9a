"""The cluster add-ons of the modern profile, as kubeadm deploys them (docs/ADDONS.md,
docs/KUBERNETES.md §13): each one a set of objects rendered from a template with the
inventory's values, its version pinned per Kubernetes minor as kubeadm pins it. Every
object carries kubefab's labels, so that an add-on the inventory opts out of is found
(and deleted) by label. Pure: kubefab.ops.addons applies them with kubectl.
"""
from __future__ import annotations

from dataclasses import dataclass

from kubefab import templating
from kubefab.model import Inventory

ADDON_LABEL = "kubefab.io/addon"  # its value: the add-on's name
MANAGED_BY = ("app.kubernetes.io/managed-by", "kubefab")
FIELD_MANAGER = "kubefab"  # server-side apply's owner of every field kubefab sets
UPSTREAM_REPOSITORY = "registry.k8s.io"

# kubeadm's constants.CoreDNSVersion per minor (docs/KUBERNETES.md §13): v1.13.1 in
# v1.35.x (kubernetes#141229), v1.14.2 in 1.36 (CHANGELOG-1.36, #137605), v1.14.6 in
# 1.37 (#140497, merged before the 1.37 branch; 1.38.0-alpha.1 moved "from v1.14.6"),
# v1.14.7 in 1.38 (CHANGELOG-1.38 alpha.1, #141462).
COREDNS = {(1, 35): "v1.13.1", (1, 36): "v1.14.2", (1, 37): "v1.14.6", (1, 38): "v1.14.7"}
COREDNS_REPLICAS = 2  # kubeadm's coreDNSReplicas on a fresh cluster
KNOWN = ("coredns",)  # every add-on, in apply order (kubernetes.addons names them)

# what `kubectl get/delete -l` looks through for an add-on's objects (its kinds)
KINDS = ("deployments.apps", "services", "configmaps", "serviceaccounts",
         "clusterroles.rbac.authorization.k8s.io", "clusterrolebindings.rbac.authorization.k8s.io")
# the same kinds as the API lists them (every namespace): the master's probe asks these
LISTS = (("Deployment", "/apis/apps/v1/deployments"), ("Service", "/api/v1/services"),
         ("ConfigMap", "/api/v1/configmaps"), ("ServiceAccount", "/api/v1/serviceaccounts"),
         ("ClusterRole", "/apis/rbac.authorization.k8s.io/v1/clusterroles"),
         ("ClusterRoleBinding", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings"))


@dataclass(frozen=True)
class Addon:
    name: str
    version: str
    wanted: bool  # false: the inventory opted out (kubernetes.addons.<name>: false)
    manifest: str  # the objects, YAML documents, each with kubefab's labels
    objects: tuple[str, ...]  # kind/namespace/name of each, for the plan
    ready: tuple[str, str]  # (namespace, Deployment) whose availability status reports
    # (namespace, kind, name) of objects deleted and made again when a field that cannot
    # change does (the kube-dns Service's clusterIP, when cluster_dns changes)
    recreate: tuple[tuple[str, str, str], ...] = ()

    @property
    def selector(self) -> str:
        """The label selector that finds its objects (kubectl get/delete -l)."""
        return f"{ADDON_LABEL}={self.name}"

    @property
    def kinds(self) -> str:
        """Where kubectl looks for them (kubectl get/delete KINDS)."""
        return ",".join(KINDS)

    @property
    def query(self) -> tuple[str, ...]:
        """kubectl's words that list every add-on's objects (any add-on's label), as JSON
        (after an apply; the master's probe asks the API itself: profile.addon_lists)."""
        return ("get", self.kinds, "--all-namespaces", "-l", ADDON_LABEL, "-o", "json")


def image(inv: Inventory, name: str, tag: str) -> str:
    """kubeadm's GetDNSImage: the upstream registry keeps CoreDNS under coredns/; a
    mirror (image_repository) holds it at its top."""
    repository = inv.kubernetes.image_repository
    if repository is None:
        return f"{UPSTREAM_REPOSITORY}/{name}/{name}:{tag}"
    return f"{repository}/{name}:{tag}"


def wanted(inv: Inventory) -> dict[str, bool]:
    """Every known add-on: on unless kubernetes.addons says false."""
    given = dict(inv.kubernetes.addons)
    return {name: given.get(name, True) for name in KNOWN}


def coredns(inv: Inventory, on: bool) -> Addon:
    k = inv.kubernetes
    version = COREDNS[k.minor]
    upstream = " ".join(k.dns_upstream) or "/etc/resolv.conf"
    manifest = templating.environment(__package__).get_template("coredns.yaml.j2").render(
        labels={ADDON_LABEL: "coredns", MANAGED_BY[0]: MANAGED_BY[1]}, image=image(inv, "coredns", version),
        domain=k.cluster_domain, dns_ip=k.dns_address, upstream=upstream, replicas=COREDNS_REPLICAS,
        version=version)
    objects = ("ServiceAccount/kube-system/coredns", "ClusterRole/system:coredns",
               "ClusterRoleBinding/system:coredns", "ConfigMap/kube-system/coredns",
               "Deployment/kube-system/coredns", f"Service/kube-system/kube-dns ({k.dns_address})")
    return Addon("coredns", version, on, manifest, objects, ("kube-system", "coredns"),
                 recreate=(("kube-system", "service", "kube-dns"),))


def addons(inv: Inventory) -> list[Addon]:
    """Every add-on the profile knows, wanted or not (an unwanted one is deleted if
    kubefab had applied it)."""
    on = wanted(inv)
    return [coredns(inv, on["coredns"])]

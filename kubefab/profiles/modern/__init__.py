"""The modern profile (v1.35 to v1.38): today's Kubernetes after Kubernetes the Hard Way
and kubeadm (docs/KUBERNETES.md): per-binary downloads checked against their sums,
containerd, kubefab's own etcd on the master (TLS, its own CA) unless the inventory
names external servers, the secure port only, kubefab's bridge pod network or a unit
that provides one; cluster add-ons (CoreDNS) and preflight checks. Its modules: settings
(inventory keys), paths, units (command lines), render (files), downloads, network (pod
subnets), pki (further keys), atrest (the keys that encrypt Secrets), etcd (etcdctl's
argv), addons, preflight."""
from __future__ import annotations

import re
from typing import TYPE_CHECKING

from kubefab import health, versions, layout
from kubefab.model import Host
from kubefab.profiles.base import Profile
from kubefab.profiles.modern import addons, atrest, downloads, etcd, paths, pki, preflight, render, settings

if TYPE_CHECKING:
    from kubefab.pki import Leaf


class Modern(Profile):
    kind = versions.MODERN  # kubefab.versions.profile of its releases
    name = "modern"
    releases = "v1.35 and later"
    keys = settings.KEYS
    host_keys = ("pod_cidr",)
    kubectl_as_root = True  # the admin kubeconfig's key is root's (0600)
    admin_orgs = (pki.CLUSTER_ADMINS,)  # bound by RBAC (kubeadm since 1.29), not system:masters
    several_masters = True
    stamp_file = paths.DOWNLOAD_MANIFEST
    stamp_pattern = re.compile(r"^stamp\t(.*)$", re.M)

    @classmethod
    def settings(cls, k, paths_in, version: str) -> dict:
        return settings.read(k, paths_in, version)

    def check(self, hosts, k) -> None:
        settings.check_network(self.inv, hosts, k)

    @classmethod
    def masters_refusal(cls, masters: list[str]) -> str | None:
        """An odd number: etcd keeps a majority of its members (kubefab.quorum); an even
        count tolerates no more failures than the odd one below it."""
        if len(masters) % 2 == 0:
            return (f"{len(masters)} hosts have role: master ({', '.join(masters)}): etcd needs an odd number "
                    f"of members (1, 3, 5) to keep a majority; add a master or make one a node")
        return None

    # -- what runs where ---------------------------------------------------------------
    def unit_order(self, host: Host) -> tuple[str, ...]:
        return render.unit_order(self.inv, host)

    def fixed_settings(self) -> dict[str, str]:
        k = self.inv.kubernetes
        return {**super().fixed_settings(), "pod-range": k.cluster_cidr, "cluster-domain": k.cluster_domain}

    def restart_first(self, host: Host) -> tuple[str, ...]:
        """kubefab's etcd, serving, before the apiserver: the apiserver restarted first
        would lose its store when etcd restarts after it."""
        if host.is_master and self.inv.kubernetes.managed_etcd:
            return (layout.ETCD, layout.APISERVER)
        return super().restart_first(host)

    def unit_health(self, unit: str, host: Host | None = None) -> list[str] | None:
        if unit == layout.ETCD and self.inv.kubernetes.managed_etcd:
            return etcd.health_argv(self.inv, host)
        return None

    def files(self, host: Host, pki_) -> list:
        return render.render_host(self.inv, host, pki_)

    def release_stamp(self) -> str:
        return downloads.release_stamp(self.inv)

    def release_paths(self, host: Host) -> tuple[str, ...]:
        """The stamp, and each binary of the host's downloads."""
        binaries = [f"{a.dest}/{b}" for a in downloads.artifacts(self.inv, host) for b in a.binaries]
        return (layout.stamp_path(self.inv.kubernetes.install_dir), *binaries)

    def run_paths(self, host: Host) -> tuple[str, ...]:
        """A joining member's environment file (kubefab.ops.members), on any master."""
        return (paths.ETCD_ENV,) if host.is_master and self.inv.kubernetes.managed_etcd else ()

    def download_refusal(self) -> str | None:
        return downloads.missing_message(self.inv)

    def download_sources(self, host: Host) -> str | None:
        return downloads.sources(self.inv, host)

    def downloads(self, host: Host) -> str:
        k = self.inv.kubernetes
        return ", ".join(f"{c} {k.component_version(c)}" for c in downloads.components(self.inv, host))

    # -- the apiserver -------------------------------------------------------------------
    def health(self, master: Host | None = None) -> health.Check:
        """/readyz on the secure port at a master's address (the first's by default), as
        kubefab's admin."""
        inv = self.inv
        return health.curl(render.readyz(inv, master), f"{inv.master_url_of(master or inv.master)}, TLS, client certificate",
                           paths.CA, paths.ADMIN_CERT, paths.ADMIN_KEY)

    def node_list(self, master: Host) -> health.Check:
        """At `master`'s own apiserver, as kubefab's admin (the add-ons' lists' curl)."""
        return health.curl(f"{self.inv.master_url_of(master)}/api/v1/nodes", "the nodes", paths.CA,
                           paths.ADMIN_CERT, paths.ADMIN_KEY)

    def kubectl(self) -> list[str]:
        return render.kubectl(self.inv)

    def manifests(self) -> str | None:
        return render.rbac_manifest(self.inv)

    def admin_binding(self) -> str | None:
        return render.ADMIN_BINDING

    def addons(self) -> list:
        return addons.addons(self.inv)

    def addon_lists(self) -> tuple[tuple[str, health.Check], ...]:
        """Each kind of add-on object listed by label, the way health() asks: one curl a
        kind (kubectl get would first ask the API's discovery, then list one kind after
        the other: 0.5 s of the master's probe on the lab)."""
        return tuple((kind, health.curl(f"{self.inv.secure_master_url}{path}?labelSelector={addons.ADDON_LABEL}",
                                        f"{kind} objects of the add-ons", paths.CA, paths.ADMIN_CERT,
                                        paths.ADMIN_KEY)) for kind, path in addons.LISTS)

    def registered(self, host: Host) -> dict:
        return render.registered(self.inv, host)

    def balancer_package(self) -> tuple[str, str] | None:
        """haproxy or nginx (kubernetes.apiserver.load_balancer) where the nodes run one."""
        return paths.LB_PACKAGES[self.inv.kubernetes.apiserver.load_balancer] if self.inv.local_balancer else None

    # -- preflight ---------------------------------------------------------------------
    def preflight(self, host: Host) -> list[str]:
        return preflight.asks(self.inv, host)

    def preflight_verdict(self, host: Host, output: str, now: float) -> list:
        return preflight.verdict(self.inv, host, output, now)

    def waived(self, check: str, waivers) -> bool:
        return preflight.waived(check, waivers)

    def waiver(self, name: str) -> str:
        return preflight.waiver(name)

    # -- the PKI -----------------------------------------------------------------------
    def cas(self) -> dict[str, str]:
        """The cluster CA, and etcd's own for kubefab's etcd (so that no kubelet or proxy
        certificate opens etcd), and the front proxy's (the aggregation layer's: kept apart
        from the client CA, as kubeadm and the Kubernetes docs keep it)."""
        cas = super().cas()
        if self.inv.kubernetes.managed_etcd:
            cas["etcd-ca"] = f"kubefab {self.inv.cluster} etcd CA"
        cas[pki.FRONT_PROXY_CA] = f"kubefab {self.inv.cluster} front-proxy CA"
        return cas

    def leaves(self) -> tuple[Leaf, ...]:
        from kubefab.pki import Leaf, common_leaves  # the PKI's module only where one is made or read
        kubelets = tuple(Leaf(**pki.kubelet_leaf(n)) for n in self.inv.nodes)
        return (*common_leaves(self.inv, kubelets), *(Leaf(**kw) for kw in pki.leaves(self.inv)))

    def apiserver_names(self) -> tuple[str, ...]:
        """In-cluster clients resolve the full service name."""
        return (f"kubernetes.default.svc.{self.inv.kubernetes.cluster_domain}",)

    def ensure_secrets(self, folder, changes: list, pairs: dict) -> dict:
        return pki.ensure_secrets(self.inv, folder, changes, pairs)

    def load_secrets(self, folder, problems: list, pairs: dict) -> dict:
        return pki.load_secrets(self.inv, folder, problems, pairs)

    def keys_at_rest(self, pki_) -> tuple[tuple[str, str], ...]:
        return atrest.in_use(pki_)

    # -- etcd --------------------------------------------------------------------------
    def etcd_refusal(self, task: str) -> str | None:
        k = self.inv.kubernetes
        if not k.managed_etcd:
            return (f"{task}: kubefab does not run this cluster's etcd (kubernetes.etcd_servers: "
                    f"{', '.join(k.etcd_servers)}); snapshot and restore it on those servers "
                    f"(etcdctl snapshot save / etcdutl snapshot restore)")
        return None


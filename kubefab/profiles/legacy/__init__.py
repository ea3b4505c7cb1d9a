"""The v1.0 profile (v1.0 to v1.19): the original setup's units and files, the release
tarball unpacked into install_dir, the apiserver's insecure port on the master's
loopback for the master's own processes and, with `kubernetes.tls` (the default), the
secure port with client certificates for the nodes. The original's etcd2 servers are
the apiserver's store; kubefab does not run them."""
from __future__ import annotations

import re
from typing import TYPE_CHECKING

from kubefab import health, versions, validate as v
from kubefab.model import Host
from kubefab.profiles.base import Profile
from kubefab.profiles.legacy import paths, render
from kubefab.yamldoc import ListOf

if TYPE_CHECKING:
    from kubefab.pki import Leaf


class Legacy(Profile):
    kind = versions.LEGACY  # kubefab.versions.profile of its releases
    name = "v1.0"
    releases = "v1.0 to v1.19"
    keys = ("release_sha256",)
    stamp_file = paths.ENV_FILE
    stamp_pattern = re.compile(r"^KUBE_RELEASE_STAMP='?([^'\n]*)'?$", re.M)  # quoted when it has spaces

    @classmethod
    def settings(cls, k, paths_in, version: str) -> dict:
        return dict(release_url=k.get("release_url", v.url),
                    etcd_servers=k.get("etcd_servers", ListOf(v.url, nonempty=True)),
                    **k.optional(release_sha256=v.sha256, bin_dir=v.directory, requires=ListOf(v.unit),
                                 tls=v.boolean))

    @property
    def uses_pki(self) -> bool:
        return self.inv.kubernetes.tls

    # -- what runs where ---------------------------------------------------------------
    def unit_order(self, host: Host) -> tuple[str, ...]:
        return render.unit_order(self.inv, host)

    def files(self, host: Host, pki) -> list:
        return render.files(self.inv, host, pki)

    def release_stamp(self) -> str:
        return render.release_stamp(self.inv)

    def release_paths(self, host: Host) -> tuple[str, ...]:
        """The release unpacked into install_dir, kubectl linked into bin_dir."""
        k = self.inv.kubernetes
        return (k.install_dir.rstrip("/"), f"{k.bin_dir.rstrip('/')}/kubectl")

    def made_by_units(self, host: Host) -> tuple[str, ...]:
        """The kubelet's manifest folder (--config / --pod-manifest-path)."""
        return (paths.MANIFEST_DIR.rstrip("/"),)

    def downloads(self, host: Host) -> str:
        return self.inv.kubernetes.release_url

    # -- the apiserver -------------------------------------------------------------------
    def health(self, master: Host | None = None) -> health.Check:
        """/healthz on the port nodes use: with tls the secure port at the master's
        address, the server checked against the CA and the operator's client certificate
        shown (x509, as a kubelet's); without, the insecure port as before TLS."""
        inv = self.inv
        if not inv.kubernetes.tls:
            return health.curl(f"{inv.local_master_url}/healthz", inv.local_master_url)
        return health.curl(f"{inv.secure_master_url}/healthz", f"{inv.secure_master_url}, TLS, client certificate",
                           paths.CA_CERT, paths.ADMIN_CERT, paths.ADMIN_KEY)

    def loopback(self) -> health.Check | None:
        """With tls: /healthz on the insecure port, the master's own way in."""
        inv = self.inv
        if not inv.kubernetes.tls:
            return None
        return health.curl(f"{inv.local_master_url}/healthz", f"loopback :{inv.kubernetes.apiserver.insecure_port}")

    def node_list(self, master: Host) -> health.Check:
        """On the master's local insecure port, as its kubectl asks: no credentials."""
        return health.curl(f"{self.inv.local_master_url}/api/v1/nodes", "the nodes")

    def kubectl(self) -> list[str]:
        """Against the master's local insecure port: no credentials."""
        return [f"{self.inv.kubernetes.bin_dir}/kubectl", "-s", self.inv.local_master_url]

    def admin_kubeconfig(self) -> dict | None:
        """Without tls the apiserver asks for no credentials: the server is all there is."""
        if self.inv.kubernetes.tls:
            return None
        inv = self.inv
        return {"apiVersion": "v1", "kind": "Config",
                "clusters": [{"name": inv.cluster, "cluster": {"server": inv.master_url}}],
                "users": [{"name": inv.cluster, "user": {}}],
                "contexts": [{"name": inv.cluster, "context": {"cluster": inv.cluster, "user": inv.cluster}}],
                "current-context": inv.cluster}

    # -- the PKI -----------------------------------------------------------------------
    def leaves(self) -> tuple[Leaf, ...]:
        from kubefab.pki import Leaf, common_leaves
        kubelets = tuple(Leaf(f"kubelet-{n.name}", f"system:node:{n.name}", ("system:nodes",))
                         for n in self.inv.nodes)
        return common_leaves(self.inv, kubelets)

    # -- etcd --------------------------------------------------------------------------
    def etcd_refusal(self, task: str) -> str | None:
        k = self.inv.kubernetes
        return (f"{task}: the v1.0 profile's apiserver keeps its objects in etcd's v2 store on "
                f"{', '.join(k.etcd_servers) or 'the etcd servers'}, which kubefab does not run and a v3 "
                f"snapshot does not hold; back up those servers' data dirs on them instead "
                f"(ETCDCTL_API=2 etcdctl backup --data-dir DIR --backup-dir DIR2)")


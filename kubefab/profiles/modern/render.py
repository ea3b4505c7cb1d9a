"""Render for the modern profile (v1.35 and later): (inventory, host, pki) -> {path:
File}, behind kubefab.render's interface (render_host, unit_order, target,
release_stamp). Templates in kubefab/templates/modern/, paths from kubefab.layout,
command lines from kubefab.profiles.modern.units, downloads from kubefab.profiles.modern.downloads. Pure.

Also what the orchestration needs beyond files: the readiness URL and the RBAC
objects to apply once the apiserver is ready.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from kubefab.profiles.modern import atrest, balancer, downloads, etcd, paths as L, pki as modern_pki, units as modern_units, network
from kubefab import registration, templating, versions
from kubefab.files import File
from kubefab import layout as U
from kubefab.model import MANUAL, Host, Inventory

if TYPE_CHECKING:
    from kubefab.pki import Pki

HEALTH_TRIES = 60


def unit_order(inv: Inventory, host: Host) -> tuple[str, ...]:
    """The download, then the apiserver first on the master (deploy and master.restart
    restart it before the others); systemd's After= orders the starts."""
    register = (U.REGISTER,) if not host.is_master and inv.kubernetes.registration == MANUAL else ()
    services = tuple(u.name for u in modern_units.units(inv, host))
    if register:  # before the kubelet, as in the legacy profile
        i = services.index(U.KUBELET)
        services = (*services[:i], *register, *services[i:])
    return (U.DOWNLOAD, *services)


def readyz(inv: Inventory, master: Host | None = None) -> str:
    """A master's apiserver readiness URL as deploy should poll it (with the admin
    certificate), at its address: the way nodes reach it."""
    return f"{inv.master_url_of(master or inv.master)}/readyz"


RBAC = """\
# Rendered by kubefab: the apiserver's kubelet client (CN kube-apiserver-kubelet-client)
# may use the kubelet API (logs, exec, port-forward, metrics): kubectl apply -f once
# the apiserver is ready.
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: kubefab:apiserver-kubelet-client
  labels:
    app.kubernetes.io/managed-by: kubefab
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: system:kubelet-api-admin
subjects:
- apiGroup: rbac.authorization.k8s.io
  kind: User
  name: kube-apiserver-kubelet-client
"""


# kubeadm's EnsureAdminClusterRoleBinding (docs/KUBERNETES.md §16): the admin's group
# bound to cluster-admin. The admin cannot create it while it is not bound: kubefab
# applies it with the super-admin's credential (pki/super-admin.kubeconfig) when missing.
ADMIN_BINDING = f"""\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: {modern_pki.CLUSTER_ADMINS}
  labels:
    app.kubernetes.io/managed-by: kubefab
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: cluster-admin
subjects:
- apiGroup: rbac.authorization.k8s.io
  kind: Group
  name: {modern_pki.CLUSTER_ADMINS}
"""


def registered(inv: Inventory, host: Host) -> dict:
    """What a kubelet puts on the Node it registers (k/k pkg/kubelet/kubelet_node_status.go,
    docs/KUBERNETES.md §18): the well-known labels and, with attach/detach by the
    controller (the default), its annotation. A Node kubefab creates carries the same."""
    arch = inv.kubernetes.arch
    return {"labels": {"beta.kubernetes.io/arch": arch, "beta.kubernetes.io/os": "linux",
                       "kubernetes.io/arch": arch, "kubernetes.io/hostname": host.name, "kubernetes.io/os": "linux"},
            "annotations": {"volumes.kubernetes.io/controller-managed-attach-detach": "true"}}


def kubectl(inv: Inventory) -> list[str]:
    """kubectl on the master as kubefab's admin (root: the key is root's), for labels,
    node registration and the RBAC manifest; the modern heir of steps.kubectl's
    insecure-port argv."""
    return [f"{inv.kubernetes.bin_dir.rstrip('/')}/kubectl", "--kubeconfig", L.ADMIN_KUBECONFIG]


def rbac_manifest(inv: Inventory) -> str:
    """What deploy applies with kubectl (as admin) after /readyz says ok."""
    return RBAC


def _file(path, template, mode=0o644, **extra):
    return path, template, mode, extra


def _secret(path, template, what, restarts=()):
    return _file(path, template, 0o600, secret=True, secret_note=what, restarts=restarts)


def specs(inv: Inventory, host: Host) -> list:
    """(path, template or None, mode, File extras) for every rendered file on `host`."""
    k, units = inv.kubernetes, (target(host), *unit_order(inv, host))
    out = [_file(L.DOWNLOAD_MANIFEST, None),
           _file(f"{k.bin_dir.rstrip('/')}/{L.DOWNLOAD_SCRIPT}", "kubernetes-download.j2", 0o755)]
    for u in units:
        template = {units[0]: f"{u}.j2", U.DOWNLOAD: "kubernetes.download.service.j2",
                    U.REGISTER: f"{u}.j2"}.get(u, "service.j2")
        out.append(_file(f"{U.UNIT_DIR}/{u}", template, restarts=() if u == units[0] else (u,)))
    if host.is_master and host == inv.master and k.managed_etcd:
        # the first master's member bootstraps the cluster (state new, itself alone); read
        # only while its data dir is empty, so it restarts nothing. A master that joins
        # gets its file from `member add` (kubefab.ops.members), not rendered.
        out.append(_file(L.ETCD_ENV, None))
    if host.is_master:
        out += [_file(L.SCHEDULER_CONFIG, "kube-scheduler.yaml.j2", restarts=(U.SCHEDULER,)),
                _file(L.CM_KUBECONFIG, "kubeconfig.j2", restarts=(U.CONTROLLER_MANAGER,)),
                _file(L.SCHEDULER_KUBECONFIG, "kubeconfig.j2", restarts=(U.SCHEDULER,)),
                _file(L.ADMIN_KUBECONFIG, "kubeconfig.j2", 0o600),
                _secret(L.ENCRYPTION_CONFIG, "encryption-config.yaml.j2", "the key encrypting secrets at rest",
                        (U.APISERVER,))]
        return out
    if inv.local_balancer:
        config, template = ((L.LB_NGINX_CONFIG, "apiserver-lb-nginx.conf.j2")
                            if k.apiserver.load_balancer == "nginx" else (L.LB_HAPROXY_CONFIG, "apiserver-lb-haproxy.cfg.j2"))
        out.append(_file(config, template, restarts=(U.APISERVER_LB,)))
    containerd = ("containerd-config-v3.toml.j2" if int(k.component_version("containerd")[0]) >= 2
                  else "containerd-config-v2.toml.j2")
    out += [_file(L.CONTAINERD_CONFIG, containerd, restarts=(U.CONTAINERD,)),
            _file(L.SYSCTL, "sysctl.conf.j2", restarts=(U.CONTAINERD,)),
            _file(L.MODULES_LOAD, "modules-load.conf.j2"),
            _file(L.KUBELET_CONFIG, "kubelet-config.yaml.j2", restarts=(U.KUBELET,)),
            _file(L.KUBELET_KUBECONFIG, "kubeconfig.j2",
                  restarts=(*((U.REGISTER,) if k.registration == MANUAL else ()), U.KUBELET)),
            _file(L.PROXY_CONFIG, "kube-proxy-config.yaml.j2", restarts=(U.PROXY,)),
            _file(L.PROXY_KUBECONFIG, "kubeconfig.j2", restarts=(U.PROXY,))]
    if k.bridge_network:
        out.append(_file(L.CNI_BRIDGE, "bridge.conflist.j2"))
    if k.registration == MANUAL:
        out.append(_file(f"{k.bin_dir.rstrip('/')}/register_node.sh", "register_node.sh.j2", 0o755,
                         restarts=(U.REGISTER,)))
    if inv.registry:
        note = f"registry token from {inv.registry.token_source or 'the inventory'}"
        out += [_secret(L.REGISTRY_AUTH, "registry-config.json.j2", note),
                _secret(f"{L.CONTAINERD_CERTS_D}/{inv.registry.server}/hosts.toml", "hosts.toml.j2", note)]
    return out


def condition_hosts(inv: Inventory, host: Host) -> list[str]:
    """ConditionHost= lines (all must hold): a master's units run on that master only, a
    node's on no master."""
    return [host.name] if host.is_master else [f"!{m.name}" for m in inv.masters]


def target(host: Host) -> str:
    return U.MASTER_TARGET if host.is_master else U.NODE_TARGET  # as every profile (Profile.target)


def host_context(inv: Inventory, host: Host, pki: Pki) -> dict:
    """The template values every file of `host` shares: worked out once a host, not once
    a file (its units, labels and names were a host's rendering time eighteen times)."""
    k = inv.kubernetes
    requires = tuple(dict.fromkeys((*k.requires, *(() if k.bridge_network else (k.pod_network,)))))
    labels = modern_units.self_labels(inv, host)  # the rest: kubectl on the master (registration)
    return dict(inv=inv, host=host, k=k, master=inv.master, paths=L, registry=inv.registry,
                bin_dir=k.bin_dir.rstrip("/"), requires=requires, target=target(host),
                units=unit_order(inv, host), condition_hosts=condition_hosts(inv, host),
                manifest=L.DOWNLOAD_MANIFEST, download=U.DOWNLOAD, manual=k.registration == MANUAL,
                node_master_url=inv.node_server_url(host), secretbox_keys=atrest.secretbox_keys(pki),
                aescbc_key=pki.encryption_key, aescbc_name=atrest.AESCBC_NAME, registered=registered(inv, host),
                containerd_version=k.component_version("containerd"), pause_image=versions.PAUSE_IMAGE,
                runc=f"{k.bin_dir.rstrip('/')}/runc", labels=labels, health_tries=HEALTH_TRIES,
                label_args=[f"{key}={value}" for key, value in labels.items()], tls=True, ca_cert=L.CA,
                record=registration.record(inv.node_labels(host)),
                kubelet_cert=L.KUBELET_CERT, kubelet_key=L.KUBELET_KEY, kubelet_kubeconfig=L.KUBELET_KUBECONFIG,
                names=dict(apiserver=U.APISERVER, scheduler=U.SCHEDULER, controller_manager=U.CONTROLLER_MANAGER,
                           register=U.REGISTER, kubelet=U.KUBELET, proxy=U.PROXY),  # the shared templates'
                own_units={u.name: u for u in modern_units.units(inv, host)})


def context(inv: Inventory, host: Host, shared: dict, path: str) -> dict:
    """The template values for the file at `path`: `shared` (host_context) and its own."""
    ctx = dict(shared)
    labels = ctx["labels"]
    if path.startswith(U.UNIT_DIR + "/"):
        ctx["unit"] = ctx["own_units"].get(path.rsplit("/", 1)[1])
    if path.endswith("/register_node.sh"):
        if inv.local_balancer:  # curl --connect-to and kubectl --tls-server-name: the name the certificate carries
            address, port = balancer.listen(inv, host)
            ctx.update(server_name=balancer.SERVER_NAME, health_url=f"https://{balancer.SERVER_NAME}:{port}",
                       connect_to=f"{balancer.SERVER_NAME}:{port}:{address}:{port}")
        made = registered(inv, host)
        ctx.update(node_labels={**made["labels"], **labels},
                   node_annotations={**ctx["record"], **made["annotations"]})
    if path == L.CNI_BRIDGE:
        ctx["pod_subnet"] = network.pod_subnets(inv)[host.name]
    own, node = modern_units.apiserver_url(inv, host), inv.node_server_url(host)
    kubeconfigs = {
        L.CM_KUBECONFIG: ("kube-controller-manager", "system:kube-controller-manager", L.CM_CERT, L.CM_KEY, own),
        L.SCHEDULER_KUBECONFIG: ("kube-scheduler", "system:kube-scheduler", L.SCHEDULER_CERT, L.SCHEDULER_KEY, own),
        L.KUBELET_KUBECONFIG: ("kubelet", f"system:node:{host.name}", L.KUBELET_CERT, L.KUBELET_KEY, node),
        L.PROXY_KUBECONFIG: ("kube-proxy", "system:kube-proxy", L.PROXY_CERT, L.PROXY_KEY, node),
        L.ADMIN_KUBECONFIG: ("kubefab-admin", f"kubefab-admin, {modern_pki.CLUSTER_ADMINS}", L.ADMIN_CERT,
                             L.ADMIN_KEY, own),
    }
    if path in kubeconfigs:
        ctx.update(zip(("user", "cn", "cert", "key", "server"), kubeconfigs[path]))
        # a node's own load balancer listens on the node's address, which the apiserver's
        # certificate does not name: the client checks it for a name it does (client-go's
        # tls-server-name), so that no node's address joins the certificate
        ctx["tls_server_name"] = balancer.SERVER_NAME if ctx["server"] == node and inv.local_balancer else None
    if path in (L.LB_HAPROXY_CONFIG, L.LB_NGINX_CONFIG):
        ctx["balancer"] = balancer.context(inv, host)
    return ctx


def pki_files(inv: Inventory, host: Host, pki: Pki) -> list[File]:
    """The CA certificate, and the host's own certificates and keys (keys are secrets)."""

    def pair(cert_path, key_path, part, what, restarts):
        return [File(cert_path, part.cert, 0o644, restarts=restarts),
                File(key_path, part.key, 0o600, secret=True, secret_note=f"{what} private key", restarts=restarts)]

    k = inv.kubernetes
    if not host.is_master:
        kubelet = (*((U.REGISTER,) if k.registration == MANUAL else ()), U.KUBELET)
        return [File(L.CA, pki.ca_cert, 0o644, restarts=(*kubelet, U.PROXY)),
                *pair(L.KUBELET_CERT, L.KUBELET_KEY, pki.kubelet(host.name), "kubelet", kubelet),
                *pair(L.PROXY_CERT, L.PROXY_KEY, pki.proxy, "kube-proxy", (U.PROXY,))]
    api, cm, sched = (U.APISERVER,), (U.CONTROLLER_MANAGER,), (U.SCHEDULER,)
    files = [File(L.CA, pki.ca_cert, 0o644, restarts=(*api, *cm, *sched)),
             File(L.CA_KEY, pki.ca_key, 0o600, secret=True, secret_note="cluster CA private key (the CSR signer)",
                  restarts=cm),
             File(L.FRONT_PROXY_CA, pki.front_proxy_ca_cert, 0o644, restarts=(*api, *cm)),
             *pair(L.FRONT_PROXY_CERT, L.FRONT_PROXY_KEY, pki.part("front-proxy-client"), "front-proxy client", api),
             *pair(L.APISERVER_CERT, L.APISERVER_KEY, pki.apiserver, "apiserver", api),
             *pair(L.KUBELET_CLIENT_CERT, L.KUBELET_CLIENT_KEY, pki.part("apiserver-kubelet-client"),
                   "apiserver kubelet client", api),
             *pair(L.CM_CERT, L.CM_KEY, pki.part("kube-controller-manager"), "controller-manager", cm),
             *pair(L.SCHEDULER_CERT, L.SCHEDULER_KEY, pki.part("kube-scheduler"), "scheduler", sched),
             *pair(L.ADMIN_CERT, L.ADMIN_KEY, pki.admin, "admin (kubefab-admin)", ()),
             File(L.SA_PUBLIC, pki.service_accounts.cert, 0o644, restarts=api),
             File(L.SA_KEY, pki.service_accounts.key, 0o600, secret=True,
                  secret_note="service-account signing key", restarts=(*api, *cm))]
    if k.managed_etcd:
        etcd = (U.ETCD,)
        files += [File(L.ETCD_CA, pki.etcd_ca_cert, 0o644, restarts=api),
                  *pair(L.ETCD_CLIENT_CERT, L.ETCD_CLIENT_KEY, pki.part("apiserver-etcd-client"),
                        "apiserver etcd client", api),
                  File(L.ETCD_SERVER_CA, pki.etcd_ca_cert, 0o644, restarts=etcd),
                  *pair(L.ETCD_CERT, L.ETCD_KEY, pki.part(modern_pki.etcd_member(inv, host)), "etcd member", etcd)]
    elif k.etcd_client:
        files += [File(L.ETCD_CA, pki.etcd_ca_cert, 0o644, restarts=api),
                  *pair(L.ETCD_CLIENT_CERT, L.ETCD_CLIENT_KEY, pki.part("etcd-client"), "etcd client", api)]
    return files


def render_host(inv: Inventory, host: Host, pki: Pki) -> list[File]:
    """Every file kubefab writes on `host` (unsorted; kubefab.render sorts)."""
    environment = templating.environment(__package__)
    shared = host_context(inv, host, pki)
    files = []
    for path, template, mode, extra in specs(inv, host):
        if path == L.ETCD_ENV:
            content = etcd.first_start_env(f"{host.name}={modern_units.etcd_peer_url(inv, host)}", "new")
        elif template is None:  # the download manifest: text from kubefab.profiles.modern.downloads
            content = downloads.manifest(inv, host)
        elif path == L.ENCRYPTION_CONFIG and pki.secretbox_key is None:
            content = None  # unknown: a read-only PKI (status) lacks the key
        else:
            content = environment.get_template(template).render(context(inv, host, shared, path))
        files.append(File(path, content, mode, **extra))
    return files + pki_files(inv, host, pki)

"""The modern profile's systemd units as data: each one's command line (argv, every
flag checked against the release's flag table by the tests), ordering and service
settings; `kubefab/templates/modern/service.j2` writes them. Pure.

Every address a service listens on comes from the host's bind_address (the lab runs
each host on its own 127.0.0.N); processes on the master reach the apiserver and etcd
at the master's local address.
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from kubefab.profiles.modern import paths as L
from kubefab.profiles.modern import network
from kubefab import layout as U
from kubefab.model import MANUAL, Host, Inventory, _url

ADMISSION = "NamespaceLifecycle,NodeRestriction,LimitRanger,ServiceAccount,DefaultStorageClass,ResourceQuota"
# kubeadm's (docs/KUBERNETES.md §14): the apiserver reaches kubelets at their InternalIP
# first, which their serving certificates name, whatever resolves node names
ADDRESS_TYPES = "InternalIP,ExternalIP,Hostname"
# the aggregation layer, kubeadm's values (getAPIServerCommand): the front proxy's CA and
# client certificate, the headers extension apiservers read the user from
REQUESTHEADER = ("--requestheader-allowed-names=front-proxy-client", "--requestheader-extra-headers-prefix=X-Remote-Extra-",
                 "--requestheader-group-headers=X-Remote-Group", "--requestheader-username-headers=X-Remote-User")


# several masters: a stopping apiserver keeps serving this long with /readyz failing (the
# generic server's --shutdown-delay-duration), so load balancers that check /readyz
# (kubefab.profiles.modern.balancer: within 2 s) stop sending to it before it closes
SHUTDOWN_DELAY = "4s"


@dataclass(frozen=True)
class Unit:
    name: str
    description: str
    argv: tuple[str, ...]  # ExecStart
    after: tuple[str, ...] = ()
    requires: tuple[str, ...] = ()
    order_after: tuple[str, ...] = ()  # After= only (no Wants=): started first when it runs at all
    pre: tuple[str, ...] = ()  # ExecStartPre lines, as written
    service: tuple[str, ...] = ("Restart=on-failure", "RestartSec=5")  # further [Service] lines
    extra_exec: tuple[str, ...] = ()  # further ExecStart= (oneshots) and ExecStop= lines


def is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def etcd_url(inv: Inventory, master: Host | None = None) -> str:
    """How the apiserver and etcdctl on a master (the first by default) reach its own
    member: on the master's local address."""
    return _url("https", (master or inv.master).local_address, 2379)


def etcd_client_url(master: Host) -> str:
    """A member's client URL as the other masters reach it (its address)."""
    return _url("https", master.address, 2379)


def etcd_peer_url(inv: Inventory, master: Host | None = None) -> str:
    """A member's peer URL (its unit's, `member add`'s and a restore's)."""
    return _url("https", (master or inv.master).address, 2380)


def etcd_servers(inv: Inventory, master: Host) -> tuple[str, ...]:
    """Every member, the master's own first (kubeadm's stacked etcd names only its own;
    every member lets the apiserver's client fail over while its own restarts)."""
    return (etcd_url(inv, master), *(etcd_client_url(m) for m in inv.masters if m != master))


def apiserver_url(inv: Inventory, master: Host | None = None) -> str:
    """How processes on a master reach its own apiserver (secure port, local address)."""
    return _url("https", (master or inv.master).local_address, inv.kubernetes.apiserver.secure_port)


def bin_(inv: Inventory, name: str) -> str:
    return f"{inv.kubernetes.bin_dir.rstrip('/')}/{name}"


def apiserver(inv: Inventory, m: Host) -> Unit:
    k = inv.kubernetes
    if k.managed_etcd:
        etcd = (f"--etcd-servers={','.join(etcd_servers(inv, m))}", f"--etcd-cafile={L.ETCD_CA}",
                f"--etcd-certfile={L.ETCD_CLIENT_CERT}", f"--etcd-keyfile={L.ETCD_CLIENT_KEY}")
    else:  # plain http only with etcd_insecure (kubefab.profiles.modern.settings refuses it otherwise)
        etcd = (f"--etcd-servers={','.join(k.etcd_servers)}",)
        if k.etcd_client:
            etcd += (f"--etcd-cafile={L.ETCD_CA}", f"--etcd-certfile={L.ETCD_CLIENT_CERT}",
                     f"--etcd-keyfile={L.ETCD_CLIENT_KEY}")
    argv = (bin_(inv, "kube-apiserver"),
            *((f"--advertise-address={m.address}",) if is_ip(m.address) else ()),
            "--allow-privileged=true", "--authorization-mode=Node,RBAC",
            f"--bind-address={m.bind_address}", f"--secure-port={k.apiserver.secure_port}",
            f"--client-ca-file={L.CA}", f"--enable-admission-plugins={ADMISSION}",
            # the master runs no kube-proxy: the aggregator reaches extension apiservers' pods directly
            "--enable-aggregator-routing=true",
            f"--encryption-provider-config={L.ENCRYPTION_CONFIG}", *etcd, "--event-ttl=1h",
            f"--kubelet-certificate-authority={L.CA}", f"--kubelet-client-certificate={L.KUBELET_CLIENT_CERT}",
            f"--kubelet-client-key={L.KUBELET_CLIENT_KEY}", f"--kubelet-preferred-address-types={ADDRESS_TYPES}",
            f"--proxy-client-cert-file={L.FRONT_PROXY_CERT}", f"--proxy-client-key-file={L.FRONT_PROXY_KEY}",
            *REQUESTHEADER[:1], f"--requestheader-client-ca-file={L.FRONT_PROXY_CA}", *REQUESTHEADER[1:],
            f"--service-account-issuer={inv.secure_master_url}", f"--service-account-key-file={L.SA_PUBLIC}",
            f"--service-account-signing-key-file={L.SA_KEY}",
            f"--service-cluster-ip-range={k.apiserver.service_cluster_ip_range}",
            *((f"--shutdown-delay-duration={SHUTDOWN_DELAY}",) if len(inv.masters) > 1 else ()),
            f"--tls-cert-file={L.APISERVER_CERT}", f"--tls-private-key-file={L.APISERVER_KEY}",
            f"--v={k.log_level}")
    # After= and Wants= kubefab's etcd, not Requires=: systemd restarts and stops a unit with
    # its Requires= (systemd.unit(5)), so a restart of etcd bounced the apiserver mid-run.
    # etcd restarts first and serves before the apiserver restarts (Modern.restart_first).
    etcd_unit = (U.ETCD,) if k.managed_etcd else ()
    return Unit(U.APISERVER, "Kubernetes API Server", argv, after=(U.DOWNLOAD, *etcd_unit))


def controller_manager(inv: Inventory, m: Host) -> Unit:
    """kubeadm's flags (docs/KUBERNETES.md §15): its secure port on the master's own
    address, checking callers through the apiserver (authn/authz kubeconfigs), leader
    election, and the CSR signer with the cluster CA."""
    k = inv.kubernetes
    # With kubefab's bridge network the pod subnets are static (CNI config); an
    # overlay network needs node.spec.podCIDR, which the controller-manager allocates.
    allocate = () if k.bridge_network else ("--allocate-node-cidrs=true",
                                            f"--node-cidr-mask-size={k.node_cidr_prefix}")
    argv = (bin_(inv, "kube-controller-manager"), f"--authentication-kubeconfig={L.CM_KUBECONFIG}",
            f"--authorization-kubeconfig={L.CM_KUBECONFIG}", f"--bind-address={m.local_address}",
            f"--client-ca-file={L.CA}", f"--cluster-cidr={k.cluster_cidr}", *allocate,
            f"--cluster-name={inv.cluster}", f"--cluster-signing-cert-file={L.CA}",
            f"--cluster-signing-key-file={L.CA_KEY}", f"--kubeconfig={L.CM_KUBECONFIG}", "--leader-elect=true",
            f"--requestheader-client-ca-file={L.FRONT_PROXY_CA}", f"--root-ca-file={L.CA}",
            f"--service-account-private-key-file={L.SA_KEY}",
            f"--service-cluster-ip-range={k.apiserver.service_cluster_ip_range}",
            "--use-service-account-credentials=true", f"--v={k.log_level}")
    return Unit(U.CONTROLLER_MANAGER, "Kubernetes Controller Manager", argv, after=(U.DOWNLOAD, U.APISERVER))


def scheduler(inv: Inventory, m: Host) -> Unit:
    """kubeadm's: the secure port on the master's own address, callers checked through
    the apiserver; leader election is in its config file."""
    argv = (bin_(inv, "kube-scheduler"), f"--authentication-kubeconfig={L.SCHEDULER_KUBECONFIG}",
            f"--authorization-kubeconfig={L.SCHEDULER_KUBECONFIG}", f"--bind-address={m.local_address}",
            f"--config={L.SCHEDULER_CONFIG}", f"--v={inv.kubernetes.log_level}")
    return Unit(U.SCHEDULER, "Kubernetes Scheduler", argv, after=(U.DOWNLOAD, U.APISERVER))


def etcd(inv: Inventory, m: Host) -> Unit:
    """One member per master. How it starts the first time is no flag: the environment
    file deploy writes before its first start (paths.ETCD_ENV: ETCD_INITIAL_CLUSTER and
    ETCD_INITIAL_CLUSTER_STATE, new on the first master, what `member add` printed on one
    that joins, as kubeadm joins a stacked member); etcd reads them only while its data
    dir is empty. A flag would shadow them (an error since etcd 3.5)."""
    client, peer = etcd_client_url(m), etcd_peer_url(inv, m)
    argv = (bin_(inv, "etcd"), f"--name={m.name}", f"--data-dir={L.ETCD_DATA}",
            f"--initial-cluster-token={inv.cluster}",
            f"--listen-client-urls={_url('https', m.bind_address, 2379)}", f"--advertise-client-urls={client}",
            f"--listen-peer-urls={_url('https', m.bind_address, 2380)}", f"--initial-advertise-peer-urls={peer}",
            f"--cert-file={L.ETCD_CERT}", f"--key-file={L.ETCD_KEY}",
            f"--trusted-ca-file={L.ETCD_SERVER_CA}", "--client-cert-auth=true",
            f"--peer-cert-file={L.ETCD_CERT}", f"--peer-key-file={L.ETCD_KEY}",
            f"--peer-trusted-ca-file={L.ETCD_SERVER_CA}", "--peer-client-cert-auth=true",
            f"--listen-metrics-urls={_url('http', m.local_address, 2381)}")
    return Unit(U.ETCD, "etcd, the apiserver's store (kubefab's own)", argv, after=(U.DOWNLOAD,),
                service=("Type=notify", f"EnvironmentFile=-{L.ETCD_ENV}", "Restart=on-failure", "RestartSec=5",
                         "LimitNOFILE=65536"))


def containerd(inv: Inventory) -> Unit:
    bin_dir = inv.kubernetes.bin_dir.rstrip("/")
    return Unit(U.CONTAINERD, "containerd container runtime",
                (bin_(inv, "containerd"), "--config", L.CONTAINERD_CONFIG), after=(U.DOWNLOAD,),
                pre=("-/sbin/modprobe overlay", "-/sbin/modprobe br_netfilter",
                     "-/sbin/sysctl --quiet --load=" + L.SYSCTL),
                service=(f"Environment=PATH={bin_dir}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                         "Delegate=yes", "KillMode=process", "OOMScoreAdjust=-999", "LimitNOFILE=1048576",
                         "LimitNPROC=infinity", "LimitCORE=infinity", "Restart=always", "RestartSec=5"))


# What a kubelet may label its own Node with (kubernetes/kubelet well_known_labels.go,
# MODERN.md §3): unprefixed keys and any outside kubernetes.io/k8s.io; inside them only
# this set and the two namespaces. The kubelet refuses others in --node-labels at
# startup and NodeRestriction refuses them from a node: kubectl on the master sets them.
KUBELET_LABELS = frozenset((
    "kubernetes.io/hostname", "kubernetes.io/os", "kubernetes.io/arch", "beta.kubernetes.io/os",
    "beta.kubernetes.io/arch", "beta.kubernetes.io/instance-type", "node.kubernetes.io/instance-type",
    "topology.kubernetes.io/zone", "topology.kubernetes.io/region", "failure-domain.beta.kubernetes.io/zone",
    "failure-domain.beta.kubernetes.io/region"))
KUBELET_NAMESPACES = ("kubelet.kubernetes.io", "node.kubernetes.io")


def _within(domain: str, parents) -> bool:
    return any(domain == p or domain.endswith("." + p) for p in parents)


def node_may_set(key: str) -> bool:
    """Whether a node's own credentials may set this label key on its Node."""
    prefix = key.split("/", 1)[0] if "/" in key else ""
    if not prefix or not _within(prefix, ("kubernetes.io", "k8s.io")) or key in KUBELET_LABELS:
        return True
    return _within(prefix, KUBELET_NAMESPACES)


def self_labels(inv: Inventory, host: Host) -> dict[str, str]:
    """The inventory labels the node sets itself (--node-labels, register_node.sh)."""
    return {k: v for k, v in sorted(inv.node_labels(host).items()) if node_may_set(k)}


def kubelet(inv: Inventory, host: Host) -> Unit:
    k = inv.kubernetes
    labels = ",".join(f"{key}={value}" for key, value in self_labels(inv, host).items())
    label_flag = (f"--node-labels={labels}",) if k.registration != MANUAL and labels else ()
    argv = (bin_(inv, "kubelet"), f"--config={L.KUBELET_CONFIG}", f"--kubeconfig={L.KUBELET_KUBECONFIG}",
            f"--hostname-override={host.name}", *((f"--node-ip={host.address}",) if is_ip(host.address) else ()),
            *label_flag, f"--v={k.log_level}")
    network_unit = () if k.bridge_network else (k.pod_network,)
    return Unit(U.KUBELET, "Kubernetes Kubelet", argv, after=(U.DOWNLOAD, U.CONTAINERD, *network_unit),
                requires=(U.CONTAINERD,), order_after=(RESOLVED,), pre=(RESOLV_LINK,))


RESOLVED = "systemd-resolved.service"
# which resolv.conf pods get (kubelet resolvConf: paths.RESOLV_CONF): resolved's upstream
# file while resolved runs, else the host's own; chosen again at every kubelet start
RESOLV_LINK = ("/bin/sh -c 'mkdir -p " + L.RESOLV_CONF.rsplit("/", 1)[0] + " && if systemctl --quiet is-active "
               + RESOLVED + " && [ -s " + L.RESOLVED_CONF + " ]; then ln -sfn " + L.RESOLVED_CONF + " "
               + L.RESOLV_CONF + "; else ln -sfn /etc/resolv.conf " + L.RESOLV_CONF + "; fi'")


def proxy(inv: Inventory) -> Unit:
    return Unit(U.PROXY, "Kubernetes Proxy", (bin_(inv, "kube-proxy"), f"--config={L.PROXY_CONFIG}",
                                               f"--v={inv.kubernetes.log_level}"), after=(U.DOWNLOAD,))


def pod_routes(inv: Inventory, host: Host) -> Unit | None:
    """kubefab's bridge network on this host (MODERN.md §5, docs/KUBERNETES.md §8): the
    other hosts' pod subnets via their addresses (static routes), and on a node the
    masquerade of what its pods send out of the cluster's pod and service ranges (pod
    to pod and pod to Service keep their pod addresses). None: nothing to do."""
    starts = [("/sbin/ip", "route", "replace", s, "via", v) for s, v in network.routes(inv, host)]
    stops = [f"ExecStop=-/sbin/ip route del {s}" for s, _ in network.routes(inv, host)]
    pre = ()
    if not host.is_master:
        chain, subnet, k = L.POD_MASQUERADE, network.pod_subnets(inv)[host.name], inv.kubernetes
        nat = "/sbin/iptables -w -t nat"
        jump = f"POSTROUTING -s {subnet} -m comment --comment kubefab-pod-masquerade -j {chain}"
        pre = (f"-{nat} -N {chain}", f"{nat} -F {chain}", f"-{nat} -D {jump}")
        starts += [(*nat.split(), "-A", chain, "-d", cidr, "-j", "RETURN")
                   for cidr in (k.cluster_cidr, k.apiserver.service_cluster_ip_range)]
        starts += [(*nat.split(), "-A", chain, "-j", "MASQUERADE"), (*nat.split(), "-A", *jump.split())]
        stops += [f"ExecStop=-{nat} -D {jump}", f"ExecStop=-{nat} -F {chain}", f"ExecStop=-{nat} -X {chain}"]
    if not starts:
        return None
    return Unit(U.POD_ROUTES, "kubefab's bridge pod network: routes to the other hosts' pod subnets, "
                "masquerade out of the cluster", starts[0], after=("network-online.target",),
                service=("Type=oneshot", "RemainAfterExit=yes"), pre=pre,
                extra_exec=(*(f"ExecStart={' '.join(argv)}" for argv in starts[1:]), *stops))


def units(inv: Inventory, host: Host) -> tuple[Unit, ...]:
    """kubefab's services on `host` (the download unit and register-node excluded, which
    have their own templates), in unit_order."""
    k = inv.kubernetes
    network_unit = pod_routes(inv, host) if k.bridge_network else None
    routes = (network_unit,) if network_unit else ()
    if host.is_master:
        return (apiserver(inv, host), scheduler(inv, host), controller_manager(inv, host),
                *((etcd(inv, host),) if k.managed_etcd else ()), *routes)
    balancer = (load_balancer(inv, host),) if inv.local_balancer else ()
    return (*balancer, containerd(inv), *routes, kubelet(inv, host), proxy(inv))


def load_balancer(inv: Inventory, host: Host) -> Unit:
    """The node-local load balancer over the masters' apiservers (kubespray's and k0s's
    design): the distribution's haproxy (master-worker mode, systemd notify, as Debian's
    own unit runs it) or nginx (its stream module, in the foreground), with kubefab's
    config (kubefab.profiles.modern.balancer)."""
    if inv.kubernetes.apiserver.load_balancer == "nginx":
        argv = (L.NGINX, "-c", L.LB_NGINX_CONFIG)  # in the foreground: the config says daemon off
        check = f"{L.NGINX} -t -q -c {L.LB_NGINX_CONFIG}"
        service = ("Type=exec", "Restart=always", "RestartSec=2")
    else:
        argv = (L.HAPROXY, "-Ws", "-f", L.LB_HAPROXY_CONFIG)
        check = f"{L.HAPROXY} -c -q -f {L.LB_HAPROXY_CONFIG}"
        service = ("Type=notify", "Restart=always", "RestartSec=2")
    return Unit(U.APISERVER_LB, "the apiservers' load balancer on this node (kubefab's own)", argv,
                after=("network-online.target",), pre=(check,), service=service)

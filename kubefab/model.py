"""The cluster as kubefab sees it: frozen dataclasses built by `inventory.load`.

Pure data. Nothing here reads files, talks SSH, or imports fabric/invoke.
"""
from __future__ import annotations

import functools
import ipaddress
from dataclasses import dataclass, field
from pathlib import Path

from kubefab import versions
from kubefab.layout import BACKUPS


MASTER, NODE = "master", "node"
SELF, MANUAL = "self", "manual"  # node registration modes
TOKEN, SUDO = "token", "sudo"  # the secrets an inventory names: the registry token, sudo passwords
BRIDGE = "bridge"  # pod_network: kubefab's CNI bridge and routes (else: a unit that provides it)


SSH_KEYS_GIVEN = ("user", "port", "identity", "connect_timeout")  # what an inventory sets over ssh_config
CONNECT_TIMEOUT = 10.0  # seconds to reach a host's sshd (ssh.connect_timeout)


@dataclass(frozen=True)
class Hop:
    """A bastion (jump host) the connection goes through first, as OpenSSH's ProxyJump:
    its address, login and key, and the bastion before it, if any."""
    address: str
    port: int = 22
    user: str = "core"
    identity: Path | None = None
    name: str = ""  # the inventory host it is ("" for an address of its own)
    given: frozenset[str] = frozenset()  # of SSH_KEYS_GIVEN: set by the inventory, over ssh_config
    bastion: "Hop | None" = None

    @property
    def where(self) -> str:
        return f"{self.user}@{self.address}:{self.port}"


@dataclass(frozen=True)
class Ssh:
    user: str = "core"
    port: int = 22
    identity: Path | None = None  # private key; None: the agent / ~/.ssh defaults
    known_hosts: Path | None = None  # None: ~/.ssh/known_hosts
    bastion: Hop | None = None  # None: straight to the host
    host: str | None = None  # the name SSH connects to (an ssh_config alias); None: the host's address
    config: tuple[Path, ...] = ()  # OpenSSH client configs honoured (aliases, users, ports, keys, ProxyJump)
    connect_timeout: float = CONNECT_TIMEOUT
    given: frozenset[str] = frozenset()  # of SSH_KEYS_GIVEN: set by the inventory, over ssh_config
    sudo_password: str | None = field(default=None, repr=False)  # None: sudo needs none (sudo -n)
    sudo_password_source: str = ""  # "environment variable X", "file P", "the prompt": for messages


@dataclass(frozen=True)
class Registry:
    """A private image registry; the token is resolved at load time, never inline."""

    server: str  # "quay.io"
    token: str = field(repr=False)
    token_source: str = ""  # "environment variable X" / "file /p", for messages
    email: str = ""
    user: str = "core"  # owns /home/<user>/.dockercfg and /var/lib/kubelet/.dockercfg


@dataclass(frozen=True)
class Apiserver:
    insecure_port: int = 8080
    secure_port: int = 6443
    service_cluster_ip_range: str = "10.100.0.0/16"
    # Several masters (the modern profile): how clients other than the masters' own reach
    # the apiservers. endpoint: an external load balancer, VIP or DNS name (host[:port]),
    # used by kubelets, kube-proxy and the admin kubeconfig; None: on every node a local
    # load balancer (load_balancer: haproxy or nginx) over the masters. Both the endpoint
    # and extra_sans go into the apiserver's certificate.
    endpoint: str | None = None
    extra_sans: tuple[str, ...] = ()
    load_balancer: str = "haproxy"


@dataclass(frozen=True)
class EtcdClient:
    """Local files: the external etcd's CA and kubefab's client certificate for it."""
    ca: Path
    cert: Path
    key: Path


@dataclass(frozen=True)
class Kubernetes:
    version: str  # "v1.0.1"
    release_url: str = ""  # legacy profile only
    release_sha256: str | None = None
    install_dir: str = "/opt/kubernetes"
    bin_dir: str = "/opt/bin"
    etcd_servers: tuple[str, ...] = ()
    requires: tuple[str, ...] = ("weave-network.target", "etcd2.service")
    registration: str = SELF  # SELF: kubelet --register-node; MANUAL: register-node unit
    apiserver: Apiserver = Apiserver()
    kubelet_port: int = 10250
    log_level: int = 3
    backups: int = BACKUPS  # earlier versions kept per replaced file on a host
    tls: bool = True  # secure port with certificates; the insecure port on the master's loopback
    pki_dir: Path | None = None  # kubefab's CA and certificates; None: <inventory folder>/pki
    # The modern profile's settings (v1.35+); the legacy profile ignores them.
    arch: str = "amd64"
    mirror: str | None = None  # base URL serving the upstream layout (kubefab.versions.url)
    sha256: tuple[tuple[str, str], ...] = ()  # component -> sum, beside/over kubefab.versions.PINNED
    require_pinned_sums: bool = False  # True: no falling back on the sum file the release publishes
    containerd_version: str | None = None  # None: the minor's default
    etcd_version: str | None = None
    etcd_client: EtcdClient | None = None  # TLS to external etcd_servers
    cluster_cidr: str = "10.200.0.0/16"  # pods; each node gets a /node_cidr_prefix of it
    node_cidr_prefix: int = 24
    cluster_dns: str | None = None  # None: the tenth address of the service range
    cluster_domain: str = "cluster.local"
    pod_network: str = BRIDGE
    etcd_insecure: bool = False  # external etcd_servers over plain http, said explicitly
    addons: tuple[tuple[str, bool], ...] = ()  # add-on name -> wanted; absent: the profile's default
    image_repository: str | None = None  # add-on images' registry (air-gapped sites); None: upstream's
    dns_upstream: tuple[str, ...] = ()  # the cluster DNS's upstream resolvers; (): the nodes' own
    ignore_preflight: tuple[str, ...] = ()  # preflight checks waived for every run (--ignore-preflight)

    @property
    def version_tuple(self) -> tuple[int, int, int]:
        major, minor, patch = self.version.lstrip("v").split("-")[0].split(".")
        return int(major), int(minor), int(patch)

    @property
    def minor(self) -> tuple[int, int]:
        return self.version_tuple[:2]

    @property
    def managed_etcd(self) -> bool:
        """kubefab runs etcd on the master: no etcd_servers (which the v1.0 profile requires)."""
        return not self.etcd_servers

    @property
    def bridge_network(self) -> bool:
        return self.pod_network == BRIDGE

    @property
    def dns_address(self) -> str:
        return self.cluster_dns or str(ipaddress.ip_network(self.apiserver.service_cluster_ip_range)[10])

    def component_version(self, component: str) -> str:
        """The version of a downloaded component, without the leading v."""
        if component == "containerd" and self.containerd_version:
            return self.containerd_version
        if component == "etcd" and self.etcd_version:
            return self.etcd_version
        if component in ("etcd", "containerd", "runc", "cni-plugins"):
            return versions.default(self.minor, component)
        return self.version.lstrip("v")


@dataclass(frozen=True)
class Host:
    name: str
    address: str  # where SSH connects and where other hosts reach it
    role: str  # MASTER or NODE
    labels: tuple[tuple[str, str], ...] = ()  # host's own labels (cluster labels merged in)
    bind_address: str = "0.0.0.0"  # what its services listen on
    ssh: Ssh = Ssh()
    line: int | None = None  # where it is defined in the inventory, for messages
    pod_cidr: str | None = None  # modern, bridge network: None = by position (kubefab.profiles.modern.network)

    @property
    def is_master(self) -> bool:
        return self.role == MASTER

    @property
    def ssh_target(self) -> str:
        """The name SSH connects to: ssh.host (an alias), else the address."""
        return self.ssh.host or self.address

    @property
    def local_address(self) -> str:
        """Where a process on this host reaches its own services."""
        return "127.0.0.1" if self.bind_address in ("0.0.0.0", "::") else self.bind_address


@dataclass(frozen=True)
class Inventory:
    path: Path
    kubernetes: Kubernetes
    hosts: tuple[Host, ...]
    registry: Registry | None = None
    cluster: str = "kubernetes"
    profile_class: type | None = field(default=None, compare=False, repr=False)  # kubefab.profiles.kind(version)

    @functools.cached_property
    def profile(self):  # -> kubefab.profiles.base.Profile (which imports this module)
        """What this inventory's release needs from kubefab: its profile (kubefab.profiles),
        chosen by kubernetes.version when the inventory loads (profile_class)."""
        cls = self.profile_class
        if cls is None or cls.kind != versions.profile(self.kubernetes.version_tuple):
            raise ValueError(f"this Inventory's profile_class {cls and cls.__name__} is not the one of "
                             f"{self.kubernetes.version}: give kubefab.profiles.kind(version) "
                             f"(kubefab.inventory.load does)")
        return cls(self)

    @property
    def master(self) -> Host:
        """The first master: where kubefab runs kubectl unless a run picks another one
        that answers (kubefab.ops.operation.Operation.master)."""
        return next(h for h in self.hosts if h.is_master)

    @property
    def masters(self) -> tuple[Host, ...]:
        return tuple(h for h in self.hosts if h.is_master)

    @property
    def local_balancer(self) -> bool:
        """Nodes reach the apiservers through a load balancer of their own: several
        masters and no endpoint the inventory names."""
        return len(self.masters) > 1 and not self.kubernetes.apiserver.endpoint

    @property
    def endpoint_url(self) -> str | None:
        """The inventory's endpoint as a URL (the secure port when it names none)."""
        endpoint = self.kubernetes.apiserver.endpoint
        if not endpoint:
            return None
        host, _, port = endpoint.rpartition(":") if _has_port(endpoint) else (endpoint, "", "")
        return _url("https", host.strip("[]"), int(port) if port else self.kubernetes.apiserver.secure_port)

    def node_server_url(self, host: Host) -> str:
        """How a node's kubelet and kube-proxy reach an apiserver: the endpoint, else its
        own load balancer (several masters: on the node's local address, the secure
        port), else the one master."""
        if self.endpoint_url:
            return self.endpoint_url
        if self.local_balancer:
            return _url("https", host.local_address, self.kubernetes.apiserver.secure_port)
        return self.secure_master_url

    def master_url_of(self, master: Host) -> str:
        """A master's apiserver at its address (secure port)."""
        return _url("https", master.address, self.kubernetes.apiserver.secure_port)

    @property
    def nodes(self) -> tuple[Host, ...]:
        return tuple(h for h in self.hosts if not h.is_master)

    def host(self, name: str) -> Host:
        for h in self.hosts:
            if h.name == name:
                return h
        raise KeyError(name)

    @property
    def master_url(self) -> str:
        """The insecure port at the master's address: how nodes reached the apiserver
        before TLS. With tls it answers only where the master's own loopback address is
        its address (the lab); nodes use the secure port."""
        return _url("http", self.master.address, self.kubernetes.apiserver.insecure_port)

    @property
    def secure_master_url(self) -> str:
        """The apiserver's secure port at the master's address (TLS, client certificates)."""
        return _url("https", self.master.address, self.kubernetes.apiserver.secure_port)

    @property
    def local_master_url(self) -> str:
        """The apiserver as processes on the master reach it (plain HTTP on its loopback)."""
        return _url("http", self.master.local_address, self.kubernetes.apiserver.insecure_port)

    def node_labels(self, host: Host) -> dict[str, str]:
        """The labels a node carries once registered: the original's `name`, then the
        inventory's cluster-wide and per-host labels."""
        return {"name": host.name, **dict(host.labels)}


def _has_port(endpoint: str) -> bool:
    """host:port, [v6]:port; a bare IPv6 address has colons and no port."""
    if endpoint.startswith("["):
        return "]:" in endpoint
    return endpoint.count(":") == 1


def once_per_inventory(fn):
    """fn(inv), computed once per Inventory object and kept in it (as functools.cached_property
    keeps inv.profile): for what every file of every host asks alike, which would make
    rendering a fleet quadratic."""
    key = f"_once {fn.__module__}.{fn.__qualname__}"

    @functools.wraps(fn)
    def once(inv):
        if key not in inv.__dict__:
            inv.__dict__[key] = fn(inv)
        return inv.__dict__[key]
    return once


def _url(scheme: str, host: str, port: int) -> str:
    """scheme://host:port, an IPv6 address in brackets."""
    try:
        bracket = ipaddress.ip_address(host).version == 6
    except ValueError:
        bracket = False
    return f"{scheme}://[{host}]:{port}" if bracket else f"{scheme}://{host}:{port}"

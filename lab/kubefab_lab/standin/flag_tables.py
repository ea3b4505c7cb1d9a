"""The flags of the programs of 1.0 to 1.19, per program, each with the version it was
added in and (if so) removed in: [added, removed). The ranges are kept accurate to what we
know; where unsure (marked `~`) the range is the wider one, so a stand-in never rejects a
flag the real program of that version accepted. Today's (1.35+) are flags_modern's,
built on these. Parsing is kubefab_lab.standin.flags'."""
from __future__ import annotations

from dataclasses import dataclass

Version = tuple[int, int]


@dataclass(frozen=True)
class Flag:
    name: str
    kind: str = "string"  # string|bool|int|float|duration|ip|list|map|version
    default: object = None
    added: Version = (1, 0)
    removed: Version | None = None  # first version without it
    deprecated: Version | None = None  # first version printing a deprecation warning
    deprecation: str = ""
    short: str = ""

    def present(self, v: tuple[int, ...]) -> bool:
        return self.added <= v[:2] and (self.removed is None or v[:2] < self.removed)


def F(name, kind="string", default=None, added=(1, 0), removed=None, deprecated=None,
      deprecation="", short=""):
    return Flag(name, kind, default, added, removed, deprecated, deprecation, short)


KLOG_REMOVED = (1, 26)  # KEP-2845: klog flags deprecated in 1.23, removed in 1.26
KLOG_NOTE = ("will be removed in a future release, see https://github.com/kubernetes/enhancements/"
             "tree/master/keps/sig-instrumentation/2845-deprecate-klog-specific-flags-in-k8s-components")

COMMON = [
    F("help", "bool", False, short="h"),
    F("version", "version", "false"),
    F("v", "int", 0, short="v"),
    F("vmodule"),
    F("log-flush-frequency", "duration", "5s"),
    F("logtostderr", "bool", True, removed=KLOG_REMOVED, deprecated=(1, 23), deprecation=KLOG_NOTE),
    F("alsologtostderr", "bool", False, removed=KLOG_REMOVED, deprecated=(1, 23), deprecation=KLOG_NOTE),
    F("log-dir", removed=KLOG_REMOVED, deprecated=(1, 23), deprecation=KLOG_NOTE),
    F("log-file", added=(1, 10), removed=KLOG_REMOVED, deprecated=(1, 23), deprecation=KLOG_NOTE),  # ~added
    F("stderrthreshold", default="2", removed=KLOG_REMOVED, deprecated=(1, 23), deprecation=KLOG_NOTE),
    F("log-backtrace-at", default=":0", removed=KLOG_REMOVED, deprecated=(1, 23), deprecation=KLOG_NOTE),
    F("feature-gates", added=(1, 3)),
    F("profiling", "bool", True),
]

# Known cloud providers, with the first version that no longer knows them. vagrant
# was deleted before 1.2 (kubernetes PR 17010); the other in-tree providers left in
# 1.26-1.31, but a stand-in cannot act on any of them, so they are only accepted.
CLOUD_PROVIDERS = {"": None, "external": None, "aws": None, "gce": None, "azure": None,
                   "openstack": None, "ovirt": None, "rackspace": None, "mesos": None,
                   "cloudstack": None, "vsphere": None, "photon": None, "vagrant": (1, 2)}

APISERVER = COMMON + [
    # Insecure serving: --address/--port are the deprecated aliases of
    # --insecure-bind-address/--insecure-port; from 1.20 only 0 (disabled) is allowed,
    # and in 1.24 all four flags went away.
    F("address", "ip", "127.0.0.1", removed=(1, 24), deprecated=(1, 3),
      deprecation="see --insecure-bind-address instead."),
    F("port", "int", 8080, removed=(1, 24), deprecated=(1, 3), deprecation="see --insecure-port instead."),
    F("insecure-bind-address", "ip", "127.0.0.1", removed=(1, 24), deprecated=(1, 10),
      deprecation="This flag will be removed in a future version."),
    F("insecure-port", "int", 8080, removed=(1, 24), deprecated=(1, 10),
      deprecation="This flag will be removed in a future version."),
    F("secure-port", "int", 6443),
    F("bind-address", "ip", "0.0.0.0"),
    F("advertise-address", "ip"),
    F("cert-dir", default="/var/run/kubernetes"),
    F("tls-cert-file"),
    F("tls-private-key-file"),
    F("tls-cipher-suites", "list", added=(1, 8)),  # ~added
    F("tls-min-version", added=(1, 8)),  # ~added
    F("client-ca-file"),
    F("kubelet-https", "bool", True, removed=(1, 22)),
    F("kubelet-certificate-authority"),  # ~added (1.0 or 1.1)
    F("kubelet-client-certificate"),  # ~added
    F("kubelet-client-key"),  # ~added
    F("kubelet-preferred-address-types", "list", added=(1, 5)),
    F("service-cluster-ip-range"),
    F("service-node-port-range"),
    F("etcd-servers", "list"),
    F("etcd-prefix", default="/registry"),
    F("etcd-cafile", added=(1, 2)),  # ~added
    F("etcd-certfile", added=(1, 2)),  # ~added
    F("etcd-keyfile", added=(1, 2)),  # ~added
    F("etcd-config", removed=(1, 6)),  # ~removed (etcd2 client config file)
    F("storage-backend", added=(1, 5)),
    F("storage-media-type", added=(1, 3)),  # ~added
    F("watch-cache", "bool", True, added=(1, 2)),  # ~added
    F("cloud-provider"),
    F("cloud-config"),
    F("authorization-mode", "list", "AlwaysAllow"),
    F("authorization-policy-file"),
    F("authorization-webhook-config-file", added=(1, 3)),
    F("admission-control", "list", deprecated=(1, 10),
      deprecation="Use --enable-admission-plugins or --disable-admission-plugins instead. "
                  "Will be removed in a future version."),
    F("admission-control-config-file", added=(1, 7)),  # ~added
    F("enable-admission-plugins", "list", added=(1, 10)),
    F("disable-admission-plugins", "list", added=(1, 10)),
    F("allow-privileged", "bool", False),
    F("runtime-config", "map"),
    F("token-auth-file"),
    F("basic-auth-file", removed=(1, 19)),
    F("anonymous-auth", "bool", True, added=(1, 5)),
    F("enable-bootstrap-token-auth", "bool", False, added=(1, 8)),
    F("service-account-key-file"),
    F("service-account-lookup", "bool", False),
    F("service-account-issuer", added=(1, 10)),
    F("service-account-signing-key-file", added=(1, 10)),
    F("api-audiences", "list", added=(1, 13)),
    F("requestheader-client-ca-file", added=(1, 6)),
    F("requestheader-allowed-names", "list", added=(1, 6)),
    F("requestheader-extra-headers-prefix", "list", added=(1, 6)),
    F("requestheader-group-headers", "list", added=(1, 6)),
    F("requestheader-username-headers", "list", added=(1, 6)),
    F("proxy-client-cert-file", added=(1, 7)),
    F("proxy-client-key-file", added=(1, 7)),
    F("enable-aggregator-routing", "bool", False, added=(1, 7)),
    F("encryption-provider-config", added=(1, 13)),
    F("audit-log-path", added=(1, 2)),  # ~added
    F("audit-log-maxage", "int", 0, added=(1, 2)),
    F("audit-log-maxbackup", "int", 0, added=(1, 2)),
    F("audit-log-maxsize", "int", 0, added=(1, 2)),
    F("audit-policy-file", added=(1, 7)),
    F("apiserver-count", "int", 1),
    F("endpoint-reconciler-type", added=(1, 9)),
    F("event-ttl", "duration", "1h0m0s"),
    F("max-requests-inflight", "int", 400),
    F("max-mutating-requests-inflight", "int", 200, added=(1, 7)),  # ~added
    F("min-request-timeout", "int", 1800),
    F("cors-allowed-origins", "list"),
    F("external-hostname"),
]

KUBELET = COMMON + [
    F("address", "ip", "0.0.0.0"),
    F("port", "int", 10250),
    F("read-only-port", "int", 10255),
    F("healthz-bind-address", "ip", "127.0.0.1"),
    F("healthz-port", "int", 10248),
    F("api-servers", "list", removed=(1, 8)),
    F("kubeconfig", default="/var/lib/kubelet/kubeconfig"),  # default "" from 1.8 (see kubelet)
    F("require-kubeconfig", "bool", False, added=(1, 4), removed=(1, 10)),  # ~added 1.5
    F("bootstrap-kubeconfig", added=(1, 8)),
    # Before 1.6 --config is the pod manifest path (a file or directory; renamed
    # --pod-manifest-path in 1.4); from 1.6 (kubefab's reading; the KubeletConfiguration
    # file arrived in 1.8-1.10) it names a KubeletConfiguration file.
    F("config", deprecated=(1, 4), deprecation="Use --pod-manifest-path instead. Will be removed in a future version."),
    F("pod-manifest-path", added=(1, 4)),
    F("manifest-url"),
    F("file-check-frequency", "duration", "20s"),
    F("http-check-frequency", "duration", "20s"),
    F("sync-frequency", "duration", "1m0s"),
    F("register-node", "bool", True),
    F("register-with-taints", "list", added=(1, 6)),
    F("hostname-override"),
    F("node-ip", "ip", added=(1, 3)),
    F("node-labels", "map", added=(1, 2)),
    F("node-status-update-frequency", "duration", "10s"),
    F("cluster-dns", "list"),
    F("cluster-domain"),
    F("resolv-conf", default="/etc/resolv.conf"),
    F("root-dir", default="/var/lib/kubelet"),
    F("cert-dir", default="/var/lib/kubelet/pki"),  # ~added
    F("tls-cert-file"),
    F("tls-private-key-file"),
    F("client-ca-file"),  # ~added (authn arrived in 1.5)
    F("anonymous-auth", "bool", True, added=(1, 5)),
    F("authentication-token-webhook", "bool", False, added=(1, 5)),
    F("authorization-mode", default="AlwaysAllow", added=(1, 5)),
    F("rotate-certificates", "bool", False, added=(1, 8)),
    F("allow-privileged", "bool", False, removed=(1, 15)),
    F("pod-infra-container-image"),
    F("container-runtime", default="docker", removed=(1, 27)),
    F("container-runtime-endpoint", added=(1, 5)),
    F("docker-endpoint", removed=(1, 24)),
    F("network-plugin", removed=(1, 24)),
    F("cni-bin-dir", added=(1, 4), removed=(1, 24)),  # ~added
    F("cni-conf-dir", added=(1, 4), removed=(1, 24)),  # ~added
    F("cadvisor-port", "int", 4194, removed=(1, 12)),
    F("max-pods", "int", 40),
    F("fail-swap-on", "bool", True, added=(1, 8)),
    F("cgroup-driver", default="cgroupfs", added=(1, 6)),
    F("cgroup-root"),
    F("cloud-provider"),
    F("cloud-config"),
    F("enable-server", "bool", True),
    F("enable-debugging-handlers", "bool", True),
    F("eviction-hard", "map", added=(1, 3)),
    F("image-gc-high-threshold", "int", 90),
    F("image-gc-low-threshold", "int", 80),
    F("serialize-image-pulls", "bool", True, added=(1, 1)),
    F("hairpin-mode", added=(1, 2)),
    F("kube-reserved", "map", added=(1, 2)),
    F("system-reserved", "map", added=(1, 2)),
    F("volume-plugin-dir", added=(1, 4)),
    F("runonce", "bool", False),
    F("containerized", "bool", False, removed=(1, 16)),  # ~removed
]

PROXY = COMMON + [
    F("master"),
    F("kubeconfig"),
    F("bind-address", "ip", "0.0.0.0"),
    F("hostname-override"),
    F("proxy-mode", added=(1, 1)),  # ~added (1.2 made iptables the default)
    F("proxy-port-range"),
    F("cluster-cidr", added=(1, 3)),  # ~added
    F("config", added=(1, 7)),  # ~added (the KubeProxyConfiguration file)
    F("healthz-bind-address", "ip", "127.0.0.1"),
    F("healthz-port", "int", 10249),
    F("metrics-bind-address", added=(1, 9)),
    F("masquerade-all", "bool", False),
    F("iptables-sync-period", "duration", "30s", added=(1, 1)),
    F("oom-score-adj", "int", -999),
    F("conntrack-max", "int", 0, added=(1, 2), removed=(1, 11)),  # ~
    F("conntrack-max-per-core", "int", 32768, added=(1, 4)),  # ~added
    F("udp-timeout", "duration", "250ms"),
]

# The scheduler never had --cloud-provider (only the controller manager, apiserver
# and kubelet do), so a kube-scheduler given one refuses it as the real one does.
SCHEDULER = COMMON + [
    F("master"),
    F("kubeconfig"),
    F("address", "ip", "127.0.0.1", removed=(1, 24), deprecated=(1, 13),
      deprecation="see --bind-address instead."),  # ~removed (insecure serving left 1.23)
    F("port", "int", 10251, removed=(1, 24), deprecated=(1, 13),
      deprecation="see --secure-port instead."),
    F("bind-address", "ip", "0.0.0.0", added=(1, 12)),
    F("secure-port", "int", 10259, added=(1, 12)),
    F("config", added=(1, 10)),
    F("algorithm-provider", removed=(1, 23)),  # ~
    F("policy-config-file", removed=(1, 23)),
    F("scheduler-name", added=(1, 2), removed=(1, 23)),  # ~
    F("leader-elect", "bool", False, added=(1, 2)),  # default true from 1.? (not acted on)
    F("authentication-kubeconfig", added=(1, 12)),
    F("authorization-kubeconfig", added=(1, 12)),
]

CONTROLLER_MANAGER = COMMON + [
    F("master"),
    F("kubeconfig"),
    F("address", "ip", "127.0.0.1", removed=(1, 24), deprecated=(1, 13),
      deprecation="see --bind-address instead."),
    F("port", "int", 10252, removed=(1, 24), deprecated=(1, 13),
      deprecation="see --secure-port instead."),
    F("bind-address", "ip", "0.0.0.0", added=(1, 12)),
    F("secure-port", "int", 10257, added=(1, 12)),
    F("cloud-provider"),
    F("cloud-config"),
    F("service-account-private-key-file"),
    F("root-ca-file"),
    F("cluster-cidr"),
    F("allocate-node-cidrs", "bool", False),
    F("cluster-name", default="kubernetes"),
    F("service-cluster-ip-range", added=(1, 6)),  # ~added
    F("node-cidr-mask-size", "int", 24, added=(1, 5)),  # ~added
    F("node-monitor-grace-period", "duration", "40s"),
    F("node-monitor-period", "duration", "5s"),
    F("pod-eviction-timeout", "duration", "5m0s", removed=(1, 27)),
    F("leader-elect", "bool", False, added=(1, 2)),
    F("use-service-account-credentials", "bool", False, added=(1, 6)),
    F("controllers", "list", added=(1, 7)),
    F("cluster-signing-cert-file", added=(1, 4)),  # ~added
    F("cluster-signing-key-file", added=(1, 4)),
    F("configure-cloud-routes", "bool", True, added=(1, 5)),  # ~added
    F("authentication-kubeconfig", added=(1, 12)),
    F("authorization-kubeconfig", added=(1, 12)),
]

TABLES = {
    "kube-apiserver": APISERVER,
    "kubelet": KUBELET,
    "kube-proxy": PROXY,
    "kube-scheduler": SCHEDULER,
    "kube-controller-manager": CONTROLLER_MANAGER,
}

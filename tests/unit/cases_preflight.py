"""Cases of preflight.sh (kubefab.ops.preflight: what a host offers, read below a root)
and apply-as.sh (kubefab.ops.admin: a manifest applied as the kubeconfig on stdin)."""
from kubefab.layout import APISERVER, KUBELET

from script_cases import Case, F, Host, U, b64, lines

KUBELET_PORT = "0300007F:280A,00000000:280A,00000000000000000000000000000000:280A"  # 127.0.0.3:10250
TCP_HEAD = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"


def tcp(*rows: tuple[str, str]) -> F:
    """/proc/net/tcp with listeners (local address, state)."""
    return F(TCP_HEAD + "".join(f"   {i}: {addr} 00000000:0000 {st} 00000000:00000000 00:00000000 00000000     0"
                                f"        0 {1000 + i} 1\n" for i, (addr, st) in enumerate(rows)))


ITEMS = ("hostname", "disk\t/var/lib", "time", "cgroup", "swap", "module\toverlay\tproc/filesystems\toverlay",
         "module\tbr_netfilter\tproc/sys/net/bridge/bridge-nf-call-iptables\t", "sysctl\tnet.ipv4.ip_forward",
         "sysctl\tnet.bridge.bridge-nf-call-iptables", f"port\t10250\t{KUBELET}\t{KUBELET_PORT}", "binary\tiptables")
BIN = F("#!/bin/sh\n", 0o755)
HEALTHY = Host({"/proc/sys/kernel/hostname": F("azure-prd-02\n"), "/sys/fs/cgroup/cgroup.controllers": F("cpu io\n"),
                "/proc/swaps": F("Filename\tType\tSize\tUsed\tPriority\n"),
                "/proc/filesystems": F("nodev\tsysfs\nnodev\toverlay\n"),
                "/proc/sys/net/bridge/bridge-nf-call-iptables": F("1\n"), "/proc/sys/net/ipv4/ip_forward": F("1\n"),
                "/proc/net/tcp": tcp(("0400007F:280A", "0A"), ("0300007F:280A", "01")),  # another host's; a peer's
                "/usr/sbin/iptables": BIN})
BARE = Host({"/proc/swaps": F("Filename\tType\tSize\tUsed\tPriority\n/dev/vda2 partition 1048572 0 -2\n"),
             "/proc/net/tcp": tcp(("00000000:280A", "0A")), "/usr/bin/iptables": F("not executable\n"),
             "/proc/sys/kernel/osrelease": F("6.1.0-test\n"),
             "/lib/modules/6.1.0-test/modules.dep": F("kernel/net/bridge/br_netfilter.ko.xz: kernel/net/bridge/bridge.ko.xz\n")},
            units={KUBELET: U(True, "failed")})
BARE = Host(BARE.files, units=BARE.units, faults=frozenset({"disk-low"}))


def preflight(name: str, before: Host, *items: str, tls: str = "-", **kw) -> Case:
    return Case("preflight", name, ("/", tls, *items), before, **kw)


PREFLIGHT = [
    preflight("a host that offers all: each item's line, in order", HEALTHY, *ITEMS,
              out=lines("hostname\tazure-prd-02", "disk\t/var/lib\t52428800", "time\t1700000000", "cgroup\tv2",
                        "swap\t0", "module\toverlay\tloaded", "module\tbr_netfilter\tloaded",
                        "sysctl\tnet.ipv4.ip_forward\t1\trw", "sysctl\tnet.bridge.bridge-nf-call-iptables\t1\trw",
                        f"port\t10250\tfree\t{KUBELET}", "binary\tiptables\tfound")),
    preflight("a host that offers nothing: cgroup v1, swap on, a module to load, the port taken, no binary", BARE,
              *ITEMS,
              out=lines("hostname\t", "disk\t/var/lib\t102400", "time\t1700000000", "cgroup\tv1", "swap\t1",
                        "module\toverlay\tmissing", "module\tbr_netfilter\tloadable",
                        "sysctl\tnet.ipv4.ip_forward\tmissing\tro",
                        "sysctl\tnet.bridge.bridge-nf-call-iptables\tmissing\tro",
                        f"port\t10250\ttaken\t{KUBELET}", "binary\tiptables\tmissing")),
    preflight("a port kubefab's own unit listens on, while it runs", HEALTHY.but(
        {"/proc/net/tcp": tcp(("0300007F:280A", "0A"))}, units={KUBELET: U(True, "active")}),
        f"port\t10250\t{KUBELET}\t{KUBELET_PORT}", out=lines(f"port\t10250\tours\t{KUBELET}")),
    preflight("every address taken on a host that binds them all ('*:PORT'), over IPv6 too",
              HEALTHY.but({"/proc/net/tcp6": tcp(("00000000000000000000000001000000:1A0A", "0A"))}),
              f"port\t6666\t{APISERVER}\t*:1A0A", "port\t6667\tx.service\t*:1A0B",
              out=lines(f"port\t6666\ttaken\t{APISERVER}", "port\t6667\tfree\tx.service")),
    preflight("etcd's version over TLS: the CA, certificate and key from stdin, in files curl reads",
              Host(units={APISERVER: U(True, "active")}), "etcd\thttps://10.1.0.9:2379/", tls="tls",
              stdin=b"".join(b64(x).encode() + b"\n" for x in ("ca\n", "crt\n", "key\n")),
              out=lines(f"etcd\thttps://10.1.0.9:2379/\t{b64('ok')}"),
              real_only="the fake's etcd answers its version; the case's curl stub answers ok"),
    preflight("etcd that does not answer: curl's why", Host(), "etcd\thttp://10.1.0.9:2379",
              out=lines("etcd\thttp://10.1.0.9:2379\t" + b64("curl: (7) Failed to connect to 127.0.0.1 port 2379: "
                                                            "Connection refused")),
              real_only="the fake's etcd answers its version; the case's curl stub answers ok"),
]

KUBECTL = "/opt/bin/kubectl"
# a kubectl that says what it got: its words, the kubeconfig it read, the manifest
SAYS = F('#!/bin/sh\nfor a; do case $a in --kubeconfig=*) cfg=${a#--kubeconfig=} ;; esac; done\n'
         'printf "args: %s\\n" "$*"; printf "kubeconfig: "; cat "$cfg"; printf "manifest: "; cat\n', 0o755)
APPLY_AS = [
    Case("apply-as", "the manifest through kubectl's stdin, the kubeconfig through a pipe, nothing written",
         (KUBECTL, "kind: ClusterRoleBinding"), Host({KUBECTL: SAYS}), stdin=b"apiVersion: v1 # super-admin\n",
         out=lines("args: --kubeconfig=/dev/fd/3 apply --server-side --field-manager=kubefab --force-conflicts -f -",
                   "kubeconfig: apiVersion: v1 # super-admin", "manifest: kind: ClusterRoleBinding"),
         real_only="the fake's kubectl is its apiserver's"),
    Case("apply-as", "no kubectl yet: the shell's why", (KUBECTL, "kind: X"), Host(), exit=127,
         err="/opt/bin/kubectl: not found"),
]

CASES = [*PREFLIGHT, *APPLY_AS]

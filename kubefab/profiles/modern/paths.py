"""Every path of the modern profile, named once (MODERN.md §2, after
Kubernetes the Hard Way): control-plane files in /var/lib/kubernetes, the kubelet's in
/var/lib/kubelet, kube-proxy's in /var/lib/kube-proxy, etcd's in /etc/etcd and
/var/lib/etcd, containerd's in /etc/containerd, CNI in /opt/cni/bin and /etc/cni/net.d.
Binaries go to the inventory's bin_dir (default /usr/local/bin)."""
from __future__ import annotations


K = "/var/lib/kubernetes"  # every host: the cluster CA; the master: the control plane's files
CA = f"{K}/ca.crt"
CA_KEY = f"{K}/ca.key"  # the master's only: the controller-manager signs CSRs with it (as kubeadm's)
FRONT_PROXY_CA = f"{K}/front-proxy-ca.crt"  # the aggregation layer's: requestheader client CA
FRONT_PROXY_CERT, FRONT_PROXY_KEY = f"{K}/front-proxy-client.crt", f"{K}/front-proxy-client.key"
APISERVER_CERT, APISERVER_KEY = f"{K}/kube-apiserver.crt", f"{K}/kube-apiserver.key"
KUBELET_CLIENT_CERT, KUBELET_CLIENT_KEY = f"{K}/apiserver-kubelet-client.crt", f"{K}/apiserver-kubelet-client.key"
ETCD_CA = f"{K}/etcd-ca.crt"  # the apiserver's trust for etcd
ETCD_CLIENT_CERT, ETCD_CLIENT_KEY = f"{K}/apiserver-etcd-client.crt", f"{K}/apiserver-etcd-client.key"
SA_PUBLIC, SA_KEY = f"{K}/service-accounts.pub", f"{K}/service-accounts.key"
ENCRYPTION_CONFIG = f"{K}/encryption-config.yaml"
CM_KUBECONFIG = f"{K}/kube-controller-manager.kubeconfig"
CM_CERT, CM_KEY = f"{K}/kube-controller-manager.crt", f"{K}/kube-controller-manager.key"
SCHEDULER_KUBECONFIG = f"{K}/kube-scheduler.kubeconfig"
SCHEDULER_CERT, SCHEDULER_KEY = f"{K}/kube-scheduler.crt", f"{K}/kube-scheduler.key"
SCHEDULER_CONFIG = "/etc/kubernetes/config/kube-scheduler.yaml"
ADMIN_CERT, ADMIN_KEY = f"{K}/admin.crt", f"{K}/admin.key"  # kubefab.health's, root only
ADMIN_KUBECONFIG = f"{K}/admin.kubeconfig"  # kubefab's kubectl on the master (labels, RBAC)

ETCD_DIR, ETCD_DATA = "/etc/etcd", "/var/lib/etcd"
ETCD_DATA_NEW = ETCD_DATA + ".restored-{stamp}"  # etcd.restore writes the snapshot's data here,
ETCD_DATA_ASIDE = ETCD_DATA + ".before-restore-{stamp}"  # then moves the old data dir here and swaps
ETCDCTL, ETCDUTL = "etcdctl", "etcdutl"  # in bin_dir, from the etcd release (etcdutl: etcd 3.5+)
ETCD_SERVER_CA, ETCD_CERT, ETCD_KEY = f"{ETCD_DIR}/ca.crt", f"{ETCD_DIR}/etcd.crt", f"{ETCD_DIR}/etcd.key"

KUBELET_DIR = "/var/lib/kubelet"
KUBELET_CONFIG = f"{KUBELET_DIR}/kubelet-config.yaml"
KUBELET_KUBECONFIG = f"{KUBELET_DIR}/kubeconfig"
KUBELET_CERT, KUBELET_KEY = f"{KUBELET_DIR}/kubelet.crt", f"{KUBELET_DIR}/kubelet.key"
REGISTRY_AUTH = f"{KUBELET_DIR}/config.json"  # the heir of .dockercfg (MODERN.md §4)
# the resolv.conf pods with dnsPolicy Default get, linked at each kubelet start to systemd-
# resolved's upstream file while resolved runs (its stub at 127.0.0.53 is no pod's), else
# to /etc/resolv.conf (kubeadm's choice, docs/KUBERNETES.md §18)
RESOLV_CONF = "/run/kubefab/resolv.conf"
RESOLVED_CONF = "/run/systemd/resolve/resolv.conf"

PROXY_DIR = "/var/lib/kube-proxy"
PROXY_CONFIG, PROXY_KUBECONFIG = f"{PROXY_DIR}/kube-proxy-config.yaml", f"{PROXY_DIR}/kubeconfig"
PROXY_CERT, PROXY_KEY = f"{PROXY_DIR}/kube-proxy.crt", f"{PROXY_DIR}/kube-proxy.key"

CONTAINERD_CONFIG = "/etc/containerd/config.toml"
CONTAINERD_CERTS_D = "/etc/containerd/certs.d"  # hosts.toml per registry
CONTAINERD_SOCKET = "/run/containerd/containerd.sock"
CNI_BIN, CNI_CONF_DIR = "/opt/cni/bin", "/etc/cni/net.d"
CNI_BRIDGE = f"{CNI_CONF_DIR}/10-kubefab-bridge.conflist"
MODULES_LOAD = "/etc/modules-load.d/kubefab.conf"  # overlay, br_netfilter at boot
SYSCTL = "/etc/sysctl.d/90-kubefab.conf"  # loaded by containerd's unit (and at boot)
POD_MASQUERADE = "KUBEFAB-POD-MASQ"  # the nat chain: masquerade what leaves the cluster's ranges

DOWNLOAD_MANIFEST = "/etc/kubernetes/downloads"
DOWNLOAD_SCRIPT = "kubernetes-download"  # in bin_dir

# unit names: kubefab.layout's (both profiles share them)

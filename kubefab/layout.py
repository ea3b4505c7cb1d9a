"""Names and places, each in one spot: kubefab's units, the files it writes on a host,
its own state there (release stamp, lock, backups), and the releases it supports.
Pure constants; render, plan, steps, the transports and validation read them here."""
from __future__ import annotations

# -- units -------------------------------------------------------------------------
UNIT_DIR = "/etc/systemd/system"
DOWNLOAD = "kubernetes.download.service"
APISERVER = "kubernetes.apiserver.service"
MASTER_UNITS = (APISERVER, "kubernetes.scheduler.service", "kubernetes.controller-manager.service")
REGISTER = "kubernetes.register-node.service"
KUBELET, PROXY = NODE_UNITS = ("kubernetes.kubelet.service", "kubernetes.proxy.service")
MASTER_TARGET, NODE_TARGET = "kubernetes.master.target", "kubernetes.node.target"
ONESHOTS = (DOWNLOAD, REGISTER)  # run once, never restarted
DOWNLOAD_MINUTES = 15  # the download unit's TimeoutStartSec: it ends a stuck download
DOWNLOAD_TIMEOUT = DOWNLOAD_MINUTES * 60

# -- files kubefab renders ------------------------------------------------------------
ENV_FILE = "/etc/kubernetes.env"
MANIFEST_DIR = "/etc/kubernetes/manifests/"
KUBELET_KUBECONFIG = "/etc/kubernetes/kubelet.kubeconfig"
PROXY_KUBECONFIG = "/etc/kubernetes/proxy.kubeconfig"
PKI_DIR = "/etc/kubernetes/pki"
CA_CERT = f"{PKI_DIR}/ca.crt"
APISERVER_CERT, APISERVER_KEY = f"{PKI_DIR}/apiserver.crt", f"{PKI_DIR}/apiserver.key"
KUBELET_CERT, KUBELET_KEY = f"{PKI_DIR}/kubelet.crt", f"{PKI_DIR}/kubelet.key"
PROXY_CERT, PROXY_KEY = f"{PKI_DIR}/kube-proxy.crt", f"{PKI_DIR}/kube-proxy.key"
ADMIN_CERT, ADMIN_KEY = f"{PKI_DIR}/admin.crt", f"{PKI_DIR}/admin.key"  # master: kubefab.health's

# -- kubefab's own state on a host ---------------------------------------------------
STATE_DIR = "/var/lib/kubefab"
LOCK_DIR = f"{STATE_DIR}/lock"  # a directory: mkdir is the atomic test-and-set
BACKUP_DIR = f"{STATE_DIR}/backup"  # earlier versions of the files kubefab replaced: <path>.1 newest
BACKUPS = 3  # versions kept per file (kubernetes.backups): a rotated token does not stay for ever
LAST_RUN = f"{STATE_DIR}/last-run"  # the files the last run's install replaced or made: rollback's list
ROLLED_BACK = f"{STATE_DIR}/rolled-back"  # last-run once fab rollback put its files back
STAGE_DIR = f"{STATE_DIR}/stage"  # root-only (0700): uploads wait here, never in /tmp
OWED_DIR = f"{STATE_DIR}/owed"  # one file per unit whose restart is owed (written before files change)
ETCD_SNAPSHOTS = f"{STATE_DIR}/etcd-snapshots"  # root-only (0700): etcd.snapshot/restore's copies on the master
STAMP_NAME = ".kubefab-release"  # in install_dir, written last by a complete download

# -- labels kubefab owns on a Node (kubefab.registration) --------------------------------
OWNED_LABELS = "kubefab.io/labels"  # sorted keys kubefab set from hosts.yaml: removed once it drops them
OPERATOR_LABELS = "kubefab.io/operator-labels"  # keys `nodes.register --label` set: never removed

# -- upgrades ---------------------------------------------------------------------------
CORDONED_BY = "kubefab.io/cordoned-by"  # on a Node kubefab cordoned: only such a node is uncordoned
DRAIN_TIMEOUT = 120  # seconds for one node's drain (fab upgrade --drain-timeout)


def stamp_path(install_dir: str) -> str:
    return f"{install_dir.rstrip('/')}/{STAMP_NAME}"


# -- releases ------------------------------------------------------------------------
SUPPORTED = ((1, 0, 0), (1, 20, 0))  # [from, to): v1.20 stopped serving the insecure port
SUPPORTED_TEXT = "v1.0.0 up to v1.19.x"


def supported(version: tuple[int, int, int]) -> bool:
    return SUPPORTED[0] <= version < SUPPORTED[1]

# -- what reset and nodes.remove leave alone ---------------------------------------
# Folders that emptying never removes: the system's own, and a user's home (kubefab
# writes ~core/.dockercfg, it did not make ~core). The folders kubefab made for its
# files (/etc/kubernetes, /opt/bin, ...) go once they are empty.
KEEP_DIRS = ("/", "/etc", "/etc/systemd", "/etc/systemd/system", "/opt", "/usr", "/usr/local",
             "/usr/local/bin", "/usr/bin", "/var", "/var/lib", "/home", "/root", "/run", "/tmp")
KUBECTL_CACHE = ".kube/cache"  # in the home of whoever ran kubefab's kubectl (root, the SSH user)

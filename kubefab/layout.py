"""Names and places every profile shares, each in one spot: kubefab's units (the same
names in the v1.0 setup and today's), its own state on a host (release stamp, lock,
backups, owed restarts), the annotations it keeps on Nodes. Pure constants.

What only one profile writes (its files' paths) is that profile's own:
kubefab.profiles.legacy.paths and kubefab.profiles.modern.paths."""
from __future__ import annotations

# -- units ---------------------------------------------------------------------------------
# kubefab's own names, so that nothing clashes with a distribution's containerd or etcd
UNIT_DIR = "/etc/systemd/system"
DOWNLOAD = "kubernetes.download.service"
ETCD = "kubernetes.etcd.service"
APISERVER = "kubernetes.apiserver.service"
SCHEDULER = "kubernetes.scheduler.service"
CONTROLLER_MANAGER = "kubernetes.controller-manager.service"
CONTAINERD = "kubernetes.containerd.service"
POD_ROUTES = "kubernetes.pod-routes.service"
APISERVER_LB = "kubernetes.apiserver-lb.service"  # several masters: a node's load balancer over them
REGISTER = "kubernetes.register-node.service"
KUBELET = "kubernetes.kubelet.service"
PROXY = "kubernetes.proxy.service"
MASTER_TARGET, NODE_TARGET = "kubernetes.master.target", "kubernetes.node.target"
ONESHOTS = (DOWNLOAD, REGISTER)  # run once, never restarted
# every unit kubefab ever writes, whatever the role: a host's units that its role does not
# have (a role it had, a registration mode or network it used) are stopped and disabled
ALL_UNITS = (DOWNLOAD, ETCD, APISERVER, SCHEDULER, CONTROLLER_MANAGER, APISERVER_LB, CONTAINERD, POD_ROUTES,
             REGISTER, KUBELET, PROXY, MASTER_TARGET, NODE_TARGET)
DOWNLOAD_MINUTES = 15  # the download unit's TimeoutStartSec: it ends a stuck download
DOWNLOAD_TIMEOUT = DOWNLOAD_MINUTES * 60

# -- kubefab's own state on a host ---------------------------------------------------
STATE_DIR = "/var/lib/kubefab"
LOCK_DIR = f"{STATE_DIR}/lock"  # a directory: mkdir is the atomic test-and-set
BACKUP_DIR = f"{STATE_DIR}/backup"  # earlier versions of the files kubefab replaced: <path>.1 newest
BACKUPS = 3  # versions kept per file (kubernetes.backups): a rotated token does not stay for ever
LAST_RUN = f"{STATE_DIR}/last-run"  # the files the last run's install replaced or made: rollback's list
ROLLED_BACK = f"{STATE_DIR}/rolled-back"  # last-run once fab rollback put its files back
STAGE_DIR = f"{STATE_DIR}/stage"  # where older kubefabs staged uploads: a killed one's leftovers, cleared by the lock
OWED_DIR = f"{STATE_DIR}/owed"  # one file per unit whose restart is owed (written before files change)
ETCD_SNAPSHOTS = f"{STATE_DIR}/etcd-snapshots"  # root-only (0700): etcd.snapshot/restore's copies on the master
# the cluster's identity and its settings that cannot change, on the master (root's, 0600):
# kubefab.identity writes and reads it; every run that changes the cluster compares first
CLUSTER_FILE = f"{STATE_DIR}/cluster"
STAMP_NAME = ".kubefab-release"  # in install_dir, written last by a complete download

# -- labels kubefab owns on a Node (kubefab.registration) --------------------------------
OWNED_LABELS = "kubefab.io/labels"  # sorted keys kubefab set from hosts.yaml: removed once it drops them
OPERATOR_LABELS = "kubefab.io/operator-labels"  # keys `nodes.register --label` set: never removed

# -- upgrades ---------------------------------------------------------------------------
CORDONED_BY = "kubefab.io/cordoned-by"  # on a Node kubefab cordoned: only such a node is uncordoned
DRAIN_TIMEOUT = 120  # seconds for one node's drain (fab upgrade --drain-timeout)


def stamp_path(install_dir: str) -> str:
    return f"{install_dir.rstrip('/')}/{STAMP_NAME}"


# -- what reset and nodes.remove leave alone ---------------------------------------
# Folders that emptying never removes: the system's own, and a user's home (kubefab
# writes ~core/.dockercfg, it did not make ~core). The folders kubefab made for its
# files (/etc/kubernetes, /opt/bin, ...) go once they are empty.
KEEP_DIRS = ("/", "/etc", "/etc/systemd", "/etc/systemd/system", "/opt", "/usr", "/usr/local",
             "/usr/local/bin", "/usr/bin", "/var", "/var/lib", "/home", "/root", "/run", "/tmp")
KUBECTL_CACHE = ".kube/cache"  # in the home of whoever ran kubefab's kubectl (root, the SSH user)

"""A today's (v1.37.1) stand-in cluster on loopback for the workload tests: apiservers,
controller managers, schedulers and kubelets started with kubeadm-style flags and TLS
kubeconfigs from a throwaway PKI, against the session's real etcd."""
from __future__ import annotations

import socket
import threading
import uuid
from pathlib import Path

from standin_helpers import Procs, free_port, wait_until
from standin_pki import write_kubeconfig
from test_standin_tls import https

V = "v1.37.1"
API_ADDRS = ("127.0.0.71", "127.0.0.72")
NODES = {"azure-prd-02": "127.0.0.73", "ded-prd-01": "127.0.0.74"}


class RuntimeSocket:
    """A unix socket that accepts and closes, standing in for containerd's."""

    def __init__(self, path: Path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(str(path))
        self.sock.listen(64)
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
                conn.close()
            except OSError:
                return


class Cluster:
    def __init__(self, procs: Procs, standins, etcd: str, pki, tmp: Path):
        self.procs, self.bin, self.etcd, self.pki, self.tmp = procs, standins(V), etcd, pki, tmp
        self.prefix = f"/cluster-{uuid.uuid4().hex[:8]}"
        ca = pki.ca
        self.serving = ca.issue("apiserver-ha", "kube-apiserver", server_ips=list(API_ADDRS),
                                server_dns=["kubernetes"], pkcs8=True)
        self.certs = {"cm": ca.issue("cm", "system:kube-controller-manager"),
                      "sched": ca.issue("sched", "system:kube-scheduler"),
                      "admin": ca.issue("kubefab-admin", "kubefab-admin", ["kubeadm:cluster-admins"]),
                      "super": pki.admin, "nobody": ca.issue("nobody", "jane", ["developers"])}
        self.urls: list[str] = []
        self.apiservers = []
        self.runtime = RuntimeSocket(tmp / "containerd.sock")
        cni = tmp / "cni"
        cni.mkdir(exist_ok=True)
        self.cni = {}
        for i, node in enumerate(NODES):
            d = cni / node
            d.mkdir(exist_ok=True)
            (d / "10-bridge.conflist").write_text(
                '{"cniVersion":"1.0.0","name":"bridge","plugins":[{"type":"bridge","bridge":"cni0",'
                f'"ipam":{{"type":"host-local","ranges":[[{{"subnet":"10.200.{i}.0/24"}}]]}}}}]}}\n')
            self.cni[node] = d

    def kubeconfig(self, who: str, url: str | None = None) -> Path:
        pair = self.certs[who] if who in self.certs else self.pki.nodes[who]
        return write_kubeconfig(self.tmp / f"{who}-{len(self.urls)}.kubeconfig", url or self.urls[0], self.pki.ca.crt,
                                pair, who)

    def apiserver(self, addr: str = API_ADDRS[0], extra=()) -> str:
        port = free_port(addr)
        argv = [self.bin / "kube-apiserver", f"--advertise-address={addr}", f"--bind-address={addr}",
                f"--secure-port={port}", f"--tls-cert-file={self.serving.cert}",
                f"--tls-private-key-file={self.serving.key}", f"--client-ca-file={self.pki.ca.crt}",
                f"--etcd-servers={self.etcd}", f"--etcd-prefix={self.prefix}", "--authorization-mode=Node,RBAC",
                "--enable-admission-plugins=NodeRestriction", f"--service-account-issuer=https://{addr}:{port}",
                f"--service-account-key-file={self.pki.ca.crt}",
                f"--service-account-signing-key-file={self.pki.ca.pair.key}",
                "--service-cluster-ip-range=10.32.0.0/24", "--v=2", *extra]
        proc = self.procs.start(argv, "kube-apiserver")
        url = f"https://{addr}:{port}"

        def up():
            assert proc.alive(), proc.log()
            try:
                return https(url + "/readyz", self.pki) == (200, b"ok")
            except OSError:
                return False

        wait_until(up, 20, f"the apiserver at {url}")
        self.urls.append(url)
        self.apiservers.append(proc)
        return url

    def controller_manager(self, extra=()):
        kc, ca = self.kubeconfig("cm"), self.pki.ca
        return self.procs.start([
            self.bin / "kube-controller-manager", f"--kubeconfig={kc}", f"--authentication-kubeconfig={kc}",
            f"--authorization-kubeconfig={kc}", "--bind-address=127.0.0.1", f"--client-ca-file={ca.crt}",
            f"--requestheader-client-ca-file={ca.crt}", "--controllers=*,bootstrapsigner,tokencleaner",
            "--leader-elect=true", "--use-service-account-credentials=true", f"--root-ca-file={ca.crt}",
            "--cluster-name=kubernetes", f"--cluster-signing-cert-file={ca.crt}",
            f"--cluster-signing-key-file={ca.pair.key}", f"--service-account-private-key-file={ca.pair.key}",
            "--node-monitor-grace-period=40s", *extra], "kube-controller-manager")

    def scheduler(self):
        kc = self.kubeconfig("sched")
        conf = self.tmp / f"scheduler-{uuid.uuid4().hex[:6]}.yaml"
        conf.write_text("apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\n"
                        f"clientConnection:\n  kubeconfig: {kc}\nleaderElection:\n  leaderElect: true\n")
        return self.procs.start([self.bin / "kube-scheduler", f"--config={conf}", f"--authentication-kubeconfig={kc}",
                                 f"--authorization-kubeconfig={kc}", "--bind-address=127.0.0.1"], "kube-scheduler")

    def kubelet(self, node: str, labels: str = ""):
        ip = NODES[node]
        conf = self.tmp / f"kubelet-{node}.yaml"
        conf.write_text("apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n"
                        f"address: {ip}\nport: {free_port(ip)}\n"
                        f"containerRuntimeEndpoint: unix://{self.runtime.path}\nregisterNode: true\n"
                        "resolvConf: /etc/resolv.conf\nclusterDNS: [10.32.0.10]\nclusterDomain: cluster.local\n"
                        "rotateCertificates: true\n")
        argv = [self.bin / "kubelet", f"--config={conf}", f"--kubeconfig={self.kubeconfig(node)}",
                f"--hostname-override={node}", f"--node-ip={ip}"]
        if labels:
            argv.append(f"--node-labels={labels}")
        return self.procs.start(argv, f"kubelet-{node}", env={"KUBEFAB_STANDIN_CNI_DIR": str(self.cni[node])})

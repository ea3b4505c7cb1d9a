"""What today's kubelet stand-in (1.35+) does besides node status:
- its node Lease in kube-node-lease (holderIdentity the node, leaseDurationSeconds
  from nodeLeaseDurationSeconds, 40; renewed every quarter of it; owned by the Node),
  as pkg/kubelet/nodelease does;
- the pods bound to it (listed with fieldSelector spec.nodeName=<node>, as the Node
  authorizer requires): no container runs, but a pod goes Pending -> Running with the
  conditions a started pod has (PodReadyToStartContainers, Initialized, Ready,
  ContainersReady, PodScheduled), container statuses, hostIP and a podIP from the
  node's pod range (spec.podCIDR, else the range of the CNI config in /etc/cni/net.d),
  so Deployments become available; a pod being deleted is removed (DELETE with grace
  0) at once. A pod needs the resolvConf file: without it, it stays in
  ContainerCreating with the real sandbox error logged."""
from __future__ import annotations

import glob
import ipaddress
import json
import os

from . import common
from .leader import micro_time

CNI_DIR = "/etc/cni/net.d"


def cni_range(directory: str | None = None) -> str | None:
    """The subnet of the first CNI config (lexically, as containerd picks it) with a
    host-local range. (KUBEFAB_STANDIN_CNI_DIR points tests elsewhere.)"""
    directory = directory or os.environ.get("KUBEFAB_STANDIN_CNI_DIR", CNI_DIR)
    for path in sorted(glob.glob(os.path.join(directory, "*.conf*"))):
        try:
            with open(path, encoding="utf-8") as f:
                doc = json.load(f)
        except (OSError, ValueError):
            continue
        for plugin in doc.get("plugins") or [doc]:
            for group in ((plugin.get("ipam") or {}).get("ranges") or []):
                for item in group:
                    if item.get("subnet"):
                        return item["subnet"]
            if (plugin.get("ipam") or {}).get("subnet"):
                return plugin["ipam"]["subnet"]
    return None


class PodWorker:
    def __init__(self, kubelet):
        self.k = kubelet
        conf = kubelet.conf
        self.lease_seconds = int(conf.get("nodeLeaseDurationSeconds") or 40)
        self.resolv = str(conf.get("resolvConf") if "resolvConf" in conf else "/etc/resolv.conf")
        self._lease_at = 0.0
        self._said = set()

    # --- the node lease ---

    def renew_lease(self, node: dict, now: float) -> None:
        if now - self._lease_at < self.lease_seconds / 4:
            return
        name = self.k.name
        path = f"/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/{name}"
        spec = {"holderIdentity": name, "leaseDurationSeconds": self.lease_seconds, "renewTime": micro_time()}
        code, body = self.k.call("GET", path)
        if code == 404:
            lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                     "metadata": {"name": name, "namespace": "kube-node-lease", "ownerReferences": [
                         {"apiVersion": "v1", "kind": "Node", "name": name, "uid": node["metadata"].get("uid")}]},
                     "spec": spec}
            code, body = self.k.call("POST", path.rsplit("/", 1)[0], lease)
        elif code == 200:
            lease = json.loads(body)
            lease["spec"] = {**(lease.get("spec") or {}), **spec}
            code, body = self.k.call("PUT", path, lease)
        if code in (200, 201):
            self._lease_at = now
        else:
            common.error(f'"Failed to update lease" err="{self.k._refused(code, body)}"')

    # --- pods ---

    def pod_range(self, node: dict) -> ipaddress.IPv4Network | None:
        cidr = (node.get("spec") or {}).get("podCIDR") or cni_range()
        try:
            return ipaddress.ip_network(cidr, strict=False) if cidr else None
        except ValueError:
            return None

    def sync_pods(self, node: dict) -> None:
        code, body = self.k.call("GET", f"/api/v1/pods?fieldSelector=spec.nodeName%3D{self.k.name}")
        if code != 200:
            common.error(f"kubelet: cannot list its pods: {self.k._refused(code, body)}")
            return
        pods = json.loads(body).get("items") or []
        used = {(p.get("status") or {}).get("podIP") for p in pods}
        net = self.pod_range(node)
        for pod in pods:
            meta = pod["metadata"]
            path = f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}"
            if meta.get("deletionTimestamp"):
                self.k.call("DELETE", path, {"apiVersion": "v1", "kind": "DeleteOptions", "gracePeriodSeconds": 0})
                common.info(f'"Killing container with a grace period" pod="{meta["namespace"]}/{meta["name"]}"')
                continue
            if (pod.get("status") or {}).get("phase") == "Running":
                continue
            if not os.path.isfile(self.resolv):
                if meta["uid"] not in self._said:
                    common.error(f'"Error syncing pod, skipping" err="failed to \\"CreatePodSandbox\\" for '
                                 f'\\"{meta["name"]}_{meta["namespace"]}\\": CreatePodSandbox failed: open '
                                 f'{self.resolv}: no such file or directory" pod="{meta["namespace"]}/{meta["name"]}"')
                    self._said.add(meta["uid"])
                continue
            ip = self._next_ip(net, used)
            used.add(ip)
            self.k.call("PATCH", f"{path}/status", {"status": self._running(pod, node, ip)},
                        "application/strategic-merge-patch+json")

    @staticmethod
    def _next_ip(net, used) -> str | None:
        if net is None:
            return None
        for host in net.hosts():
            if host == net.network_address + 1:  # the bridge's gateway
                continue
            if str(host) not in used:
                return str(host)
        return None

    def _running(self, pod: dict, node: dict, ip: str | None) -> dict:
        now = common.rfc3339()
        host_ip = next((a["address"] for a in (node.get("status") or {}).get("addresses") or []
                        if a.get("type") == "InternalIP"), None)
        conds = [{"type": t, "status": "True", "lastProbeTime": None, "lastTransitionTime": now}
                 for t in ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled")]
        statuses = [{"name": c.get("name"), "ready": True, "started": True, "restartCount": 0,
                     "image": c.get("image"), "imageID": c.get("image", "") + "@sha256:" + "0" * 64,
                     "containerID": "containerd://" + os.urandom(32).hex(),
                     "state": {"running": {"startedAt": now}}}
                    for c in (pod.get("spec") or {}).get("containers") or []]
        out = {"phase": "Running", "conditions": conds, "startTime": now, "containerStatuses": statuses,
               "qosClass": (pod.get("status") or {}).get("qosClass", "BestEffort")}
        if host_ip:
            out.update(hostIP=host_ip, hostIPs=[{"ip": host_ip}])
        if ip:
            out.update(podIP=ip, podIPs=[{"ip": ip}])
        return out

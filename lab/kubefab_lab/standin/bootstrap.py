"""What today's apiserver makes at start and keeps while it runs (its post-start
hooks and controllers), in etcd so that every apiserver on it sees one state:
- the namespaces default, kube-system, kube-public, kube-node-lease;
- the bootstrap RBAC policy (`policy`), each object created if missing;
- the `kubernetes` Service in default, at the first address of
  --service-cluster-ip-range, port 443 to the secure port;
- the APIService objects of the built-in groups (the autoregister controller's
  `v1.`, `v1.apps`, ...: spec.service unset, Available=True reason Local);
- the lease endpoint reconciler (--endpoint-reconciler-type=lease, the default):
  each apiserver holds <prefix>/masterleases/<its advertise address> on an etcd lease
  of 15 s, renewed every 10 s, and writes default/kubernetes Endpoints with the
  addresses that hold one; at shutdown it removes its own."""
from __future__ import annotations

import json
import threading

from . import common, policy, registry
from .etcd import EtcdError
from .objects import ApiError

LEASE_TTL, RENEW = 15, 10.0


def _ensure(srv, plural: str, obj: dict) -> None:
    r = srv.resources[plural]
    meta = obj["metadata"]
    if srv.store.find(r, meta.get("namespace"), meta["name"]) is None:
        try:
            srv.store.create(r, obj)
        except ApiError as e:
            if e.code != 409:  # another apiserver made it first
                raise


def run_once(srv) -> None:
    from . import admission

    for name in ("default", "kube-system", "kube-public", "kube-node-lease"):
        ns = {"kind": "Namespace", "apiVersion": "v1", "metadata": {"name": name}}
        admission.CREATE["namespaces"](srv, ns, None)
        _ensure(srv, "namespaces", ns)
    for role in policy.cluster_roles():
        _ensure(srv, "clusterroles", role)
    for binding in policy.cluster_role_bindings():
        _ensure(srv, "clusterrolebindings", binding)
    for group in [""] + registry.groups():
        name = f"v1.{group}" if group else "v1."
        _ensure(srv, "apiservices", {
            "kind": "APIService", "apiVersion": "apiregistration.k8s.io/v1",
            "metadata": {"name": name, "labels": {"kube-aggregator.kubernetes.io/automanaged": "onstart"}},
            "spec": {"group": group, "version": "v1", "groupPriorityMinimum": 18000 if group else 18000,
                     "versionPriority": 1},
            "status": {"conditions": [{"type": "Available", "status": "True", "reason": "Local",
                                       "message": "Local APIServices are always available",
                                       "lastTransitionTime": common.rfc3339()}]}})
    svc = srv.resources["services"]
    if srv.store.find(svc, "default", "kubernetes") is None:
        obj = {"kind": "Service", "apiVersion": "v1",
               "metadata": {"name": "kubernetes", "namespace": "default",
                            "labels": {"component": "apiserver", "provider": "kubernetes"}},
               "spec": {"clusterIP": srv.clusterips.first, "ports": [
                   {"name": "https", "port": 443, "protocol": "TCP", "targetPort": srv.secure_port}]}}
        try:
            admission.CREATE["services"](srv, obj, None)
            srv.store.create(svc, obj)
        except ApiError as e:
            if e.code not in (409, 422):
                raise


class EndpointReconciler:
    def __init__(self, srv, address: str):
        self.srv, self.address = srv, address
        self.key = f"{srv.store.prefix}/masterleases/{address}"
        self._stop = threading.Event()

    def start(self) -> None:
        threading.Thread(target=self._loop, daemon=True, name="endpoint-reconciler").start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                lease = self.srv.etcd.lease_grant(LEASE_TTL)
                self.srv.etcd.put(self.key, json.dumps({"ip": self.address}).encode(), lease)
                self.reconcile()
            except (EtcdError, ApiError, OSError) as e:
                common.warning(f"endpoint reconciler: {e}")
            self._stop.wait(RENEW)

    def masters(self) -> list[str]:
        kvs, _ = self.srv.etcd.list(f"{self.srv.store.prefix}/masterleases/")
        return sorted(kv.key.rsplit("/", 1)[1] for kv in kvs)

    def reconcile(self) -> None:
        r = self.srv.resources["endpoints"]
        subsets = [{"addresses": [{"ip": ip} for ip in self.masters()],
                    "ports": [{"name": "https", "port": self.srv.secure_port, "protocol": "TCP"}]}]
        if not subsets[0]["addresses"]:
            subsets = []
        current = self.srv.store.find(r, "default", "kubernetes")
        if current is None:
            self.srv.store.create(r, {"kind": "Endpoints", "apiVersion": "v1", "metadata": {
                "name": "kubernetes", "namespace": "default",
                "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"}}, "subsets": subsets})
        elif current.get("subsets") != subsets:
            self.srv.store.update(r, "default", "kubernetes", lambda o: {**o, "subsets": subsets})

    def stop(self) -> None:
        """As the real server at shutdown: its address leaves the Endpoints."""
        self._stop.set()
        try:
            self.srv.etcd.delete(self.key)
            self.reconcile()
        except (EtcdError, ApiError, OSError):
            pass

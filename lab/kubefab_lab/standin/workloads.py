"""The controller manager's workload controllers, as their visible effects go
(honest minimal): deployment -> ReplicaSet per pod template (pod-template-hash label,
revision annotation; old ReplicaSets scaled to 0, not a rolling update) -> pods; the
status kubectl reads (replicas, updated, ready, available, observedGeneration, the
Available and Progressing conditions) so `kubectl rollout status` ends; the garbage
collector's background deletion of ReplicaSets and pods whose owner is gone; the
serviceaccount controller's `default` ServiceAccount in each namespace."""
from __future__ import annotations

import copy
import hashlib
import json
import time

from . import common
from .apiclient import Api, ApiCallError, owned_by, owner_ref, ready

APPS = "/apis/apps/v1"
SAFE = "bcdfghjklmnpqrstvwxz2456789"  # apimachinery's rand.SafeEncodeString alphabet


def template_hash(template: dict) -> str:
    digest = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).digest()
    return "".join(SAFE[b % len(SAFE)] for b in digest[:10])


def _condition(kind, status, reason, message, old_conditions):
    now = common.rfc3339()
    old = next((c for c in old_conditions if c.get("type") == kind), None)
    since = old["lastTransitionTime"] if old and old.get("status") == status else now
    return {"type": kind, "status": status, "lastUpdateTime": now if not old or old.get("reason") != reason
            else old.get("lastUpdateTime", now), "lastTransitionTime": since, "reason": reason, "message": message}


class Workloads:
    def __init__(self, api: Api, read: Api | None = None):
        """api writes; read lists (the manager's shared informers, under its own identity)."""
        self.api, self.read = api, read or api

    def sync(self) -> None:
        for step in (self.service_accounts, self.deployments, self.replicasets, self.collect_garbage):
            try:
                step()
            except (ApiCallError, OSError, ValueError) as e:
                common.warning(f"{step.__name__}: {e}")

    def service_accounts(self) -> None:
        for ns in self.read.items("/api/v1/namespaces"):
            name = ns["metadata"]["name"]
            if (ns.get("status") or {}).get("phase") == "Terminating":
                continue
            if self.read.get(f"/api/v1/namespaces/{name}/serviceaccounts/default") is None:
                self.api.call("POST", f"/api/v1/namespaces/{name}/serviceaccounts",
                              {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default"}},
                              ok=(201, 409))

    def deployments(self) -> None:
        sets = self.read.items(f"{APPS}/replicasets")
        for d in self.read.items(f"{APPS}/deployments"):
            d.setdefault("apiVersion", "apps/v1")
            d.setdefault("kind", "Deployment")
            self._deployment(d, [rs for rs in sets if owned_by(rs, d)])

    def _deployment(self, d: dict, owned: list[dict]) -> None:
        ns, name = d["metadata"]["namespace"], d["metadata"]["name"]
        spec = d.get("spec") or {}
        want = int(spec.get("replicas", 1))
        h = template_hash(spec.get("template") or {})
        new = next((rs for rs in owned if (rs["metadata"].get("labels") or {}).get("pod-template-hash") == h), None)
        revisions = [int((rs["metadata"].get("annotations") or {}).get("deployment.kubernetes.io/revision", "0"))
                     for rs in owned]
        if new is None:
            template = copy.deepcopy(spec.get("template") or {})
            template.setdefault("metadata", {}).setdefault("labels", {})["pod-template-hash"] = h
            selector = copy.deepcopy(spec.get("selector") or {})
            selector.setdefault("matchLabels", {})["pod-template-hash"] = h
            new = self.api.create(f"{APPS}/namespaces/{ns}/replicasets", {
                "apiVersion": "apps/v1", "kind": "ReplicaSet",
                "metadata": {"name": f"{name}-{h}", "namespace": ns, "labels": template["metadata"]["labels"],
                             "annotations": {"deployment.kubernetes.io/desired-replicas": str(want),
                                             "deployment.kubernetes.io/max-replicas": str(want),
                                             "deployment.kubernetes.io/revision": str(max(revisions, default=0) + 1)},
                             "ownerReferences": [owner_ref(d)]},
                "spec": {"replicas": want, "selector": selector, "template": template}})
            common.info(f'"Event occurred" object="{ns}/{name}" kind="Deployment" reason="ScalingReplicaSet" '
                        f'message="Scaled up replica set {new["metadata"]["name"]} from 0 to {want}"')
            owned.append(new)
        elif int((new.get("spec") or {}).get("replicas", 1)) != want:
            self.api.merge_patch(f"{APPS}/namespaces/{ns}/replicasets/{new['metadata']['name']}",
                                 {"spec": {"replicas": want}})
        for rs in owned:
            if rs is not new and int((rs.get("spec") or {}).get("replicas", 1)) != 0:
                self.api.merge_patch(f"{APPS}/namespaces/{ns}/replicasets/{rs['metadata']['name']}",
                                     {"spec": {"replicas": 0}})
        self._deployment_status(d, owned, new, want)

    def _deployment_status(self, d, owned, new, want) -> None:
        def st(rs, key):
            return int((rs.get("status") or {}).get(key) or 0)

        total = sum(st(rs, "replicas") for rs in owned)
        updated, ready_n = st(new, "replicas"), sum(st(rs, "readyReplicas") for rs in owned)
        available = sum(st(rs, "availableReplicas") for rs in owned)
        old = (d.get("status") or {}).get("conditions") or []
        max_unavailable = 1 if want > 1 else 0
        conds = [_condition("Available", "True" if available >= want - max_unavailable else "False",
                            "MinimumReplicasAvailable" if available >= want - max_unavailable
                            else "MinimumReplicasUnavailable",
                            "Deployment has minimum availability." if available >= want - max_unavailable
                            else "Deployment does not have minimum availability.", old)]
        done = updated == want and total == updated and available >= updated
        rs_name = new["metadata"]["name"]
        conds.append(_condition("Progressing", "True", "NewReplicaSetAvailable" if done else "ReplicaSetUpdated",
                                f'ReplicaSet "{rs_name}" has successfully progressed.' if done
                                else f'ReplicaSet "{rs_name}" is progressing.', old))
        status = {"observedGeneration": d["metadata"].get("generation", 1), "replicas": total,
                  "updatedReplicas": updated, "readyReplicas": ready_n, "availableReplicas": available,
                  "unavailableReplicas": max(want - available, 0), "conditions": conds}
        status = {k: v for k, v in status.items() if v != 0 or k in ("observedGeneration", "replicas")}
        if _without_times(status) != _without_times(d.get("status") or {}):
            self.api.put(f"{APPS}/namespaces/{d['metadata']['namespace']}/deployments/{d['metadata']['name']}/status",
                         {**d, "status": status})

    def replicasets(self) -> None:
        pods = self.read.items("/api/v1/pods")
        for rs in self.read.items(f"{APPS}/replicasets"):
            rs.setdefault("apiVersion", "apps/v1")
            rs.setdefault("kind", "ReplicaSet")
            mine = [p for p in pods if owned_by(p, rs)]
            active = [p for p in mine if not p["metadata"].get("deletionTimestamp")]
            ns, want = rs["metadata"]["namespace"], int((rs.get("spec") or {}).get("replicas", 1))
            for _ in range(want - len(active)):
                self._create_pod(rs)
            for pod in sorted(active, key=lambda p: ready(p))[:max(len(active) - want, 0)]:
                self.api.delete(f"/api/v1/namespaces/{ns}/pods/{pod['metadata']['name']}")
            n_ready = sum(1 for p in active if ready(p))
            status = {"replicas": len(active), "fullyLabeledReplicas": len(active), "readyReplicas": n_ready,
                      "availableReplicas": n_ready, "observedGeneration": rs["metadata"].get("generation", 1)}
            status = {k: v for k, v in status.items() if v != 0 or k in ("replicas", "observedGeneration")}
            if status != {k: v for k, v in (rs.get("status") or {}).items() if k != "conditions"}:
                self.api.put(f"{APPS}/namespaces/{ns}/replicasets/{rs['metadata']['name']}/status",
                             {**rs, "status": status})

    def _create_pod(self, rs: dict) -> None:
        template = copy.deepcopy((rs.get("spec") or {}).get("template") or {})
        meta = template.get("metadata") or {}
        pod = {"apiVersion": "v1", "kind": "Pod",
               "metadata": {"generateName": rs["metadata"]["name"] + "-", "labels": meta.get("labels") or {},
                            "annotations": meta.get("annotations") or {}, "ownerReferences": [owner_ref(rs)]},
               "spec": template.get("spec") or {}}
        self.api.create(f"/api/v1/namespaces/{rs['metadata']['namespace']}/pods", pod)

    def collect_garbage(self) -> None:
        """Background deletion: what a deleted owner leaves behind goes."""
        uids = {o["metadata"]["uid"] for o in self.read.items(f"{APPS}/deployments")}
        sets = self.read.items(f"{APPS}/replicasets")
        for rs in sets:
            refs = [r for r in rs["metadata"].get("ownerReferences") or [] if r.get("kind") == "Deployment"]
            if refs and not any(r.get("uid") in uids for r in refs):
                self.api.delete(f"{APPS}/namespaces/{rs['metadata']['namespace']}/replicasets/{rs['metadata']['name']}")
        uids = {o["metadata"]["uid"] for o in sets}
        for pod in self.read.items("/api/v1/pods"):
            refs = [r for r in pod["metadata"].get("ownerReferences") or [] if r.get("kind") == "ReplicaSet"]
            if refs and not any(r.get("uid") in uids for r in refs) and not pod["metadata"].get("deletionTimestamp"):
                self.api.delete(f"/api/v1/namespaces/{pod['metadata']['namespace']}/pods/{pod['metadata']['name']}")


def _without_times(status: dict) -> str:
    out = copy.deepcopy(status)
    for c in out.get("conditions") or []:
        c.pop("lastUpdateTime", None)
        c.pop("lastTransitionTime", None)
    return json.dumps(out, sort_keys=True)


def now() -> float:
    return time.time()

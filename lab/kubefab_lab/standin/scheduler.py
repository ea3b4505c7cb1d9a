"""The scheduler's one job as the stand-in does it (as leader): bind each pending pod
(no spec.nodeName, schedulerName default-scheduler, not being deleted) to a node that
is Ready and schedulable, whose labels satisfy its nodeSelector and required node
affinity, whose NoSchedule/NoExecute taints it tolerates, and that its required
podAntiAffinity terms allow (no matching pod in the same topology domain, e.g.
kubernetes.io/hostname); among those the one running fewest pods. A pod no node takes
gets PodScheduled=False, reason Unschedulable, with the real message's shape
("0/3 nodes are available: ...")."""
from __future__ import annotations

from . import common
from .apiclient import Api, ApiCallError, ready
from .objects import label_match


def _expr_match(expressions, labels: dict) -> bool:
    ops = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!exists"}
    reqs = [(e.get("key"), ops.get(e.get("operator"), "in"), set(e.get("values") or [])) for e in expressions or []]
    return label_match(reqs, labels)


def selector_match(selector: dict | None, labels: dict) -> bool:
    if selector is None:
        return False
    reqs = [(k, "=", {v}) for k, v in (selector.get("matchLabels") or {}).items()]
    return label_match(reqs, labels) and _expr_match(selector.get("matchExpressions"), labels)


def tolerates(tolerations, taint: dict) -> bool:
    for t in tolerations or []:
        if t.get("effect") and t.get("effect") != taint.get("effect"):
            continue
        if t.get("operator") == "Exists" and (not t.get("key") or t.get("key") == taint.get("key")):
            return True
        if t.get("key") == taint.get("key") and t.get("value", "") == taint.get("value", ""):
            return True
    return False


def why_not(pod: dict, node: dict, placed: list[dict]) -> str | None:
    """None when the pod fits the node, else the predicate's reason."""
    spec, labels = pod.get("spec") or {}, node["metadata"].get("labels") or {}
    if not ready(node):
        return "node(s) had untolerated taint {node.kubernetes.io/not-ready: }"
    if (node.get("spec") or {}).get("unschedulable"):
        return "node(s) were unschedulable"
    for taint in (node.get("spec") or {}).get("taints") or []:
        if taint.get("effect") in ("NoSchedule", "NoExecute") and not tolerates(spec.get("tolerations"), taint):
            return f"node(s) had untolerated taint {{{taint.get('key')}: {taint.get('value', '')}}}"
    if any(labels.get(k) != v for k, v in (spec.get("nodeSelector") or {}).items()):
        return "node(s) didn't match Pod's node affinity/selector"
    required = ((spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution") or {}
    terms = required.get("nodeSelectorTerms") or []
    if terms and not any(_expr_match(t.get("matchExpressions"), labels) for t in terms):
        return "node(s) didn't match Pod's node affinity/selector"
    anti = ((spec.get("affinity") or {}).get("podAntiAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution") or []
    for term in anti:
        key = term.get("topologyKey") or "kubernetes.io/hostname"
        namespaces = term.get("namespaces") or [pod["metadata"]["namespace"]]
        for other in placed:
            other_node = other["_node"]
            if other["metadata"]["namespace"] in namespaces and key in labels and \
                    (other_node["metadata"].get("labels") or {}).get(key) == labels[key] and \
                    selector_match(term.get("labelSelector"), other["metadata"].get("labels") or {}):
                return "node(s) didn't match pod anti-affinity rules"
    return None


class Scheduler:
    def __init__(self, api: Api):
        self.api = api

    def sync(self) -> None:
        try:
            nodes = self.api.items("/api/v1/nodes")
            pods = self.api.items("/api/v1/pods")
        except (ApiCallError, OSError) as e:
            common.warning(f"scheduler: {e}")
            return
        by_name = {n["metadata"]["name"]: n for n in nodes}
        placed = [{**p, "_node": by_name[p["spec"]["nodeName"]]} for p in pods
                  if (p.get("spec") or {}).get("nodeName") in by_name]
        for pod in pods:
            spec = pod.get("spec") or {}
            if spec.get("nodeName") or pod["metadata"].get("deletionTimestamp") or \
                    spec.get("schedulerName", "default-scheduler") != "default-scheduler":
                continue
            try:
                node = self._schedule(pod, nodes, placed)
            except (ApiCallError, OSError) as e:
                common.warning(f"scheduler: {pod['metadata']['name']}: {e}")
                continue
            if node is not None:
                placed.append({**pod, "spec": {**spec, "nodeName": node["metadata"]["name"]}, "_node": node})

    def _schedule(self, pod: dict, nodes: list[dict], placed: list[dict]):
        ns, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
        reasons, fits = {}, []
        for node in nodes:
            why = why_not(pod, node, placed)
            if why is None:
                fits.append(node)
            else:
                reasons[why] = reasons.get(why, 0) + 1
        if not fits:
            detail = ", ".join(f"{n} {r}" for r, n in sorted(reasons.items()))
            message = f"0/{len(nodes)} nodes are available: {detail}." if nodes else "no nodes available to schedule pods"
            old = next((c for c in (pod.get("status") or {}).get("conditions") or [] if c.get("type") == "PodScheduled"),
                       {})
            if old.get("message") != message:
                self.api.patch(f"/api/v1/namespaces/{ns}/pods/{name}/status", {"status": {"conditions": [
                    {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": message,
                     "lastProbeTime": None, "lastTransitionTime": common.rfc3339()}]}})
                common.info(f'"Unable to schedule pod; no fit; waiting" pod="{ns}/{name}" err="{message}"')
            return None
        load = {n["metadata"]["name"]: 0 for n in fits}
        for p in placed:
            if p["spec"]["nodeName"] in load:
                load[p["spec"]["nodeName"]] += 1
        node = min(fits, key=lambda n: (load[n["metadata"]["name"]], n["metadata"]["name"]))
        self.api.create(f"/api/v1/namespaces/{ns}/pods/{name}/binding", {
            "apiVersion": "v1", "kind": "Binding", "metadata": {"name": name, "namespace": ns},
            "target": {"apiVersion": "v1", "kind": "Node", "name": node["metadata"]["name"]}})
        common.info(f'"Successfully bound pod to node" pod="{ns}/{name}" node="{node["metadata"]["name"]}" '
                    f'evaluatedNodes={len(nodes)} feasibleNodes={len(fits)}')
        return node

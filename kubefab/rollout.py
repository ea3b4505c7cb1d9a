"""A rolling upgrade's pure parts: which nodes still need it, in which batches, and the
kubectl commands that cordon, drain and uncordon them. `kubectl get nodes -o json` and
flags in; argv lists (registration.Command) out. kubefab.ops.upgrade runs them.

kubefab marks a node it cordons with an annotation (layout.CORDONED_BY) in the same
patch, so that a re-run uncordons only the nodes kubefab cordoned, never one the
operator cordoned."""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass

from kubefab.layout import CORDONED_BY
from kubefab.registration import Command


@dataclass(frozen=True)
class NodeView:
    version: str | None  # status.nodeInfo.kubeletVersion: what the running kubelet said
    ready: bool
    unschedulable: bool
    ours: bool  # cordoned by kubefab (its annotation is there)


def node_views(nodes_json: str) -> dict[str, NodeView]:
    out = {}
    for item in json.loads(nodes_json).get("items", []):
        meta, status = item.get("metadata", {}), item.get("status", {})
        ready = any(c.get("type") == "Ready" and c.get("status") == "True"
                    for c in status.get("conditions") or [])
        out[meta["name"]] = NodeView((status.get("nodeInfo") or {}).get("kubeletVersion") or None, ready,
                                     bool((item.get("spec") or {}).get("unschedulable")),
                                     CORDONED_BY in (meta.get("annotations") or {}))
    return out


def at(view: NodeView | None, version: str) -> bool:
    """Registered, Ready, and its kubelet reports `version`."""
    return bool(view and view.ready and view.version == version)


# -- batches ------------------------------------------------------------------------------

def batch_spec(text: str) -> str | None:
    """Why `--batch` text is refused, or None: a whole number of nodes above 0, or a
    percentage of the nodes to upgrade (1% to 100%)."""
    m = re.fullmatch(r"(\d+)(%?)", text.strip())
    if not m or int(m[1]) == 0:
        return "wants a number of nodes above 0 (e.g. 2) or a percentage of them (e.g. 25%)"
    if m[2] and int(m[1]) > 100:
        return "wants a percentage from 1% to 100%"
    return None


def batches(names: list[str], spec: str) -> list[list[str]]:
    """names in order, in batches of `spec` nodes ("2") or `spec` of them ("25%",
    rounded up: never an empty batch)."""
    spec = spec.strip()
    size = math.ceil(len(names) * int(spec[:-1]) / 100) if spec.endswith("%") else int(spec)
    size = max(1, size)
    return [names[i:i + size] for i in range(0, len(names), size)]


# -- kubectl --------------------------------------------------------------------------------

def client_version(text: str) -> tuple[int, int] | None:
    """(major, minor) from `kubectl version --client` in any era's words
    ('Client Version: v1.33.1' or 'version.Info{... GitVersion:"v1.0.1" ...}')."""
    m = re.search(r"v(\d+)\.(\d+)\.\d+", text)
    return (int(m[1]), int(m[2])) if m else None


def cordon(kubectl: list[str], node: str, run_id: str) -> Command:
    """Unschedulable, and marked as kubefab's doing, in one strategic merge patch."""
    patch = {"metadata": {"annotations": {CORDONED_BY: run_id}}, "spec": {"unschedulable": True}}
    return Command([*kubectl, "patch", "node", node, "-p", json.dumps(patch)], says=f"cordon {node}",
                   nodes=(node,), done="cordoned")


def uncordon(kubectl: list[str], node: str) -> Command:
    patch = {"metadata": {"annotations": {CORDONED_BY: None}}, "spec": {"unschedulable": False}}
    return Command([*kubectl, "patch", "node", node, "-p", json.dumps(patch)], says=f"uncordon {node}",
                   nodes=(node,), done="uncordoned")


def drain(kubectl: list[str], node: str, client: tuple[int, int] | None, timeout: float) -> Command | None:
    """`kubectl drain` with the flags the installed kubectl knows; None before v1.2,
    whose kubectl had no drain. DaemonSet pods stay (their controller would put them
    back), pods without a controller and emptyDir data go (--force, as kubespray)."""
    if client is not None and client < (1, 2):
        return None
    emptydir = "--delete-emptydir-data" if client is None or client >= (1, 20) else "--delete-local-data"
    argv = [*kubectl, "drain", node, "--ignore-daemonsets", "--force"]
    argv += [emptydir] if client is None or client >= (1, 3) else []
    argv += [f"--timeout={timeout:.0f}s"] if client is None or client >= (1, 10) else []
    return Command(argv, says=f"drain {node} (evicts its pods, at most {timeout:.0f}s)", nodes=(node,),
                   done="drained")

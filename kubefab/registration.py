"""Node registration with kubectl, as the original's register_node.sh meant to do it.
Pure: `kubectl get nodes -o json` in, kubectl argv lists (and their stdin) out."""
from __future__ import annotations

import json
from dataclasses import dataclass, field


@dataclass(frozen=True)
class NodeState:
    registered: bool
    ready: bool
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Command:
    argv: list[str]
    stdin: bytes | None = None
    says: str = ""  # what it does, for the plan
    nodes: tuple[str, ...] = ()  # the nodes it creates or labels
    done: str = ""  # what it did to each of them, for the recap


def node_states(nodes_json: str) -> dict[str, NodeState]:
    """Registered nodes by name, from `kubectl get nodes -o json`."""
    states = {}
    for item in json.loads(nodes_json).get("items", []):
        conditions = item.get("status", {}).get("conditions") or []
        ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
        meta = item.get("metadata", {})
        states[meta["name"]] = NodeState(True, ready, dict(meta.get("labels") or {}))
    return states


def node_object(name: str, labels: dict[str, str]) -> dict:
    return {"kind": "Node", "apiVersion": "v1", "metadata": {"name": name, "labels": labels}}


def plan_registration(kubectl: list[str], wanted: dict[str, dict[str, str]],
                      states: dict[str, NodeState], *, create: bool) -> list[Command]:
    """Commands that make every wanted node registered (when `create`; else the kubelet
    registers itself) and carrying its labels. Labels kubefab did not ask for stay."""
    commands, missing = [], []
    for name, labels in wanted.items():
        state = states.get(name)
        if state is None:
            if create:
                missing.append(node_object(name, labels))
            continue
        differ = _differing(labels, state)
        if differ:
            pairs = [f"{k}={v}" for k, v in sorted(differ.items())]
            commands.append(Command([*kubectl, "label", "--overwrite", "node", name, *pairs],
                                    says=f"label node {name} " + " ".join(pairs), nodes=(name,),
                                    done="labelled " + " ".join(pairs)))
    if missing:
        body = json.dumps({"kind": "List", "apiVersion": "v1", "items": missing}).encode()
        names = tuple(n["metadata"]["name"] for n in missing)
        commands.insert(0, Command([*kubectl, "create", "--validate=false", "-f", "-"], body,
                                   f"create node {', '.join(names)}", names, "registered"))
    return commands


def pending(wanted, states: dict[str, NodeState]) -> dict[str, str]:
    """The one test of a node as wanted: registered, labelled and Ready. Returns the
    nodes that are not, with why; empty when all are."""
    return {**unready(wanted, states), **unlabelled(wanted, states)}


def unready(wanted, states: dict[str, NodeState]) -> dict[str, str]:
    """Nodes not yet as wanted, with why."""
    out = {}
    for name in wanted:
        state = states.get(name)
        if state is None:
            out[name] = "not registered"
        elif not state.ready:
            out[name] = "registered, not Ready"
    return out


def unlabelled(wanted, states: dict[str, NodeState]) -> dict[str, str]:
    """Registered nodes whose labels differ from the wanted ones, with which."""
    out = {}
    for name, labels in wanted.items():
        differ = _differing(labels, states[name]) if name in states else {}
        if differ:
            out[name] = "labels not set: " + ", ".join(sorted(differ))
    return out


def _differing(labels: dict[str, str], state: NodeState) -> dict[str, str]:
    return {k: v for k, v in labels.items() if state.labels.get(k) != v}

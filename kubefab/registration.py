"""Node registration with kubectl, as the original's register_node.sh meant to do it.
Pure: `kubectl get nodes -o json` in, kubectl argv lists (and their stdin) out.

Labels kubefab owns: each Node records in annotations which label keys kubefab set
from hosts.yaml (OWNED_LABELS) and which `nodes.register --label` set (OPERATOR_LABELS).
A key hosts.yaml no longer gives is removed when it is kubefab's and not the operator's;
a key in neither annotation (set by hand, by another tool) is never touched."""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from kubefab.layout import OPERATOR_LABELS, OWNED_LABELS


@dataclass(frozen=True)
class NodeState:
    registered: bool
    ready: bool
    labels: dict[str, str] = field(default_factory=dict)
    owned: tuple[str, ...] | None = None  # OWNED_LABELS; None: never recorded (a node before kubefab did)
    operator: tuple[str, ...] = ()  # OPERATOR_LABELS


@dataclass(frozen=True)
class Command:
    argv: list[str]
    stdin: bytes | None = None
    says: str = ""  # what it does, for the plan
    nodes: tuple[str, ...] = ()  # the nodes it creates or labels
    done: str = ""  # what it did to each of them, for the recap


@dataclass(frozen=True)
class LabelChange:
    """What makes one registered node's labels as wanted; empty: nothing."""
    set: dict[str, str] = field(default_factory=dict)
    remove: tuple[str, ...] = ()  # kubefab's keys hosts.yaml no longer gives
    record: dict[str, str] = field(default_factory=dict)  # annotations to (re)write

    def __bool__(self) -> bool:
        return bool(self.set or self.remove or self.record)


def node_states(nodes_json: str) -> dict[str, NodeState]:
    """Registered nodes by name, from `kubectl get nodes -o json`."""
    states = {}
    for item in json.loads(nodes_json).get("items", []):
        conditions = item.get("status", {}).get("conditions") or []
        ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
        meta = item.get("metadata", {})
        notes = meta.get("annotations") or {}
        owned = _keys(notes[OWNED_LABELS]) if OWNED_LABELS in notes else None
        states[meta["name"]] = NodeState(True, ready, dict(meta.get("labels") or {}), owned,
                                         _keys(notes.get(OPERATOR_LABELS)))
    return states


def _keys(text: str | None) -> tuple[str, ...]:
    return tuple(sorted(k for k in (text or "").split(",") if k))


def record(labels: dict[str, str]) -> dict[str, str]:
    """The annotation that records which label keys kubefab set (a node it creates
    carries it from the start: register_node.sh in the modern profile, manual mode)."""
    return {OWNED_LABELS: ",".join(sorted(labels))}


def node_object(name: str, labels: dict[str, str], operator: dict[str, str] | None = None,
                kubelet: dict | None = None) -> dict:
    """kubelet: what its kubelet would set registering itself (labels, annotations),
    which the Node kubefab creates for it carries too (not recorded as kubefab's)."""
    kubelet = kubelet or {}
    notes = {**kubelet.get("annotations", {}), **record(labels)}
    if operator:
        notes[OPERATOR_LABELS] = ",".join(sorted(operator))
    return {"kind": "Node", "apiVersion": "v1",
            "metadata": {"name": name, "labels": {**kubelet.get("labels", {}), **labels, **(operator or {})},
                         "annotations": notes}}


def label_change(labels: dict[str, str], state: NodeState, operator: dict[str, str] | None = None) -> LabelChange:
    """labels: hosts.yaml's for the node; operator: the ones `nodes.register --label`
    sets now (they win over hosts.yaml's for this run, and are recorded as the operator's)."""
    operator = operator or {}
    wanted = {**labels, **operator}
    theirs = tuple(sorted({*state.operator, *operator}))
    remove = tuple(k for k in state.owned or () if k not in wanted and k not in theirs and k in state.labels)
    record = {}
    if state.owned != tuple(sorted(labels)):
        record[OWNED_LABELS] = ",".join(sorted(labels))
    if state.operator != theirs:
        record[OPERATOR_LABELS] = ",".join(theirs)
    return LabelChange({k: v for k, v in wanted.items() if state.labels.get(k) != v}, remove, record)


def plan_registration(kubectl: list[str], wanted: dict[str, dict[str, str]],
                      states: dict[str, NodeState], *, create: bool,
                      operator: dict[str, dict[str, str]] | None = None, kubelet=lambda name: {}) -> list[Command]:
    """Commands that make every wanted node registered (when `create`; else the kubelet
    registers itself) and carrying its labels, kubefab's recorded on it; a label kubefab
    recorded and hosts.yaml no longer gives is removed. Labels kubefab did not set stay.
    operator: node -> the labels `nodes.register --label` sets; kubelet(node): what its
    kubelet would set on a Node it registers (a Node created here carries it too)."""
    commands, missing = [], []
    for name, labels in wanted.items():
        theirs = (operator or {}).get(name, {})
        state = states.get(name)
        if state is None:
            if create:
                missing.append(node_object(name, labels, theirs, kubelet(name)))
            continue
        commands += _commands(kubectl, name, label_change(labels, state, theirs))
    if missing:
        body = json.dumps({"kind": "List", "apiVersion": "v1", "items": missing}).encode()
        names = tuple(n["metadata"]["name"] for n in missing)
        commands.insert(0, Command([*kubectl, "create", "--validate=false", "-f", "-"], body,
                                   f"create node {', '.join(names)}", names, "registered"))
    return commands


def _commands(kubectl: list[str], name: str, change: LabelChange) -> list[Command]:
    """The labels first, then the record: a removal whose record failed is retried
    (the key is still recorded), never forgotten."""
    out = []
    if change.set or change.remove:
        pairs = [f"{k}={v}" for k, v in sorted(change.set.items())]
        said = " ".join(pairs + [f"{k}- (no longer in hosts.yaml)" for k in change.remove])
        out.append(Command([*kubectl, "label", "--overwrite", "node", name, *pairs, *(f"{k}-" for k in change.remove)],
                           says=f"label node {name} {said}", nodes=(name,), done=f"labelled {said}"))
    if change.record:
        notes = [f"{k}={v}" for k, v in sorted(change.record.items())]
        said = "; ".join(f"{'operator' if k == OPERATOR_LABELS else 'kubefab'}'s labels: {v or 'none'}"
                         for k, v in sorted(change.record.items()))
        out.append(Command([*kubectl, "annotate", "--overwrite", "node", name, *notes],
                           says=f"record on node {name} {said}", nodes=(name,), done=f"recorded {said}"))
    return out


def pending(wanted, states: dict[str, NodeState], operator=None) -> dict[str, str]:
    """The one test of a node as wanted: registered, labelled and Ready. Returns the
    nodes that are not, with why; empty when all are."""
    return {**unready(wanted, states), **unlabelled(wanted, states, operator)}


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


def unlabelled(wanted, states: dict[str, NodeState], operator=None) -> dict[str, str]:
    """Registered nodes whose labels differ from the wanted ones, with which."""
    out = {}
    for name, labels in wanted.items():
        if name not in states:
            continue
        change = label_change(labels, states[name], (operator or {}).get(name))
        why = ([f"labels not set: {', '.join(sorted(change.set))}"] if change.set else []) + \
              ([f"labels to remove: {', '.join(change.remove)}"] if change.remove else []) + \
              (["labels not recorded"] if change.record else [])
        if why:
            out[name] = "; ".join(why)
    return out


def label_problems(labels: dict[str, str], state: NodeState) -> list[str]:
    """For status: how a registered node's labels differ from what deploy would make them."""
    change = label_change(labels, state)
    return ([f"label {k}={v} missing" for k, v in change.set.items()]
            + [f"label {k}={state.labels[k]} set by kubefab is no longer in hosts.yaml (deploy removes it)"
               for k in change.remove]
            + ([f"labels kubefab set not recorded on the Node ({OWNED_LABELS}; deploy records them)"]
               if change.record and not (change.set or change.remove) else []))  # else implied


def operator_labels(wanted, states: dict[str, NodeState]) -> list[str]:
    """Labels `nodes.register --label` set that hosts.yaml does not give: deploy keeps
    them, and says how to make them part of the inventory."""
    return [f"label {k}={states[name].labels[k]} on node {name} was set by nodes.register and is not in "
            f"hosts.yaml; add it to {name}'s labels there to keep it in the inventory"
            for name, labels in wanted.items() if name in states
            for k in states[name].operator if k not in labels and k in states[name].labels]

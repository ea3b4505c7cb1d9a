import json

import pytest

from kubefab import registration as reg
from kubefab.layout import OPERATOR_LABELS, OWNED_LABELS

KUBECTL = ["/opt/bin/kubectl", "-s", "http://127.0.0.1:8080"]
OWNS = ("env", "name")  # the keys kubefab recorded on a node


def nodes_json(*nodes):
    items = []
    for name, labels, ready in nodes:
        items.append({"metadata": {"name": name, "labels": labels},
                      "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}})
    return json.dumps({"kind": "NodeList", "items": items})


def test_node_states():
    states = reg.node_states(nodes_json(("a", {"x": "1"}, True), ("b", None, False)))
    assert states == {"a": reg.NodeState(True, True, {"x": "1"}), "b": reg.NodeState(True, False, {})}


@pytest.mark.parametrize("states,create,expect", [
    # nothing registered, manual mode: one create with every missing node
    ({}, True, [("create", ["a", "b"])]),
    # nothing registered, self mode: the kubelets register themselves
    ({}, False, []),
    # registered with the right labels: no-op
    ({"a": reg.NodeState(True, True, {"env": "prod", "name": "a"}, OWNS),
      "b": reg.NodeState(True, True, {"env": "prod", "name": "b", "extra": "kept"}, OWNS)}, True, []),
    # one label differs: only that label, only on that node
    ({"a": reg.NodeState(True, True, {"env": "dev", "name": "a"}, OWNS),
      "b": reg.NodeState(True, True, {"env": "prod", "name": "b"}, OWNS)}, True, [("label", "a", ["env=prod"])]),
])
def test_plan_registration(states, create, expect):
    wanted = {"a": {"env": "prod", "name": "a"}, "b": {"env": "prod", "name": "b"}}
    got = reg.plan_registration(KUBECTL, wanted, states, create=create)
    summary = []
    for cmd in got:
        if cmd.argv[3] == "create":
            body = json.loads(cmd.stdin)
            assert body["kind"] == "List"
            assert all(i["kind"] == "Node" and i["apiVersion"] == "v1" for i in body["items"])
            assert body["items"][0]["metadata"]["labels"] == {"env": "prod", "name": "a"}
            assert body["items"][0]["metadata"]["annotations"] == {OWNED_LABELS: "env,name"}
            summary.append(("create", [i["metadata"]["name"] for i in body["items"]]))
        else:
            assert cmd.argv[:6] == [*KUBECTL, "label", "--overwrite", "node"]
            summary.append(("label", cmd.argv[6], cmd.argv[7:]))
    assert summary == expect


def test_unready_and_unlabelled():
    wanted = {"a": {"env": "prod"}, "b": {"env": "prod"}, "c": {"env": "prod"}}
    states = {"a": reg.NodeState(True, True, {"env": "prod"}, ("env",)), "b": reg.NodeState(True, False, {})}
    assert reg.unready(wanted, states) == {"b": "registered, not Ready", "c": "not registered"}
    assert reg.unlabelled(wanted, states) == {"b": "labels not set: env; labels not recorded"}


def node(labels, owned=None, operator=""):
    notes = {OWNED_LABELS: owned} if owned is not None else {}
    notes.update({OPERATOR_LABELS: operator} if operator else {})
    return {"metadata": {"name": "a", "labels": labels, "annotations": notes},
            "status": {"conditions": [{"type": "Ready", "status": "True"}]}}


def plan(wanted, item, operator=None):
    states = reg.node_states(json.dumps({"items": [item]}))
    return [c.argv[len(KUBECTL):] for c in
            reg.plan_registration(KUBECTL, {"a": wanted}, states, create=True, operator=operator)]


def test_node_states_read_what_kubefab_recorded():
    state = reg.node_states(json.dumps({"items": [node({"x": "1"}, "name,x", "tier")]}))["a"]
    assert (state.owned, state.operator) == (("name", "x"), ("tier",))
    assert reg.node_states(json.dumps({"items": [node({})]}))["a"].owned is None  # never recorded
    assert reg.node_states(json.dumps({"items": [node({}, "")]}))["a"].owned == ()


@pytest.mark.parametrize("labels,owned,operator,wanted,expect", [
    # a node kubefab never recorded (deployed before it did): record, remove nothing
    ({"name": "a", "env": "prod", "old": "x"}, None, "", {"name": "a", "env": "prod"},
     [["annotate", "--overwrite", "node", "a", f"{OWNED_LABELS}=env,name"]]),
    # a recorded key hosts.yaml dropped: removed, and the record rewritten after
    ({"name": "a", "env": "prod", "old": "x"}, "env,name,old", "", {"name": "a", "env": "prod"},
     [["label", "--overwrite", "node", "a", "old-"],
      ["annotate", "--overwrite", "node", "a", f"{OWNED_LABELS}=env,name"]]),
    # a label set by hand (not recorded) is never touched
    ({"name": "a", "env": "prod", "team": "x"}, "env,name", "", {"name": "a", "env": "prod"}, []),
    # a recorded key already gone from the node: only the record changes
    ({"name": "a"}, "env,name", "", {"name": "a"}, [["annotate", "--overwrite", "node", "a", f"{OWNED_LABELS}=name"]]),
    # a key the operator set (nodes.register --label) is kept even if kubefab recorded it too
    ({"name": "a", "tier": "gold"}, "name,tier", "tier", {"name": "a"},
     [["annotate", "--overwrite", "node", "a", f"{OWNED_LABELS}=name"]]),
    # a new label and a dropped one: one label command
    ({"name": "a", "old": "x"}, "name,old", "", {"name": "a", "new": "y"},
     [["label", "--overwrite", "node", "a", "new=y", "old-"],
      ["annotate", "--overwrite", "node", "a", f"{OWNED_LABELS}=name,new"]]),
])
def test_labels_kubefab_owns(labels, owned, operator, wanted, expect):
    assert plan(wanted, node(labels, owned, operator)) == expect


def test_nodes_register_label_is_recorded_as_the_operators():
    item = node({"name": "a"}, "name")
    assert plan({"name": "a"}, item, {"a": {"tier": "gold"}}) == [
        ["label", "--overwrite", "node", "a", "tier=gold"],
        ["annotate", "--overwrite", "node", "a", f"{OPERATOR_LABELS}=tier"]]
    after = node({"name": "a", "tier": "gold"}, "name", "tier")
    assert plan({"name": "a"}, after) == []  # deploy keeps it
    states = reg.node_states(json.dumps({"items": [after]}))
    assert reg.operator_labels({"a": {"name": "a"}}, states) == [
        "label tier=gold on node a was set by nodes.register and is not in hosts.yaml; "
        "add it to a's labels there to keep it in the inventory"]
    assert reg.operator_labels({"a": {"name": "a", "tier": "gold"}}, states) == []  # in hosts.yaml now


def test_label_problems_for_status():
    state = reg.node_states(json.dumps({"items": [node({"name": "a", "old": "x"}, "name,old")]}))["a"]
    assert reg.label_problems({"name": "a", "env": "prod"}, state) == [
        "label env=prod missing",
        "label old=x set by kubefab is no longer in hosts.yaml (deploy removes it)"]
    assert reg.label_problems({"name": "a", "old": "x"}, state) == []
    never = reg.node_states(json.dumps({"items": [node({"name": "a"})]}))["a"]
    assert reg.label_problems({"name": "a"}, never) == [
        f"labels kubefab set not recorded on the Node ({OWNED_LABELS}; deploy records them)"]

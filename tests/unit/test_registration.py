import json

import pytest

from kubefab import registration as reg

KUBECTL = ["/opt/bin/kubectl", "-s", "http://127.0.0.1:8080"]


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
    ({"a": reg.NodeState(True, True, {"env": "prod", "name": "a"}),
      "b": reg.NodeState(True, True, {"env": "prod", "name": "b", "extra": "kept"})}, True, []),
    # one label differs: only that label, only on that node
    ({"a": reg.NodeState(True, True, {"env": "dev", "name": "a"}),
      "b": reg.NodeState(True, True, {"env": "prod", "name": "b"})}, True, [("label", "a", ["env=prod"])]),
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
            summary.append(("create", [i["metadata"]["name"] for i in body["items"]]))
        else:
            assert cmd.argv[:6] == [*KUBECTL, "label", "--overwrite", "node"]
            summary.append(("label", cmd.argv[6], cmd.argv[7:]))
    assert summary == expect


def test_unready_and_unlabelled():
    wanted = {"a": {"env": "prod"}, "b": {"env": "prod"}, "c": {"env": "prod"}}
    states = {"a": reg.NodeState(True, True, {"env": "prod"}), "b": reg.NodeState(True, False, {})}
    assert reg.unready(wanted, states) == {"b": "registered, not Ready", "c": "not registered"}
    assert reg.unlabelled(wanted, states) == {"b": "labels not set: env"}

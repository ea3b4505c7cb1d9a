"""Pure parts of the stand-ins: the little YAML, selectors, patches, the node printer."""
from __future__ import annotations

import pytest

from kubefab_lab.standin import kubeconfig, merging, miniyaml, objects
from kubefab_lab.standin.flags import parse_duration


def test_yaml_kubeconfig(tmp_path):
    path = tmp_path / "kubeconfig"
    path.write_text("""apiVersion: v1
kind: Config
clusters:
- name: "production"   # quoted
  cluster:
    server: "http://127.0.0.220:8080"
- name: other
  cluster:
    server: https://10.0.0.1:6443
    insecure-skip-tls-verify: true
contexts:
- name: kubelet
  context:
    cluster: "production"
    user: kubelet
current-context: kubelet
users:
- name: kubelet
  user: {}
""")
    ep = kubeconfig.load_kubeconfig(str(path))
    assert ep.server == "http://127.0.0.220:8080" and not ep.insecure and ep.token is None
    doc = miniyaml.load_yaml(path.read_text())
    assert doc["clusters"][1] == {"name": "other", "cluster": {"server": "https://10.0.0.1:6443",
                                                               "insecure-skip-tls-verify": True}}
    assert doc["users"][0]["user"] == {}


def test_yaml_kubelet_configuration():
    doc = miniyaml.load_yaml("apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n"
                             "address: 127.0.0.3\nport: 10250\nclusterDNS:\n  - 10.100.0.10\nregisterNode: false\n"
                             "staticPodPath: /etc/kubernetes/manifests\nevictionHard: {memory.available: 100Mi}\n")
    assert doc["port"] == 10250 and doc["clusterDNS"] == ["10.100.0.10"] and doc["registerNode"] is False
    assert doc["evictionHard"] == {"memory.available": "100Mi"}


@pytest.mark.parametrize("selector, labels, match", [
    ("environment=production", {"environment": "production"}, True),
    ("environment==production", {"environment": "staging"}, False),
    ("environment!=production", {}, True),
    ("host in (azure, dedicated),workload", {"host": "azure", "workload": "x"}, True),
    ("host notin (azure)", {"host": "azure"}, False),
    ("!workload", {"workload": "x"}, False),
])
def test_label_selectors(selector, labels, match):
    assert objects.label_match(objects.parse_label_selector(selector), labels) is match


def test_strategic_merge_patch_merges_conditions_by_type():
    node = {"status": {"conditions": [{"type": "Ready", "status": "True"}, {"type": "DiskPressure", "status": "False"}],
                       "addresses": [{"type": "InternalIP", "address": "127.0.0.2"}]},
            "metadata": {"labels": {"a": "1"}, "finalizers": ["x"]}}
    patch = {"status": {"conditions": [{"type": "Ready", "status": "False"}],
                        "$setElementOrder/conditions": [{"type": "Ready"}]},
             "metadata": {"labels": {"a": None, "b": "2"}, "finalizers": ["y"]}}
    out = merging.strategic_merge_patch(node, patch)
    assert out["status"]["conditions"] == [{"type": "Ready", "status": "False"}, {"type": "DiskPressure", "status": "False"}]
    assert out["status"]["addresses"] == node["status"]["addresses"]
    assert out["metadata"] == {"labels": {"b": "2"}, "finalizers": ["x", "y"]}
    # a JSON merge patch replaces lists
    assert objects.merge_patch(node, patch)["status"]["conditions"] == [{"type": "Ready", "status": "False"}]


@pytest.mark.parametrize("seconds, text", [(0, "0s"), (119, "119s"), (125, "2m5s"), (600, "10m"),
                                           (3 * 3600 + 60, "3h1m"), (30 * 3600, "30h"), (50 * 3600, "2d2h")])
def test_human_duration(seconds, text):
    assert objects.human_duration(seconds) == text


def test_node_status_text():
    assert objects.node_status_text({}) == "Unknown"
    assert objects.node_status_text({"status": {"conditions": [{"type": "Ready", "status": "Unknown"}]}}) == "NotReady"
    assert objects.node_status_text({"status": {"conditions": [{"type": "Ready", "status": "True"}]},
                                     "spec": {"unschedulable": True}}) == "Ready,SchedulingDisabled"


def test_go_durations():
    assert parse_duration("1m30s") == 90 and parse_duration("500ms") == 0.5 and parse_duration("0") == 0
    with pytest.raises(ValueError, match='time: invalid duration "5"'):
        parse_duration("5")

"""The rendered register_node.sh, run for real with sh (kubectl and curl stand in as
scripts that record what they are given): what it creates on a fresh cluster."""
import json
import os
import subprocess

from kubefab.profiles.modern import units as modern_units
from kubefab import registration, render

from modern_fixtures import FAKE_MODERN_PKI, modern_inventory
from test_render import FAKE_PKI, seed_inventory

KUBECTL = """#!/bin/sh
# Each call's verb logged. A fresh cluster (no `exists` file): `get node` finds nothing,
# `create -f -` keeps what it is given. Else the node exists, as the apiserver says it.
here=$(dirname "$0")
case " $* " in
  *" get node "*) echo get >> "$here/calls"; [ -e "$here/exists" ] ;;
  *" create "*) echo create >> "$here/calls"
    if [ -e "$here/exists" ]; then
      echo 'Error from server (AlreadyExists): error when creating "STDIN": nodes "x" already exists' >&2; exit 1
    fi
    cat > "$here/created.json" ;;
  *" label "*) echo label >> "$here/calls" ;;
esac
"""


def calls(tmp_path) -> list[str]:
    return (tmp_path / "calls").read_text().split()


def created(tmp_path, inv, name="azure-prd-02", exists=False) -> dict:
    """The Node object the node's register_node.sh creates (exists: it is there already)."""
    files = render.render_host(inv, inv.host(name), FAKE_MODERN_PKI if (inv.profile.name == "modern") else FAKE_PKI)
    script = next(f.content for p, f in files.items() if p.endswith("/register_node.sh"))
    (tmp_path / "kubectl").write_text(KUBECTL)
    (tmp_path / "curl").write_text("#!/bin/sh\necho ok\n")  # the apiserver is healthy
    for tool in ("kubectl", "curl"):
        os.chmod(tmp_path / tool, 0o755)
    (tmp_path / "register_node.sh").write_text(script)
    if exists:
        (tmp_path / "exists").touch()
    env = {**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}"}
    subprocess.run(["sh", str(tmp_path / "register_node.sh"), name, "https://10.1.0.1:6443"],
                   env=env, check=True, capture_output=True)
    made = tmp_path / "created.json"
    return json.loads(made.read_text()) if made.exists() else {}


KUBELET_SETS = {"labels": {"kubernetes.io/hostname": "azure-prd-02", "kubernetes.io/os": "linux",
                           "kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux",
                           "beta.kubernetes.io/arch": "amd64"},
                "annotations": {"volumes.kubernetes.io/controller-managed-attach-detach": "true"}}


def test_a_modern_node_is_created_with_kubefabs_record_of_its_labels_and_what_a_kubelet_sets(tmp_path):
    """Born recorded: the master has no annotate to run for it (a 20-node first deploy ran
    19 in a row after the nodes had started). And born as a kubelet registering itself
    would make it (kubelet_node_status.go): hostname, os and arch labels, the attach-detach
    annotation, or hostname scheduling and attachable volumes break."""
    inv = modern_inventory("modern-1.37", bin_dir=str(tmp_path))
    host = inv.host("azure-prd-02")
    meta = created(tmp_path, inv)["metadata"]
    assert meta["labels"] == {**KUBELET_SETS["labels"], **modern_units.self_labels(inv, host)}
    assert meta["annotations"] == {**registration.record(inv.node_labels(host)), **KUBELET_SETS["annotations"]}
    assert calls(tmp_path) == ["create"]  # one kubectl: a fresh node is created, not looked up first


def test_a_modern_node_that_exists_gets_its_labels(tmp_path):
    inv = modern_inventory("modern-1.37", bin_dir=str(tmp_path))
    assert created(tmp_path, inv, exists=True) == {}
    assert calls(tmp_path) == ["create", "label"]


def test_a_v1_node_is_created_as_the_original_did(tmp_path):
    inv = seed_inventory(bin_dir=str(tmp_path))
    meta = created(tmp_path, inv)["metadata"]
    assert meta == {"name": "azure-prd-02", "labels": inv.node_labels(inv.host("azure-prd-02"))}
    assert calls(tmp_path) == ["get", "create"]

"""fab upgrade on the lab's real hosts across one minor of the modern profile (v1.36.4
to v1.37.1, both served by the lab's mirror at once): kubefab's own etcd first (3.6 to
3.7 by versions.MINORS; the lab serves Debian's etcd under both names), then the
apiserver, then the controller-manager and scheduler, then the nodes (journal
timestamps); a pod placed on a node before the upgrade evicted by the drain (the
stand-in's eviction API, the real kubectl of each minor); nodes back uncordoned at the
new version. Refused before any change: skipping a minor. Then fab rollback refuses (the
last run changed the release), a patch upgrade works the same way, and the patch
downgrade the refusal names works."""
import json
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from kubefab.inventory import load
from kubefab.layout import stamp_path
from kubefab_lab import Lab, kubectls

from .conftest import NET, ROOT, free_port_pair, lab_prerequisites, slotted
from .helpers import fab, on_host
from .test_upgrade import last_start

pytestmark = pytest.mark.lab

OLD, NEW = "v1.36.4", "v1.37.1"
MASTER = "azure-prd-01"
NODES = ["azure-prd-02", "azure-prd-03", "azure-prd-04", "ded-prd-01"]
POD = {"kind": "Pod", "apiVersion": "v1", "metadata": {"name": "web", "namespace": "default"},
       "spec": {"nodeName": "azure-prd-02", "containers": [{"name": "web", "image": "nginx"}]}}


@pytest.fixture(scope="module")
def modern_lab():
    reason = lab_prerequisites()
    if reason:
        pytest.skip(f"no lab: {reason}")
    lab = Lab(Path(f"/var/lib/kubefab/{slotted('lab-upgrade')}"), ROOT / "build/lab-upgrade",
              first_address=40, net=NET, etcd_port=free_port_pair(), cgroup=slotted("lab-upgrade"))
    lab.up(ROOT / "hosts.yaml", version=OLD)
    yield lab
    lab.down()


def kubectl(inventory, minor, *args, stdin=None):
    admin = load(inventory).kubernetes.pki_dir / "admin.kubeconfig"
    return subprocess.run([str(kubectls.ensure(minor)), "--kubeconfig", str(admin), *args], input=stdin,
                          capture_output=True, text=True, check=True, timeout=60)


def nodes(inventory, minor) -> dict:
    items = json.loads(kubectl(inventory, minor, "get", "nodes", "-o", "json").stdout)["items"]
    return {i["metadata"]["name"]: i for i in items}


def at(lab, version, serve=True):
    """The lab inventory at another release, served by the lab's mirror beside the others."""
    data = yaml.safe_load(lab.inventory_path.read_text())
    data["kubernetes"]["version"] = version
    if serve:
        url, sums = lab.serve_mirror(version)
        data["kubernetes"].update(mirror=url, sha256=dict(sorted(sums.items())))
    path = lab.inventory_path.parent / f"hosts-{version}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def kubelets(inventory, minor) -> dict:
    return {n: (v["status"]["nodeInfo"]["kubeletVersion"], bool(v["spec"].get("unschedulable")))
            for n, v in nodes(inventory, minor).items()}


def test_upgrade_across_a_minor_control_plane_first_then_nodes_drained_then_rollback_refuses(modern_lab):
    old = modern_lab.inventory_path
    fab(old, "deploy")
    assert {n: v["status"]["nodeInfo"]["kubeletVersion"] for n, v in nodes(old, "1.36").items()} \
        == dict.fromkeys(NODES, OLD)
    kubectl(old, "1.36", "create", "--validate=false", "-f", "-", stdin=json.dumps(POD))

    skip = fab(at(modern_lab, "v1.38.0", serve=False), "upgrade", check=False)
    assert skip.returncode == 1 and f"{OLD} -> v1.38.0 skips v1.37; upgrade to v1.37.x first" in skip.stdout

    new = at(modern_lab, NEW)
    dry = fab(new, "upgrade", "--dry-run")
    assert f"upgrade {OLD} -> {NEW}: the master first, then 4 node(s) in 4 batch(es) of 1" in dry.stdout, dry.stdout
    master = next(line for line in dry.stdout.splitlines() if line.startswith(f"  master {MASTER}: download "))
    assert "etcd 3.7.1" in master and "kube-apiserver" in master and "kubelet" not in master, master
    node = next(line for line in dry.stdout.splitlines() if line.startswith("  batch 1/4 azure-prd-02: "))
    assert "kubelet" in node and "kube-apiserver" not in node and "etcd" not in node, node
    assert "web" in kubectl(old, "1.36", "get", "pods", "-o", "name").stdout  # the dry run changed nothing

    before = time.time()
    r = fab(new, "upgrade", "--drain-timeout", "60", "--timeout", "90")
    seen = nodes(new, "1.37")
    for h in NODES:
        assert seen[h]["status"]["nodeInfo"]["kubeletVersion"] == NEW, (h, r.stdout)
        assert not seen[h]["spec"].get("unschedulable"), h
        assert "kubefab.io/cordoned-by" not in (seen[h]["metadata"].get("annotations") or {}), h
    assert "web" not in kubectl(new, "1.37", "get", "pods", "-o", "name").stdout  # evicted by the drain
    assert json.loads(kubectl(new, "1.37", "get", "--raw", "/version").stdout)["gitVersion"] == NEW
    stamp = on_host(new, MASTER, ["cat", stamp_path(load(new).kubernetes.install_dir)]).stdout
    assert stamp.startswith(f"{NEW} ") and " etcd=3.7.1 " in stamp, stamp

    start = {u: last_start(new, MASTER, f"kubernetes.{u}.service")
             for u in ("etcd", "apiserver", "controller-manager", "scheduler")}
    assert before < start["etcd"] < start["apiserver"] < min(start["controller-manager"], start["scheduler"]), start
    kubelet_starts = [last_start(new, h, "kubernetes.kubelet.service") for h in NODES]
    assert max(start.values()) < min(kubelet_starts), (start, kubelet_starts)

    assert fab(new, "upgrade").stdout.count(" unchanged") == 5

    # rollback would put the v1.36 files back beside the v1.37 binaries: refused, nothing changed
    r = fab(new, "rollback", check=False)
    refused = [line for line in r.stdout.splitlines() if line.startswith("refused: ")]
    assert r.returncode == 1 and len(refused) == 1, r.stdout
    assert f"changed the release on {MASTER} ({OLD} -> {NEW})" in refused[0]
    assert f"{NEW} -> {OLD} downgrades a minor" in refused[0]
    assert on_host(new, MASTER, ["cat", stamp_path(load(new).kubernetes.install_dir)]).stdout == stamp

    # a patch upgrade, the same way; its rollback refused too, naming the patch downgrade that works
    patch = at(modern_lab, "v1.37.2")
    fab(patch, "upgrade", "--timeout", "90")
    assert kubelets(patch, "1.37") == dict.fromkeys(NODES, ("v1.37.2", False))
    r = fab(patch, "rollback", check=False)
    assert r.returncode == 1 and f"to go back, set kubernetes.version to {NEW} and run fab upgrade" in r.stdout
    fab(new, "upgrade", "--timeout", "90")
    assert kubelets(new, "1.37") == dict.fromkeys(NODES, (NEW, False))

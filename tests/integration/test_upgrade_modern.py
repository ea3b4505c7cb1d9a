"""fab upgrade on the lab's real hosts across one minor of the modern profile (v1.36.4
to v1.37.1, both served by the lab's mirror at once): kubefab's own etcd first (3.6 to
3.7 by versions.MINORS; the lab serves Debian's etcd under both names), then the
apiserver, then the controller-manager and scheduler, then the nodes (journal
timestamps); a pod placed on a node before the upgrade evicted by the drain (the
stand-in's eviction API, the real kubectl of each minor); nodes back uncordoned at the
new version. Then fab rollback refuses: the last run changed the release."""
import json
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
    import subprocess
    admin = load(inventory).kubernetes.pki_dir / "admin.kubeconfig"
    return subprocess.run([str(kubectls.ensure(minor)), "--kubeconfig", str(admin), *args], input=stdin,
                          capture_output=True, text=True, check=True, timeout=60)


def nodes(inventory, minor) -> dict:
    items = json.loads(kubectl(inventory, minor, "get", "nodes", "-o", "json").stdout)["items"]
    return {i["metadata"]["name"]: i for i in items}


def test_upgrade_across_a_minor_control_plane_first_then_nodes_drained_then_rollback_refuses(modern_lab):
    old = modern_lab.inventory_path
    fab(old, "deploy")
    assert {n: v["status"]["nodeInfo"]["kubeletVersion"] for n, v in nodes(old, "1.36").items()} \
        == dict.fromkeys(NODES, OLD)
    kubectl(old, "1.36", "create", "--validate=false", "-f", "-", stdin=json.dumps(POD))

    url, sums = modern_lab.serve_mirror(NEW)
    data = yaml.safe_load(old.read_text())
    data["kubernetes"].update(version=NEW, mirror=url, sha256=dict(sorted(sums.items())))
    new = old.parent / "hosts-upgrade.yaml"
    new.write_text(yaml.safe_dump(data, sort_keys=False))

    dry = fab(new, "upgrade", "--dry-run")
    assert f"upgrade {OLD} -> {NEW}: the master first, then 4 node(s) in 4 batch(es) of 1" in dry.stdout, dry.stdout
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
    kubelets = [last_start(new, h, "kubernetes.kubelet.service") for h in NODES]
    assert max(start.values()) < min(kubelets), (start, kubelets)

    assert fab(new, "upgrade").stdout.count(" unchanged") == 5

    # rollback would put the v1.36 files back beside the v1.37 binaries: refused, nothing changed
    r = fab(new, "rollback", check=False)
    assert r.returncode != 0 and "changed the release" in r.stdout + r.stderr, (r.stdout, r.stderr)
    assert "put back" not in r.stdout
    assert on_host(new, MASTER, ["cat", stamp_path(load(new).kubernetes.install_dir)]).stdout == stamp

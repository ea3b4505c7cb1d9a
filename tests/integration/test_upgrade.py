"""fab upgrade on the lab's real hosts, across one minor of the v1.0 profile (v1.18.1
to v1.19.2, both served by the lab at once): the control plane before the nodes, a
pod placed on a node evicted by the drain (the stand-in's eviction API, the real
kubectl), nodes back uncordoned at the new version; a node whose new kubelet fails to
start stops the upgrade at its batch, and a re-run after the fault is removed finishes."""
import json
import re
import subprocess

import pytest

from kubefab.inventory import load

from .helpers import fab, kubectl, nodes, on_host, real_kubectl
from .test_faults import release, variant

pytestmark = pytest.mark.lab

OLD, NEW = "v1.18.1", "v1.19.2"
NODES = ["azure-prd-02", "azure-prd-03", "azure-prd-04", "ded-prd-01"]
BROKEN = "azure-prd-03"
DROP_IN = "/etc/systemd/system/kubernetes.kubelet.service.d/kubefab-test-fault.conf"
POD = {"kind": "Pod", "apiVersion": "v1", "metadata": {"name": "web", "namespace": "default"},
       "spec": {"nodeName": "azure-prd-02", "containers": [{"name": "web", "image": "nginx"}]}}


def at(lab, inventory, version):
    def change(data):
        data["kubernetes"]["version"] = version
        release(*lab.serve_release(version))(data)
    return variant(inventory, version, change)


def last_start(inventory, host, unit) -> float:
    """When the unit last started, by the journal's own timestamps (one clock: the
    lab's hosts share the machine's)."""
    out = on_host(inventory, host, ["journalctl", "-u", unit, "-o", "short-unix", "--no-pager"]).stdout
    return max(float(line.split()[0]) for line in out.splitlines() if re.search(r"\bStarted\b", line))


def test_upgrade_across_a_minor_stops_at_a_failed_batch_and_a_rerun_finishes(lab):
    old, new = at(lab, lab.inventory_path, OLD), at(lab, lab.inventory_path, NEW)
    # The session's lab may run another version (earlier files deploy v1.0.1), and deploy
    # never changes a running cluster's version: a cluster built at OLD from bare hosts.
    fab(old, "reset", "--yes")
    fab(old, "deploy")
    assert {n: v["status"]["nodeInfo"]["kubeletVersion"] for n, v in nodes(old).items()} == dict.fromkeys(NODES, OLD)
    subprocess.run([real_kubectl(), "-s", load(old).master_url, "create", "--validate=false", "-f", "-"],
                   input=json.dumps(POD), text=True, check=True, capture_output=True, timeout=60)

    dry = fab(new, "upgrade", "--dry-run")
    assert f"upgrade {OLD} -> {NEW}: the master first, then 4 node(s) in 4 batch(es) of 1" in dry.stdout
    assert "web" in kubectl(old, "get", "pods", "-o", "name").stdout  # the dry run changed nothing

    on_host(old, BROKEN, ["sh", "-c", f"mkdir -p {DROP_IN.rsplit('/', 1)[0]} && printf '[Service]\\n"
                                      f"ExecStartPre=/bin/false\\n' > {DROP_IN} && systemctl daemon-reload"])
    r = fab(new, "upgrade", "--drain-timeout", "60", "--timeout", "60", check=False)
    assert r.returncode == 1, r.stdout
    line = {h: next(l for l in r.stdout.splitlines() if l.startswith(f"  {h} ")) for h in NODES}
    assert "failed" in line[BROKEN] and "kubernetes.kubelet.service" in line[BROKEN], line[BROKEN]
    for h in ("azure-prd-04", "ded-prd-01"):
        assert f"not upgraded: batch 2 failed ({BROKEN})" in line[h]
    seen = nodes(new)
    assert seen["azure-prd-02"]["status"]["nodeInfo"]["kubeletVersion"] == NEW
    assert not seen["azure-prd-02"]["spec"].get("unschedulable")
    assert seen[BROKEN]["spec"].get("unschedulable")  # left cordoned: its kubelet does not run
    for h in ("azure-prd-04", "ded-prd-01"):
        assert seen[h]["status"]["nodeInfo"]["kubeletVersion"] == OLD and not seen[h]["spec"].get("unschedulable")
    assert "web" not in kubectl(new, "get", "pods", "-o", "name").stdout  # evicted by the drain
    assert json.loads(kubectl(new, "get", "--raw", "/version").stdout)["gitVersion"] == NEW

    apiserver = last_start(new, "azure-prd-01", "kubernetes.apiserver.service")
    assert apiserver < last_start(new, "azure-prd-02", "kubernetes.kubelet.service")

    on_host(new, BROKEN, ["sh", "-c", f"rm -f {DROP_IN} && systemctl daemon-reload"])
    r = fab(new, "upgrade", "--timeout", "60")
    assert re.search(r"^  azure-prd-02 +unchanged", r.stdout, re.M), r.stdout  # done before: skipped
    seen = nodes(new)
    for h in NODES:
        assert seen[h]["status"]["nodeInfo"]["kubeletVersion"] == NEW, h
        assert not seen[h]["spec"].get("unschedulable"), h
        assert "kubefab.io/cordoned-by" not in (seen[h]["metadata"].get("annotations") or {}), h
    assert fab(new, "upgrade").stdout.count(" unchanged") == 5

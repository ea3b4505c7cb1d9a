"""A modern deploy's new steps on fake hosts (tests/fakehost.py): preflight before any
change (a failing host left untouched, the others going on, a waiver), the admin bound
by RBAC through the super-admin, the cluster add-ons applied once and deleted when
opted out, and status reporting them."""
from __future__ import annotations

import threading
import time

import pytest

from kubefab.inventory import load
from kubefab.ops import status as status_op
from kubefab.ops.deploy import Deploy, Options
from kubefab.layout import KUBELET, LOCK_DIR

from fakehost import FakeCluster, recap

MASTER, NODE, OTHER = "azure-prd-01", "azure-prd-02", "ded-prd-01"
PLAIN_ETCD = "version: v1.37.1\n  etcd_insecure: true"


@pytest.fixture
def modern(inv):
    """The repo's hosts.yaml at v1.37.1, its plain-http etcd accepted."""
    path = inv.path.parent / "hosts-modern.yaml"
    path.write_text(inv.path.read_text().replace("version: v1.0.1", PLAIN_ETCD))
    return load(path)


def variant(inv, old: str, new: str):
    path = inv.path.parent / "hosts-variant.yaml"
    text = inv.path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    return load(path)


def deploy(inv, cluster, ignore=(), **opts) -> int:
    return Deploy(inv, list(inv.hosts), Options(**{"timeout": 5, **opts}), connect=cluster.connect,
                  ignore_preflight=tuple(ignore)).run()


def test_a_host_failing_preflight_is_left_untouched_and_the_others_go_on(modern, capsys):
    cluster = FakeCluster(modern)
    cluster[OTHER].system["/proc/net/tcp"] += ("   0: 00000000:280A 00000000:0000 0A 00000000:00000000 00:00000000 "
                                               "00000000     0        0 9 1\n")  # something on 10250
    del cluster[NODE].system["/usr/sbin/iptables"]
    assert deploy(modern, cluster) == 1
    out = capsys.readouterr().out
    assert (f"[{OTHER}] preflight port:10250 failed: port 10250 is taken by a process that is not kubefab's "
            f"{KUBELET}; fix: stop what listens on it") in out
    assert f"[{NODE}] preflight binary:iptables failed: iptables is not installed; fix: install it (iptables)" in out
    rows = recap(out)
    for name in (OTHER, NODE):
        assert rows[name][0] == "failed" and "not touched: preflight" in rows[name][1]
        written = [p for p in cluster[name].files if not p.startswith(LOCK_DIR)]  # the lock's release aside
        assert not written and not cluster[name].calls("install") and not cluster[name].units
    assert rows[MASTER][0] == rows["azure-prd-03"][0] == "changed"
    assert set(cluster.api.nodes) == {"azure-prd-03", "azure-prd-04"}  # the others registered


def test_a_dry_run_says_the_failures_too_and_a_waiver_lets_the_host_through(modern, capsys):
    cluster = FakeCluster(modern)
    cluster[NODE].system["/proc/swaps"] += "/swapfile file 1048572 0 -2\n"  # a warning, never a refusal
    cluster[OTHER].faults.add("disk-low")
    assert deploy(modern, cluster, dry_run=True) == 1
    out = capsys.readouterr().out
    assert f"[{OTHER}] preflight disk failed: 100 MiB free on /var/lib, wanted 1 GiB" in out
    assert f"[{NODE}] preflight swap warning: 1 swap device(s) on" in out
    assert recap(out)[NODE][0] == "pending" and not any(m.files for m in cluster.machines.values())
    assert deploy(modern, cluster, ignore=["disk"]) == 0
    out = capsys.readouterr().out
    assert f"[{OTHER}] preflight disk failed: 100 MiB free on /var/lib, wanted 1 GiB; fix: free space on the " \
           "file system of /var/lib (waived)" in out
    assert recap(out)[OTHER][0] == "changed"


def test_the_admin_is_bound_as_the_super_admin_then_the_add_ons_applied_once(modern, capsys):
    cluster = FakeCluster(modern)
    cluster.api.rbac = True  # the admin is refused until its group is bound
    assert deploy(modern, cluster) == 0
    out = capsys.readouterr().out
    assert cluster.api.applied[:2] == ["bind", "apply"] and cluster.api.applied.count("bind") == 1
    [bind] = cluster[MASTER].calls("apply-as")
    assert b"client-certificate-data" not in b"".join(a.encode() for a in bind.argv)  # the credential: stdin only
    assert f"[{MASTER}] bound the admin's group to cluster-admin, as the super-admin" in out
    assert f"[{MASTER}] applied add-on coredns v1.14.6 (6 objects)" in out
    assert ("Deployment", "kube-system", "coredns") in cluster.api.objects
    assert cluster.api.objects[("Service", "kube-system", "kube-dns")]["spec"]["clusterIP"] == "10.100.0.10"

    applies = len(cluster.api.applied)
    assert deploy(modern, cluster) == 0  # nothing differs: nothing applied, no lock taken
    out = capsys.readouterr().out
    assert len(cluster.api.applied) == applies and "add-on" not in out
    assert all(row[0] == "unchanged" for row in recap(out).values())


def test_a_fresh_clusters_add_ons_are_applied_without_a_diff_first_a_running_ones_compared(modern, capsys):
    """The probe found no apiserver: nothing to compare with, server-side apply keeps what
    is as wanted. On a running cluster an add-on changed by hand is compared (its diff in a
    dry run) and applied again."""
    cluster = FakeCluster(modern)
    assert deploy(modern, cluster) == 0
    assert f"[{MASTER}] applied add-on coredns v1.14.6 (6 objects)" in capsys.readouterr().out
    kubectl = [c.argv for c in cluster[MASTER].log if c.what == "kubectl"]
    assert [a for a in kubectl if "apply" in a and "--server-side" in a] and not [a for a in kubectl if "diff" in a]
    cluster.api.objects[("Deployment", "kube-system", "coredns")]["spec"]["replicas"] = 5
    assert deploy(modern, cluster, dry_run=True) == 0
    out = capsys.readouterr().out
    assert "Deployment.kube-system.coredns (live, as kubefab would apply it)" in out
    assert f"[{MASTER}] apply add-on coredns v1.14.6: 1 changed object(s)" in out
    assert deploy(modern, cluster) == 0
    assert cluster.api.objects[("Deployment", "kube-system", "coredns")]["spec"]["replicas"] == 2


def holding(cluster, host: str, hold) -> None:
    """Each command on `host` goes through hold(argv, stdin) first, outside the fake's lock
    (the other hosts' commands go on meanwhile)."""
    connect = cluster.connect

    def connecting(h):
        cxn = connect(h)
        if h.name == host:
            run = cxn.run

            def held(argv, **kwargs):
                hold(argv, kwargs.get("stdin"))
                return run(argv, **kwargs)
            cxn.run = held
        return cxn
    cluster.connect = connecting


def test_the_nodes_start_once_the_apiserver_answers_not_after_kubefabs_objects(modern):
    """The nodes need the apiserver, not kubefab's own objects (the apiserver's kubelet
    client binding) nor the admin's binding: on a fresh cluster (the admin refused first,
    bound as the super-admin, then asked again) they start meanwhile."""
    cluster = FakeCluster(modern)
    cluster.api.rbac = True
    nodes = [h.name for h in modern.hosts if not h.is_master]
    all_started = lambda: all(cluster[n].unit(KUBELET).active == "active" for n in nodes)  # noqa: E731
    seen = []

    def hold(argv, stdin):
        if argv[0].endswith("/kubectl") and "apply" in argv and b"apiserver-kubelet-client" in (stdin or b""):
            until = time.monotonic() + 2  # real time: only a failure waits it out
            while not all_started() and time.monotonic() < until:
                time.sleep(0.005)
            seen.append(all_started())
    holding(cluster, MASTER, hold)
    assert deploy(modern, cluster) == 0
    assert seen and all(seen)


def test_an_add_on_opted_out_is_deleted_and_said_in_the_plan(modern, capsys):
    cluster = FakeCluster(modern)
    assert deploy(modern, cluster) == 0
    off = variant(modern, "  etcd_insecure: true", "  etcd_insecure: true\n  addons: {coredns: false}")
    capsys.readouterr()
    assert deploy(off, cluster, dry_run=True) == 0
    out = capsys.readouterr().out
    assert f"[{MASTER}] delete add-on coredns (6 objects): kubernetes.addons.coredns is false" in out
    assert ("Deployment", "kube-system", "coredns") in cluster.api.objects
    assert deploy(off, cluster) == 0
    assert f"[{MASTER}] deleted add-on coredns (kubernetes.addons.coredns is false)" in capsys.readouterr().out
    assert not [k for k in cluster.api.objects if k[2] in ("coredns", "kube-dns", "system:coredns")]
    assert deploy(off, cluster) == 0 and "add-on" not in capsys.readouterr().out  # absent stays absent


def test_status_reports_each_add_on(modern, capsys):
    cluster = FakeCluster(modern)
    assert deploy(modern, cluster) == 0
    capsys.readouterr()
    assert status_op.run(modern, connect=cluster.connect) == 0
    assert "add-on coredns 2/2 available (registry.k8s.io/coredns/coredns:v1.14.6)" in capsys.readouterr().out
    del cluster.api.objects[("Deployment", "kube-system", "coredns")]
    assert status_op.run(modern, connect=cluster.connect) == 1
    assert f"{MASTER}: add-on coredns missing; kubefab deploy applies it" in capsys.readouterr().out

"""A no-op modern deploy asks the master nothing beyond its probe: the add-ons' live
objects come with the probe, and an add-on found as kubefab last left it (same manifest,
same live values of the fields kubefab sets, same objects) is not compared again with
`kubectl diff`. Drift still is: any write to those fields, a deleted object, another
manifest brings the diff (and the apply) back. On fake hosts (tests/fakehost.py)."""
from __future__ import annotations

import pytest

from fakehost import Counting, FakeCluster, recap
from test_workloads_fake import MASTER, deploy, variant
from test_workloads_fake import modern  # noqa: F401 (fixture)

DEPLOYMENT, CONFIG = ("Deployment", "kube-system", "coredns"), ("ConfigMap", "kube-system", "coredns")


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    """Each test its own user cache (kubefab.usercache): what one found settled is not another's."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def kubectl_verbs(cluster) -> list[str]:
    """What kubefab asked kubectl on the master (outside the probe), in order."""
    return [c.argv[3] for c in cluster[MASTER].calls("kubectl")]


def run(inv, cluster, capsys) -> tuple[list[str], str]:
    """A deploy: the kubectl verbs it used on the master, and what it printed."""
    before = len(kubectl_verbs(cluster))
    assert deploy(inv, cluster) == 0
    return kubectl_verbs(cluster)[before:], capsys.readouterr().out


def test_a_no_op_deploy_asks_the_master_nothing_beyond_its_probe(modern, capsys):
    cluster = FakeCluster(modern)
    verbs, _ = run(modern, cluster, capsys)
    assert verbs[-1] == "apply"  # the applied objects: what the apply answered, no get after
    verbs, out = run(modern, cluster, capsys)
    assert verbs == [] and all(row[0] == "unchanged" for row in recap(out).values())
    counting = Counting(cluster)
    from kubefab.ops.deploy import Deploy, Options
    assert Deploy(modern, list(modern.hosts), Options(timeout=5), connect=counting).run() == 0
    assert counting.trips[MASTER] == 1  # the probe, the nodes and the add-ons in it


def test_a_write_to_a_field_kubefab_sets_is_seen_and_put_back(modern, capsys):
    cluster = FakeCluster(modern)
    run(modern, cluster, capsys)
    cluster.api.objects[DEPLOYMENT]["spec"]["replicas"] = 5  # kubectl scale, by hand
    verbs, out = run(modern, cluster, capsys)
    assert verbs[:2] == ["diff", "apply"] and f"[{MASTER}] applied add-on coredns" in out
    assert cluster.api.objects[DEPLOYMENT]["spec"]["replicas"] == 2
    assert run(modern, cluster, capsys)[0] == []  # settled again


def test_a_deleted_object_is_made_again(modern, capsys):
    cluster = FakeCluster(modern)
    run(modern, cluster, capsys)
    del cluster.api.objects[CONFIG]  # kubectl delete configmap, by hand
    verbs, out = run(modern, cluster, capsys)
    assert verbs[:2] == ["diff", "apply"] and CONFIG in cluster.api.objects


def test_what_kubefab_does_not_set_is_left_be_without_a_diff(modern, capsys):
    """A label someone else adds, a Deployment's status: server-side apply leaves them be,
    and so does the plan, without asking."""
    cluster = FakeCluster(modern)
    run(modern, cluster, capsys)
    cluster.api.objects[DEPLOYMENT]["metadata"]["labels"]["team"] = "dns"
    assert run(modern, cluster, capsys)[0] == []


def test_another_manifest_is_compared_and_applied(modern, capsys):
    cluster = FakeCluster(modern)
    run(modern, cluster, capsys)
    upstream = variant(modern, "  etcd_insecure: true", "  etcd_insecure: true\n  dns_upstream: [9.9.9.9]")
    verbs, out = run(upstream, cluster, capsys)
    assert verbs[:2] == ["diff", "apply"]
    assert "9.9.9.9" in cluster.api.objects[CONFIG]["data"]["Corefile"]


def test_without_what_this_user_found_before_the_diff_runs_once(modern, capsys, tmp_path, monkeypatch):
    """Another operator (another cache): compared once, found as wanted, settled."""
    cluster = FakeCluster(modern)
    run(modern, cluster, capsys)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "another"))
    assert run(modern, cluster, capsys)[0] == ["diff"]
    assert run(modern, cluster, capsys)[0] == []

"""The probe's arguments and its output parsed (the probe itself, by the real sh and the
fake host: test_host_scripts.py)."""
import base64

import pytest

from kubefab import facts


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_parse_files_units_stamp_lock_and_api():
    out = "\n".join([
        "sum\t/etc/kubernetes.env\t" + "a" * 64,
        "stat /etc/kubernetes.env 644 root root",
        "unit\tActiveState=active",
        "unit\tId=kubernetes.apiserver.service",
        "unit\tNeedDaemonReload=no",
        "unit\tUnitFileState=enabled",
        "unit\t",
        "unit\tId=kubernetes.master.target",
        "unit\tUnitFileState=",
        "unit\tActiveState=inactive",
        "unit\tNeedDaemonReload=yes",
        "stamp\t" + b64("v1.0.1 url sha\n"),
        "lock\t" + b64("ops@box pid 12\n"),
        "healthz\t" + b64("ok"),
        "list\thttp://127.0.0.1:8080/api/v1/nodes\t" + b64('{"kind": "NodeList", "items": []}'),
    ])
    got = facts.parse(out, ["/etc/kubernetes.env", "/opt/bin/wupiao"], "http://127.0.0.1:8080/api/v1/nodes")
    assert got.files == {"/etc/kubernetes.env": facts.FileFact("a" * 64, 0o644, "root", "root"),
                         "/opt/bin/wupiao": None}
    assert got.units == {
        "kubernetes.apiserver.service": facts.UnitFact("enabled", "active", False),
        "kubernetes.master.target": facts.UnitFact("", "inactive", True),
    }
    assert (got.stamp, got.holder, got.healthz, got.nodes_json) == \
        ("v1.0.1 url sha", "ops@box pid 12", "ok", '{"kind": "NodeList", "items": []}')
    assert got.lists == {}  # the nodes' list is the nodes, not an add-on's


def test_a_node_list_that_is_no_node_list_is_no_answer():
    """A 403's Status (the admin not bound yet) or a cut answer: the nodes are unknown,
    never an empty cluster whose every node would be registered again."""
    url = "https://10.1.0.1:6443/api/v1/nodes"
    for body in ('{"kind": "Status", "code": 403}', '{"kind": "NodeList", "ite', "[]"):
        assert facts.parse(f"list\t{url}\t{b64(body)}\n", (), url).nodes_json is None, body


def test_parse_nothing_installed():
    assert facts.parse("", ["/x"]) == facts.HostFacts(files={"/x": None})


@pytest.mark.parametrize("bad", [["a\nb"], [""]])
def test_probe_refuses_an_argument_it_could_not_pass_whole(bad):
    with pytest.raises(ValueError, match="would not come back whole"):
        facts.probe_args("/n", "/n", [], [], healthz=bad)


def test_parse_owed_marks_and_staged_leftovers():
    """OWED_DIR's marks: unit and the run that owes it; STAGE_DIR's entries, sorted."""
    out = "\n".join(["owed\tkubernetes.kubelet.service\t" + b64("run 1\n"), "stage\tup-1", "stage\t.hidden"])
    got = facts.parse(out)
    assert got.owed == {"kubernetes.kubelet.service": "run 1"}
    assert got.leftovers == (".hidden", "up-1")
    assert (facts.parse("").owed, facts.parse("").leftovers) == ({}, ())


def test_the_masters_probe_lists_the_nodes_in_its_one_curl_and_starts_no_kubectl(inv, cluster):
    """kubectl get nodes started a program that asked the API's discovery first: the
    master's probe took the longest of a no-op's round trips (1.6-2.8 s at 100 nodes)."""
    from kubefab.ops.host import probe
    master = inv.master
    probe(cluster.connect(master).open(), inv, {})
    argv = cluster[master.name].calls("probe")[-1].argv
    assert not any("kubectl" in a for a in argv), argv
    assert any(line.endswith("/api/v1/nodes") for a in argv for line in a.split("\n")), argv

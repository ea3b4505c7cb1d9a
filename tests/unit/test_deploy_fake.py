"""fab deploy's orchestration on fake hosts (tests/fakehost.py): what each host ends
up with, which units restarted how often, what the recap says, the exit code."""
import re

import pytest

from kubefab.deploy import Deploy, Options
from kubefab.layout import APISERVER, LOCK_DIR

MASTER, NODE = "azure-prd-01", "azure-prd-02"


def deploy(inv, cluster, hosts=None, **opts):
    targets = [h for h in inv.hosts if hosts is None or h.name in hosts]
    return Deploy(inv, targets, Options(**opts), connect=cluster.connect).run()


def recap(out: str) -> dict[str, tuple[str, str]]:
    """host -> (changed/unchanged/failed, the rest of its line), from the RECAP."""
    rows = out.split("\nRECAP\n", 1)[1].splitlines()
    return {m[1]: (m[2], m[3]) for m in map(re.compile(r"  (\S+)\s+(\w+)\s*(.*)").fullmatch, rows) if m}


@pytest.fixture
def converged(inv, cluster, capsys):
    assert deploy(inv, cluster) == 0, capsys.readouterr().out
    capsys.readouterr()
    return cluster


def changed_flag(inv):
    """The inventory with the apiserver's service range changed (one flag, the master's)."""
    path = inv.path.parent / "hosts-changed.yaml"
    path.write_text(inv.path.read_text().replace("10.100.0.0/16", "10.200.0.0/16"))
    from kubefab.inventory import load
    return load(path)


def test_master_only_hosts_activates_the_master_once(inv, converged, capsys):
    """Regression: --hosts <master> restarted each changed unit twice and listed it twice."""
    before = converged[MASTER].starts()
    assert deploy(changed_flag(inv), converged, hosts=[MASTER]) == 0
    out = capsys.readouterr().out
    after = converged[MASTER].starts()
    assert {u: after[u] - before[u] for u in after if after[u] != before[u]} == {APISERVER: 1}
    (status, what), = recap(out).values()
    assert status == "changed" and what.count("restarted") == 1 and what.endswith(f"restarted {APISERVER}")


def test_node_only_hosts_with_a_failing_probe_fails_that_node_alone(inv, converged, capsys):
    """Regression: the master was reported `failed KeyError: '<master>'` and the hint
    said to re-run both."""
    converged[NODE].faults.add("probe")
    assert deploy(inv, converged, hosts=[NODE]) == 1
    out = capsys.readouterr().out
    assert recap(out) == {MASTER: ("unchanged", ""),
                          NODE: ("failed", "probe failed: sudo: a password is required")}
    assert f"Re-run just the failed hosts: fab deploy --hosts {NODE}\n" in out
    assert LOCK_DIR not in converged[MASTER].dirs

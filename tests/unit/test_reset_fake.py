"""fab reset on fake hosts (tests/fakehost.py), one table of scenarios: the recap per
host, what is left on each host, and that a deploy afterwards works as on fresh hosts."""
from dataclasses import dataclass, field

import pytest

from kubefab.ops.deploy import Deploy
from kubefab.layout import BACKUP_DIR, LOCK_DIR, UNIT_DIR
from kubefab.ops.operation import Options
from kubefab.ops.reset import Reset, footprints

from fakehost import FakeCluster, FakeFile, recap

MASTER, NODE, OTHER = "azure-prd-01", "azure-prd-02", "ded-prd-01"
ALL = [MASTER, NODE, "azure-prd-03", "azure-prd-04", OTHER]
BEFORE = {f"{UNIT_DIR}/etcd2.service": "[Unit]\n", f"{UNIT_DIR}/weave-network.target": "[Unit]\n",
          "/home/core/.ssh/authorized_keys": "ssh-ed25519 AAAA lab\n"}  # what the hosts had before kubefab


def run(op, inv, cluster, hosts=None, **opts) -> int:
    targets = [h for h in inv.hosts if hosts is None or h.name in hosts]
    return op(inv, targets, Options(**opts), connect=cluster.connect).run()


def kubefabs(inv, cluster, name) -> list[str]:
    """What of kubefab's footprint the host still has."""
    fp = footprints(inv, [inv.host(name)])[name]
    return sorted(f for f in cluster[name].files for p in fp.paths if f == p or f.startswith(p + "/"))


@dataclass
class Case:
    start: str = "converged"  # or "bare"
    hosts: list | None = None
    faults: dict = field(default_factory=dict)
    opts: dict = field(default_factory=dict)
    code: int = 0
    recap: dict = field(default_factory=dict)  # host -> status or (status, text in its line)
    cleared: tuple = ()  # hosts left with nothing of kubefab's


CASES = {
    "every host": Case(recap={h: ("changed", "stopped and disabled") for h in ALL}, cleared=tuple(ALL)),
    "dry run": Case(opts={"dry_run": True}, recap={h: ("pending", "stop and disable") for h in ALL}),
    "one node": Case(hosts=[NODE], recap={NODE: "changed"}, cleared=(NODE,)),
    "bare hosts": Case("bare", recap={h: "unchanged" for h in ALL}, cleared=tuple(ALL)),
    "a host that does not answer": Case(
        faults={OTHER: {"connect"}}, code=1, recap={NODE: "changed", OTHER: ("failed", "no route to host")},
        cleared=tuple(ALL[:-1])),
    "a read-only host": Case(
        faults={NODE: {"read-only"}}, code=1, recap={MASTER: "changed", NODE: ("failed", "reset incomplete: ")},
        cleared=tuple(h for h in ALL if h != NODE)),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_reset(inv, case, capsys):
    cluster = FakeCluster(inv)
    for m in cluster.machines.values():
        m.files.update({p: FakeFile(c) for p, c in BEFORE.items()})
    if case.start == "converged":
        assert run(Deploy, inv, cluster) == 0
    before = {h: kubefabs(inv, cluster, h) for h in ALL}
    for host, faults in case.faults.items():
        cluster[host].faults |= faults
    capsys.readouterr()

    code = run(Reset, inv, cluster, case.hosts, **case.opts)
    out = capsys.readouterr().out

    assert code == case.code, out
    rows = recap(out)
    for host, want in case.recap.items():
        status, *texts = (want,) if isinstance(want, str) else want
        assert rows[host][0] == status and all(t in rows[host][1] for t in texts), (host, rows[host])
    for h in ALL:
        m = cluster[h]
        assert kubefabs(inv, cluster, h) == ([] if h in case.cleared else before[h]), h
        assert all(m.files[p].content == c for p, c in BEFORE.items()), "what was there before stays"
        if h in case.cleared:
            assert not any(u.active == "active" or u.enabled for u in m.units.values()), h
        assert f"{LOCK_DIR}/holder" not in m.files, "the lock released"


def test_dry_run_lists_every_unit_and_path(inv, cluster, capsys):
    assert run(Deploy, inv, cluster) == 0
    capsys.readouterr()
    assert run(Reset, inv, cluster, dry_run=True) == 0
    out = capsys.readouterr().out
    assert (f"[{NODE}] stop and disable kubernetes.node.target, kubernetes.proxy.service, "
            f"kubernetes.kubelet.service, kubernetes.register-node.service, kubernetes.download.service") in out
    assert f"[{NODE}] remove /opt/kubernetes/ (folder, 1 files)" in out
    assert f"[{NODE}] remove /etc/kubernetes.env" in out and f"[{NODE}] remove /opt/bin/kubectl" in out


def test_after_a_reset_a_deploy_works_as_on_fresh_hosts(inv, cluster, capsys):
    assert run(Deploy, inv, cluster) == 0
    assert run(Deploy, inv, cluster) == 0  # nothing changed: no backups yet
    assert run(Reset, inv, cluster) == 0
    assert not any(p.startswith(BACKUP_DIR) for m in cluster.machines.values() for p in m.files)
    capsys.readouterr()
    assert run(Deploy, inv, cluster) == 0
    rows = recap(capsys.readouterr().out)
    assert {h: s for h, (s, _) in rows.items()} == {h: "changed" for h in ALL}
    assert all(cluster.kubelet_ready(h) for h in ALL[1:])
    assert run(Reset, inv, cluster) == 0 and run(Reset, inv, cluster) == 0

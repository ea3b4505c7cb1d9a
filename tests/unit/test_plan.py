"""plan_host as a table: facts in, steps out; the no-op case is an empty plan."""
import pytest

from kubefab.facts import FileFact, HostFacts, UnitFact
from kubefab.model import Host
from kubefab.plan import HostPlan, Write, diff, digest, plan_host
from kubefab.render import File

HOST = Host("azure-prd-01", "10.1.0.1", "master")
UNITS = ("kubernetes.download.service", "kubernetes.apiserver.service", "kubernetes.scheduler.service")
TARGET = "kubernetes.master.target"
API = "/etc/systemd/system/kubernetes.apiserver.service"
ENV = "/etc/kubernetes.env"
CFG = "/home/core/.dockercfg"
WANTED = {
    API: File(API, "[Service]\nExecStart=/x\n", 0o644, restarts=("kubernetes.apiserver.service",)),
    ENV: File(ENV, "KUBE_VERSION=v1.0.1\n", 0o644),
    CFG: File(CFG, '{"quay.io": {"auth": "T"}}\n', 0o600, "core", "core", secret=True),
}


def fact(f):
    return FileFact(digest(f.content), f.mode, f.owner, f.group)


def converged(**changes):
    files = {p: fact(f) for p, f in WANTED.items()}
    units = {u: UnitFact("enabled", "active") for u in (*UNITS, TARGET)}
    base = dict(files=files, units=units, stamp="STAMP")
    base.update(changes)
    return HostFacts(**base)


def plan(facts):
    return plan_host(HOST, WANTED, facts, units=UNITS, target=TARGET, stamp="STAMP")


def test_converged_host_is_a_noop():
    p = plan(converged())
    assert p == HostPlan(HOST) and not p.changes
    assert p.steps() == ["no changes: files, units and release already as wanted"]


def test_fresh_host_gets_everything():
    p = plan(HostFacts(files={p: None for p in WANTED}))
    assert [w.action for w in p.writes] == ["create"] * 3
    assert p.daemon_reload and p.download
    assert p.enable == (*UNITS, TARGET)
    assert p.restart == ()  # nothing runs yet: starting the target starts it all
    assert p.start == (TARGET, *UNITS)
    assert p.owe == UNITS[1:]  # marked before the writes: the download is a oneshot


@pytest.mark.parametrize("path,content,expect_restart,expect_reload", [
    (API, "[Service]\nExecStart=/y\n", ("kubernetes.apiserver.service",), True),  # a unit: itself only
    (ENV, "KUBE_VERSION=v1.0.2\n", (), False),  # env alone restarts nothing; the stamp drives the download
])
def test_changed_file_restarts_exactly_its_units(path, content, expect_restart, expect_reload):
    facts = converged()
    facts.files[path] = FileFact(digest(content), 0o644, "root", "root")
    p = plan(facts)
    assert [(w.file.path, w.action) for w in p.writes] == [(path, "update")]
    assert p.restart == expect_restart
    assert p.daemon_reload == expect_reload
    assert not p.download and p.start == () and p.enable == ()


def test_mode_drift_is_fixed_without_restarts():
    facts = converged()
    facts.files[CFG] = FileFact(digest(WANTED[CFG].content), 0o644, "core", "core")
    p = plan(facts)
    assert [(w.file.path, w.action) for w in p.writes] == [(CFG, "set mode/owner")]
    assert p.restart == ()


def test_new_release_downloads_and_restarts_running_daemons_not_oneshots():
    p = plan(converged(stamp="OLD"))
    assert p.download and p.writes == ()
    assert p.restart == ("kubernetes.apiserver.service", "kubernetes.scheduler.service")


def test_stopped_unit_starts_the_target_and_disabled_unit_is_enabled():
    facts = converged()
    facts.units["kubernetes.scheduler.service"] = UnitFact("disabled", "failed")
    p = plan(facts)
    assert p.start == (TARGET, "kubernetes.scheduler.service")
    assert p.enable == ("kubernetes.scheduler.service",)
    assert p.restart == ()
    assert p.steps() == ["systemctl daemon-reload",  # systemd holds it: it says enabled only once reloaded
                         "systemctl enable kubernetes.scheduler.service",
                         f"systemctl start {TARGET} kubernetes.scheduler.service"]


def test_a_new_unit_is_enabled_without_a_reload():
    """systemd holds no unit of that name (not-found): it reads the file when first used."""
    facts = converged()
    facts.units["kubernetes.scheduler.service"] = UnitFact("", "inactive", loaded=False)
    assert plan(facts).steps() == ["systemctl enable kubernetes.scheduler.service",
                                   f"systemctl start {TARGET} kubernetes.scheduler.service"]


def test_a_running_unit_whose_file_went_missing_gets_its_new_file_with_a_reload():
    """A reload while its file was gone leaves it running and not-found: systemd does not
    read a new file for it on demand (a restart then fails, 'failed to load properly'),
    only at a reload. Seen on the lab: test_run_safety's read-only unit folder."""
    facts = converged()
    del facts.files[API]
    facts.units["kubernetes.apiserver.service"] = UnitFact("", "active", loaded=False)
    p = plan(facts)
    assert p.daemon_reload and p.steps()[:2] == [f"create {API}", "systemctl daemon-reload"]


def test_a_restart_owed_by_an_earlier_run_is_planned_and_said():
    """Files as wanted, but a run stopped between writing them and restarting: the mark
    it left under OWED_DIR makes the restart; an inactive unit is started instead."""
    facts = converged(owed={"kubernetes.apiserver.service": "run 1", "kubernetes.scheduler.service": "run 1"})
    facts.units["kubernetes.scheduler.service"] = UnitFact("enabled", "inactive")
    p = plan(facts)
    assert p.writes == () and p.owe == ()
    assert p.restart == ("kubernetes.apiserver.service",)
    assert p.start == (TARGET, "kubernetes.scheduler.service")
    assert p.marks == ("kubernetes.apiserver.service", "kubernetes.scheduler.service")
    assert "restart kubernetes.apiserver.service (owed by an earlier run)" in p.steps()


def test_a_change_owes_the_restarts_of_its_units_and_says_no_reason():
    facts = converged(owed={"kubernetes.apiserver.service": "run 1"})
    facts.files[API] = FileFact(digest("old"), 0o644, "root", "root")
    p = plan(facts)
    assert p.owe == ("kubernetes.apiserver.service",) and p.why == {}
    assert "restart kubernetes.apiserver.service" in p.steps()


def test_a_missing_node_restarts_a_running_kubelet_only():
    node = Host("azure-prd-02", "10.1.0.2", "node")
    units = ("kubernetes.download.service", "kubernetes.kubelet.service")
    facts = HostFacts(units={u: UnitFact("enabled", "active") for u in (*units, "kubernetes.node.target")},
                      stamp="STAMP")
    why = "Node azure-prd-02 missing from the cluster"
    p = plan_host(node, {}, facts, units=units, target="kubernetes.node.target", stamp="STAMP", node_missing=why)
    assert p.restart == ("kubernetes.kubelet.service",) and p.owe == () and p.marks == ()
    assert p.steps() == [f"restart kubernetes.kubelet.service ({why})"]
    facts.units["kubernetes.kubelet.service"] = UnitFact("enabled", "failed")
    p = plan_host(node, {}, facts, units=units, target="kubernetes.node.target", stamp="STAMP", node_missing=why)
    assert p.restart == () and p.start == ("kubernetes.node.target", "kubernetes.kubelet.service")


def test_summary_counts_the_writes():
    facts = converged(stamp="OLD")
    facts.files[CFG] = None
    assert plan(facts).summary() == ("write 1 files; run kubernetes.download.service (installed release "
                                     "differs); restart kubernetes.apiserver.service; "
                                     "restart kubernetes.scheduler.service")


def test_unit_changed_on_disk_behind_systemds_back_gets_a_reload():
    facts = converged()
    facts.units["kubernetes.apiserver.service"] = UnitFact("enabled", "active", needs_reload=True)
    assert plan(facts).daemon_reload


def test_diffs_never_show_a_secret():
    d = diff(Write(WANTED[CFG], "update"), '{"quay.io": {"auth": "OLD"}}\n')
    assert d == f"secret changed: {CFG} (content not shown)\n"
    assert "auth" not in d and "OLD" not in d
    assert diff(Write(WANTED[CFG], "create"), None).startswith("secret created")


def test_a_mode_only_repair_of_a_secret_says_the_mode_not_secret_changed():
    assert diff(Write(WANTED[CFG], "set mode/owner"), None) == f"{CFG}: mode/owner -> 0600 core:core\n"


def test_unified_diff_of_an_update():
    d = diff(Write(WANTED[API], "update"), "[Service]\nExecStart=/x --old\n")
    assert "-ExecStart=/x --old\n+ExecStart=/x\n" in d
    assert d.startswith(f"--- {API} (on host)\n+++ {API} (wanted)\n")

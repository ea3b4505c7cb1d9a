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
    assert p.start == TARGET


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
    assert not p.download and p.start is None and p.enable == ()


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
    assert p.start == TARGET and p.enable == ("kubernetes.scheduler.service",)
    assert p.restart == ()


def test_unit_changed_on_disk_behind_systemds_back_gets_a_reload():
    facts = converged()
    facts.units["kubernetes.apiserver.service"] = UnitFact("enabled", "active", needs_reload=True)
    assert plan(facts).daemon_reload


def test_diffs_never_show_a_secret():
    d = diff(Write(WANTED[CFG], "update"), '{"quay.io": {"auth": "OLD"}}\n')
    assert d == f"secret changed: {CFG} (content not shown)\n"
    assert "auth" not in d and "OLD" not in d
    assert diff(Write(WANTED[CFG], "create"), None).startswith("secret created")


def test_unified_diff_of_an_update():
    d = diff(Write(WANTED[API], "update"), "[Service]\nExecStart=/x --old\n")
    assert "-ExecStart=/x --old\n+ExecStart=/x\n" in d
    assert d.startswith(f"--- {API} (on host)\n+++ {API} (wanted)\n")

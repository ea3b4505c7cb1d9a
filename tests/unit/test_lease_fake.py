"""The cluster lock as a lease, on fake hosts: taken on all hosts or none, renewed while
a run runs, lost when someone forces it away (the run then fails), freed by itself
once a killed run's lease ends; `kubefab unlock` refuses a live lease without --force."""
import threading
import time

import pytest

from kubefab.remote import lease
from kubefab.ops.deploy import Deploy
from kubefab.layout import LOCK_DIR, STAGE_DIR
from kubefab.ops.master_restart import MasterRestart
from kubefab.ops.operation import Options
from kubefab.ops.unlock import unlocked

import fakehost
from fakehost import FakeCluster, FakeFile, recap

MASTER, NODE = "azure-prd-01", "azure-prd-02"
FOREIGN = "alice@laptop pid 42 since 2024-01-01 00:00:00 UTC (run 0123456789ab)"


def deploy(inv, cluster, **opts) -> int:
    return Deploy(inv, list(inv.hosts), Options(**opts), connect=cluster.connect).run()


def holders(cluster) -> dict[str, str]:
    return {name: m.held(LOCK_DIR)[0] for name, m in cluster.machines.items() if m.held(LOCK_DIR)}


def connection(cluster, name):
    return cluster.connect(cluster[name].host).open()


@pytest.fixture
def bare_with_a_foreign_lock(inv):
    cluster = FakeCluster(inv)
    cluster[NODE].lock(LOCK_DIR, FOREIGN, str(lease.LEASE), STAGE_DIR)
    return cluster


def test_a_live_lease_on_one_host_refuses_the_run_and_it_keeps_no_lock_anywhere(inv, bare_with_a_foreign_lock, capsys):
    cluster = bare_with_a_foreign_lock
    assert deploy(inv, cluster) == 1
    rows = recap(capsys.readouterr().out)
    assert all(status == "failed" and f"cluster locked by {FOREIGN} (lock on {NODE}, lease expires in 60s)" in why
               for status, why in rows.values()), rows
    assert holders(cluster) == {NODE: FOREIGN}  # ours released on every host that gave it
    assert not any(m.writes for m in cluster.machines.values())


def test_a_killed_runs_lease_expires_and_the_next_run_takes_over(inv, bare_with_a_foreign_lock, capsys):
    cluster = bare_with_a_foreign_lock
    cluster.clock += lease.LEASE + 5  # the killed run stopped renewing a while ago
    assert deploy(inv, cluster) == 0
    out = capsys.readouterr().out
    assert f"[{NODE}] took over the lock of {FOREIGN} (lease expired 5s ago)" in out
    assert holders(cluster) == {}


def test_unlock_refuses_a_live_lease_removes_it_with_force_and_an_expired_one_without(inv, bare_with_a_foreign_lock):
    cluster = bare_with_a_foreign_lock
    cxn = connection(cluster, NODE)
    state, held = lease.remove(cxn)
    assert unlocked(state, held) == (f"refused: locked by {FOREIGN} (lease expires in 60s); its run renews "
                                     f"the lease while it runs: wait for it, or --force")
    assert holders(cluster) == {NODE: FOREIGN}
    assert unlocked(*lease.remove(cxn, force=True)) == f"removed the lock of {FOREIGN} (lease expires in 60s) (forced)"
    assert unlocked(*lease.remove(cxn)) == "no lock"
    cluster[NODE].lock(LOCK_DIR, FOREIGN, str(lease.LEASE), STAGE_DIR)
    cluster.clock += 90
    assert unlocked(*lease.remove(cxn)) == f"removed the lock of {FOREIGN} (lease expired 30s ago)"
    assert holders(cluster) == {}


def test_an_older_kubefabs_lock_without_a_lease_needs_force(inv, cluster):
    cluster[NODE].dirs.add(LOCK_DIR)
    cluster[NODE].files[f"{LOCK_DIR}/holder"] = FakeFile(FOREIGN + "\n")  # and no `expires`
    cxn = connection(cluster, NODE)
    assert unlocked(*lease.remove(cxn)) == (f"refused: locked by {FOREIGN} (no lease: an older kubefab's lock); "
                                            f"if that run is dead: --force")
    assert unlocked(*lease.remove(cxn, force=True)).startswith(f"removed the lock of {FOREIGN}")


def run_in_thread(fn):
    box = {}
    thread = threading.Thread(target=lambda: box.setdefault("code", fn()))
    thread.start()
    return thread, box


def watch_leases(cluster, monkeypatch) -> tuple[dict[str, list[tuple[float, str]]], list]:
    """The hosts' leases, watched on the fake clock: host -> [(when, take|renew|install)]
    each time one was set or extended, and the renewals that found it ended. Leases age
    with the waits' clock; the Renewer looks every real millisecond."""
    monkeypatch.setattr(lease, "RENEW_TICK", 0.001)
    monkeypatch.setattr(fakehost.Machine, "now", lambda m: int(m.cluster.time.now))
    extended = {name: [] for name in cluster.machines}
    ran_out = []

    def watched(m, script, verb, *args, **kwargs):
        held = m.held(LOCK_DIR)
        if verb == "renew" and not (held and held[1] > 0):
            ran_out.append((m.host.name, m.cluster.time.now))
        code, out, err = script(verb, *args, **kwargs)
        what = verb if script.__name__ == "lease" else "install"  # install: BACKUP KEEP LAST_RUN RUN LOCK_DIR ...
        if code == 0 and what != "release" and (what != "install" or args[3] == LOCK_DIR):
            extended[m.host.name].append((m.cluster.time.now, what))
        return code, out, err
    for m in cluster.machines.values():
        for name in ("lease", "install"):
            m.scripts[name] = lambda *args, m=m, script=m.scripts[name], **kw: watched(m, script, *args, **kw)
    return extended, ran_out


def renewals_due_only(extended, ran_out) -> None:
    """Each renewal came RENEW_AFTER seconds or more after the lease was last set or
    extended, and none found it ended."""
    assert not ran_out
    for name, events in extended.items():
        for (before, _), (at, what) in zip(events, events[1:]):
            assert what != "renew" or at - before >= lease.RENEW_AFTER, (name, events)


def test_a_long_run_renews_each_lease_only_when_it_needs_it_and_none_runs_out(inv, cluster, monkeypatch, capsys):
    """A renewal is a round trip that costs every host CPU: a host's lease is renewed
    RENEW_AFTER seconds after it was last extended, not every few seconds (before: every
    10 s, a third of them needless), and never lets it end while the run runs."""
    extended, ran_out = watch_leases(cluster, monkeypatch)
    cluster[MASTER].faults.add("healthz")  # the master waits for its apiserver: a 300 s run
    assert deploy(inv, cluster, timeout=300) == 1
    length = cluster.time.now - min(events[0][0] for events in extended.values())
    assert length >= 300
    for name, events in extended.items():
        renewals = sum(what == "renew" for _, what in events)
        assert length / (lease.RENEW_AFTER + 2) - 1 <= renewals <= length / lease.RENEW_AFTER, (name, renewals, length)
    renewals_due_only(extended, ran_out)
    assert holders(cluster) == {}


def test_writing_files_under_the_lock_extends_the_lease_so_its_renewal_waits(inv, cluster, monkeypatch, capsys):
    """install.sh, finding the lock the run's, extends its lease by its length: the
    Renewer counts from there (before, it renewed RENEW_AFTER after the take)."""
    extended, ran_out = watch_leases(cluster, monkeypatch)
    install = cluster[NODE].scripts["install"]

    later = lease.RENEW_AFTER * 3 / 4  # before a renewal is due, past half of it

    def slow_first_batch(*args, **kwargs):  # its next files sent `later` after the take, say after its download
        answer = install(*args, **kwargs)
        if len(extended[NODE]) == 2:
            cluster.time.sleep(later)
        return answer
    cluster[NODE].scripts["install"] = slow_first_batch
    cluster[NODE].faults.add("not-ready")  # the node waits for its Node to get Ready: a long run
    assert deploy(inv, cluster, timeout=100) == 1
    events = extended[NODE]
    assert [what for _, what in events][:4] == ["take", "install", "install", "renew"], events
    assert events[2][0] - events[0][0] >= later
    renewals_due_only(extended, ran_out)
    assert holders(cluster) == {}


def test_a_run_whose_lock_is_forced_away_stops_and_fails(inv, cluster, monkeypatch, capsys):
    """Regression: `kubefab unlock` removed a running deploy's lock, and the deploy still
    reported success while a second one interleaved."""
    monkeypatch.setattr(lease, "RENEW_TICK", 0.05)
    monkeypatch.setattr(lease, "RENEW_AFTER", 0)  # renewed at every look
    monkeypatch.setattr(fakehost, "nap", lambda clock, seconds: (time.sleep(seconds), clock.sleep(seconds)))  # real time
    cluster[MASTER].faults.add("healthz")
    thread, box = run_in_thread(lambda: deploy(inv, cluster, timeout=1.5))
    deadline = time.monotonic() + 5
    while not cluster[MASTER].calls("curl") and time.monotonic() < deadline:
        time.sleep(0.01)  # the master waits for its apiserver, the lock held everywhere
    assert unlocked(*lease.remove(connection(cluster, NODE), force=True)).startswith("removed the lock of ")
    thread.join(10)
    assert box["code"] == 1
    rows = recap(capsys.readouterr().out)
    lost = f"lost the cluster lock on {NODE} (now held by nobody): stopped before its next change"
    for name in (NODE, MASTER):  # a failed host's row also says what it changed before
        assert rows[name][0] == "failed" and rows[name][1].startswith(lost), rows
    assert holders(cluster) == {}


def test_master_restart_holds_the_lock_too(inv, cluster, capsys):
    assert deploy(inv, cluster) == 0
    cluster[MASTER].lock(LOCK_DIR, FOREIGN, str(lease.LEASE), STAGE_DIR)
    assert MasterRestart(inv, Options(), connect=cluster.connect).run() == 1
    assert "cluster locked by " + FOREIGN in recap(capsys.readouterr().out)[MASTER][1]


def test_a_unit_start_after_the_lock_was_forced_away_starts_nothing_and_stops_the_run(inv, cluster, monkeypatch,
                                                                                        capsys):
    """activate.sh, like install.sh, checks the lock is the run's: a run whose lock was
    forced away after a host's files were written and before its units start starts
    nothing there, and stops at once, without waiting for its next renewal (before: the
    units started, and the run went on until a renewal found the lock gone)."""
    monkeypatch.setattr(lease, "RENEW_AFTER", 10_000)  # no renewal during the run: the activation alone tells
    activate, asked = cluster[NODE].scripts["activate"], []

    def forced_away_first(verb, folder, clear, *args):
        if not asked:  # `kubefab unlock --force` right before the host's first start
            assert unlocked(*lease.remove(connection(cluster, NODE), force=True)).startswith("removed the lock of ")
        asked.append({u: cluster[NODE].unit(u).active for u in args[2:]})  # the units (after LOCK_DIR HOLDER)
        return activate(verb, folder, clear, *args)
    cluster[NODE].scripts["activate"] = forced_away_first
    assert deploy(inv, cluster) == 1
    assert len(asked) == 1 and asked[0], asked  # stopped at that activation
    assert {u: cluster[NODE].unit(u).active for u in asked[0]} == asked[0]  # none started
    assert any(state != "active" for state in asked[0].values()), asked  # there was one to start
    rows = recap(capsys.readouterr().out)
    lost = f"lost the cluster lock on {NODE} (now held by nobody): stopped before its next change"
    assert rows[NODE][0] == "failed" and rows[NODE][1].startswith(lost), rows
    assert "started" not in rows[NODE][1], rows
    assert holders(cluster) == {}


def test_a_restart_after_the_lock_was_forced_away_restarts_nothing(inv, cluster, monkeypatch, capsys):
    """The same for a unit (re)started alone (HostRun.units: master-restart's order): no
    restart under another run's lock, the run stops there."""
    assert deploy(inv, cluster) == 0
    monkeypatch.setattr(lease, "RENEW_AFTER", 10_000)
    activate, asked = cluster[MASTER].scripts["activate"], []

    def forced_away_first(*args):
        if not asked:
            assert unlocked(*lease.remove(connection(cluster, MASTER), force=True)).startswith("removed the lock of ")
        asked.append(args)
        return activate(*args)
    cluster[MASTER].scripts["activate"] = forced_away_first
    restarts = len(cluster[MASTER].calls("systemctl"))
    assert MasterRestart(inv, Options(), connect=cluster.connect).run() == 1
    assert len(asked) == 1 and asked[0][0] == "restart", asked
    assert len(cluster[MASTER].calls("systemctl")) == restarts  # nothing restarted
    rows = recap(capsys.readouterr().out)
    assert rows[MASTER][0] == "failed" and rows[MASTER][1].startswith(
        f"lost the cluster lock on {MASTER} (now held by nobody)"), rows
    assert holders(cluster) == {}

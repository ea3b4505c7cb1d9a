"""Host-script cases (tests/unit/test_host_scripts.py) for the unit scripts of a run:
run-download.sh (the download queued again from any state) and wait-unit.sh (a unit's
state awaited on its journal)."""
from dataclasses import replace

from kubefab.layout import UNIT_DIR

from script_cases import Case, F, Host, U

X = "x.service"
TEXT = "[Service]\nType=oneshot\nRemainAfterExit=yes\n"
UNIT = Host({f"{UNIT_DIR}/{X}": F(TEXT)})


def run(name: str, before: Host, state: str = "", **kw) -> Case:
    """state: the unit's ActiveState as the probe saw it (none: the script asks)."""
    return Case("run-download", name, (X, state) if state else (X,), before, **kw)


def wait(name: str, before: Host, seconds: str = "1", done: str = "active|failed", **kw) -> Case:
    return Case("wait-unit", name, (X, seconds, done), before, **kw)


RUN_DOWNLOAD = [
    run("a unit that ran before runs again", UNIT.but(units={X: U(True, "active", TEXT)}),
        after=UNIT.but(units={X: U(True, "active", TEXT)})),
    run("a failed one is forgotten and runs again, loaded as it starts", UNIT.but(units={X: U(True, "failed")}),
        after=UNIT.but(units={X: U(True, "active", TEXT)})),
    run("a unit that never ran is just started", UNIT, after=UNIT.but(units={X: U(False, "active", TEXT)})),
    run("the probe saw it never ran: started, nothing asked", UNIT, state="inactive",
        after=UNIT.but(units={X: U(False, "active", TEXT)})),
    run("the probe saw it fail: forgotten and run again", UNIT.but(units={X: U(True, "failed")}), state="failed",
        after=UNIT.but(units={X: U(True, "active", TEXT)})),
    run("no unit file: systemd's own words, nothing runs", Host(), exit=5, err="Unit x.service not found"),
]

WAIT_UNIT = [
    wait("already done: its state at once, no journal followed", UNIT.but(units={X: U(True, "active")}),
         out="active\n"),
    wait("a failed one is done too", UNIT.but(units={X: U(True, "failed")}), out="failed\n"),
    wait("still running when the seconds are up: its state then", UNIT.but(units={X: U(True, "activating")}),
         out="activating\n"),
    wait("it ends while followed: heard from its journal line, before the seconds are up",
         replace(UNIT.but(units={X: U(True, "activating")}), journal={X: ("downloading", "=active", "job: Finished x")}),
         seconds="30", out="active\n",
         after=UNIT.but(units={X: U(True, "active")}),
         real_only="the fake's units end by their faults, not by a journal line"),
    wait("a restart between its stop and its start (failed, a job pending) is no end: followed until it is",
         replace(UNIT.but(units={X: U(True, "failed 7")}),
                 journal={X: ("job: Failed with result 'signal'", "=active", "job: Finished x")}),
         seconds="30", out="active\n", after=UNIT.but(units={X: U(True, "active")}),
         real_only="the fake's units have no jobs"),
    wait("the seconds are up while a job is pending: its state said with it, no end",
         UNIT.but(units={X: U(True, "failed 7")}), out="failed (a job pending)\n",
         real_only="the fake's units have no jobs"),
]

CASES = [*RUN_DOWNLOAD, *WAIT_UNIT]

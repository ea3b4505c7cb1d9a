"""What a host script costs the host: the programs it starts (each a fork and exec on every
host of every run; a systemctl also a call to PID 1), counted on the fresh path's cases of
the host-script table, run by the real sh with every program it calls wrapped to log its
name. The counts are budgets: a script that starts more than its case's fails here.

Only the scripts of a fresh deploy's path whose work does not depend on the data: the
counts are exact, never a timer."""
import os
import shutil
from collections import Counter
from pathlib import Path

import pytest

import cases_files
import cases_install
import cases_lease
import cases_preflight
import cases_system
import cases_units
from script_worlds import RealHost

CASES = {c.id: c for c in [*cases_files.CASES, *cases_install.CASES, *cases_lease.CASES, *cases_preflight.CASES, *cases_system.CASES, *cases_units.CASES]}
PROGRAMS = ("awk", "cat", "chmod", "chown", "cp", "date", "df", "flock", "grep", "head", "install", "journalctl", "mkdir",
            "mkfifo", "mktemp", "mv", "rm", "stat", "systemctl", "tar", "timeout", "tr", "wc")

# case -> the programs it may start (name -> count)
BUDGETS = {
    "lease: take: a free lock is ours; a killed run's stage and older kubefabs' /tmp folders are cleared":
        {"date": 1, "flock": 1, "mkdir": 1, "rm": 2},  # rm: the killed run's stage and /tmp folder
    "lease: release: ours goes": {"flock": 1, "rm": 1},  # no clock needed: no date
    "lease: renew: ours: the lease starts again": {"date": 1, "flock": 1},
    # one tar writes every file in its folder's staging folder; one rename per folder, one rm
    # for the staging folders, and the run's list (mkdir: its folder, here only)
    "install: new files land with their mode; listed as made": {"mkdir": 1, "tar": 1, "mv": 3, "rm": 1},
    "install: a host's files: one rename per folder, whatever the order they come in":
        {"mkdir": 1, "tar": 1, "mv": 3, "rm": 1},
    "install: under this run's lock: written, the lock as it was": {"flock": 1, "tar": 1, "mv": 2, "rm": 1},
    "install: under this run's lock with its lease's length: written, the lease extended by it":
        {"flock": 1, "date": 1, "tar": 1, "mv": 2, "rm": 1},
    # the lock's holder read by the shell: no program more than the start itself
    "activate: under this run's lock: started, its mark removed": {"systemctl": 1, "rm": 1},
    "owe: a mark per unit, the run that owes it": {"mv": 2},
    "run-download: a unit that never ran is just started": {"systemctl": 2},
    "run-download: the probe saw it never ran: started, nothing asked": {"systemctl": 1},
    # a node's items: df and awk for the disk, date, grep for a module, one awk a port
    "preflight: a host that offers all: each item's line, in order": {"df": 1, "awk": 2, "date": 1, "grep": 1},
    "preflight: a host that offers nothing: cgroup v1, swap on, a module to load, the port taken, no binary":
        {"df": 1, "awk": 2, "date": 1, "grep": 2, "systemctl": 1},
    "run-download: a unit that ran before runs again": {"systemctl": 2},
    # the download's end: a look, the journal followed until a job of the unit ends, a look
    "wait-unit: already done: its state at once, no journal followed": {"systemctl": 1},
    "wait-unit: it ends while followed: heard from its journal line, before the seconds are up":
        {"systemctl": 2, "mkfifo": 1, "timeout": 1, "journalctl": 1, "rm": 1},
    "run-download: a failed one is forgotten and runs again, loaded as it starts": {"systemctl": 3},
}


def counting(host: RealHost, tmp: Path) -> Path:
    """Wrappers for PROGRAMS first on the host's PATH: each logs its name, then runs the
    program it stands for (the stub or the machine's)."""
    bin_dir, log = tmp / "counting", tmp / "programs.log"
    bin_dir.mkdir()
    for name in PROGRAMS:
        real = shutil.which(name, path=host.env["PATH"])
        wrapper = bin_dir / name
        count = f'echo {name} >> "{log}"'
        if name == "cat":  # the date stub's way to say the case's clock: date's, already counted
            count = f'[ "$*" = "{host.units.parent}/clock" ] || {count}'
        wrapper.write_text(f'#!/bin/sh\n{count}\nexec "{real}" "$@"\n')
        wrapper.chmod(0o755)
    host.env["PATH"] = f"{bin_dir}:{host.env['PATH']}"
    return log


@pytest.mark.parametrize("case_id", sorted(BUDGETS))
def test_a_fresh_paths_script_starts_no_more_programs_than_its_budget(case_id, tmp_path):
    case = CASES[case_id]
    host = RealHost(tmp_path)
    log = counting(host, tmp_path)
    seen = host.run(case)
    assert (seen.exit, seen.out) == (case.exit, case.out), seen.err
    started = Counter(log.read_text().split()) if log.exists() else Counter()
    over = {name: n for name, n in started.items() if n > BUDGETS[case_id].get(name, 0)}
    assert not over, f"{case.script} started {dict(started)}; budget {BUDGETS[case_id]}"

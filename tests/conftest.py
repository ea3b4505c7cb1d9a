"""What each test needs, as markers by folder: tests/unit are pure (no root, no lab,
seconds), tests/standin start local servers, tests/integration boot lab hosts (root,
systemd-nspawn). Pick a set with `-m pure`, `-m standin`, `-m lab`, `-m package`.

In CI (CI=true) a test that cannot find what it needs fails instead of skipping: a
missing package in scripts/setup must not pass as a green run."""
from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
BY_FOLDER = {"unit": "pure", "standin": "standin", "integration": "lab"}
MEMORY = Path("/dev/shm")  # a tmpfs on Debian: where the pure tests' tmp_path folders go

# Keep bytecode caches (__pycache__, which git ignores) even where the shell sets
# PYTHONDONTWRITEBYTECODE: without them every run compiles kubefab and re-does pytest's
# assertion rewriting of each test module, and so does each kubefab or fab process a test
# starts (test_cli, test_etcdctl, test_modern_orchestration, test_deploy_fake and test_pki:
# 7.8 s of CPU without the caches, 5.1 s with them).
sys.dont_write_bytecode = False


def pytest_configure(config):
    """The pure tests write their tmp_path folders in memory: kubefab fsyncs every key and
    certificate it writes (kubefab.certs.put), and on a disk that other work keeps busy each
    fsync waits its turn. A memory file system runs the same code and honours the same
    modes; only the wait is gone. --basetemp or PYTEST_DEBUG_TEMPROOT still choose."""
    if (config.getoption("markexpr") == "pure" and config.getoption("basetemp") is None
            and "PYTEST_DEBUG_TEMPROOT" not in os.environ and _tmpfs(MEMORY)):
        os.environ["PYTEST_DEBUG_TEMPROOT"] = str(MEMORY)  # read when the first tmp_path is made


def _tmpfs(folder: Path) -> bool:
    try:
        mounts = Path("/proc/self/mounts").read_text().splitlines()
    except OSError:
        return False
    return any(line.split()[1:3] == [str(folder), "tmpfs"] for line in mounts) and os.access(folder, os.W_OK)


def pytest_sessionstart(session):
    """Ctrl-C as an operator's terminal sends it: a shell that starts pytest in the
    background (`&`, no job control) makes it ignore SIGINT, and Python then never turns
    one into KeyboardInterrupt, here or in the kubefab processes the tests start (an
    ignored signal stays ignored across exec; a handled one is reset to the default)."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def pytest_collection_modifyitems(config, items):
    for item in items:
        folder = Path(item.fspath).resolve().relative_to(HERE).parts[0]
        marked = any(item.get_closest_marker(m) for m in ("package", *BY_FOLDER.values()))
        if folder in BY_FOLDER and not marked:  # a test's own marker wins over its folder's
            item.add_marker(getattr(pytest.mark, BY_FOLDER[folder]))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CI") and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, where everything a test needs must be installed: {reason}"

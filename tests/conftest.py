"""What each test needs, as markers by folder: tests/unit are pure (no root, no lab,
seconds), tests/standin start local servers, tests/integration boot lab hosts (root,
systemd-nspawn). Pick a set with `-m pure`, `-m standin`, `-m lab`, `-m package`.

In CI (CI=true) a test that cannot find what it needs fails instead of skipping: a
missing package in scripts/setup must not pass as a green run."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
BY_FOLDER = {"unit": "pure", "standin": "standin", "integration": "lab"}


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

"""Fixtures for the orchestration tests: the repo's hosts.yaml (copied, so the PKI it
makes lands in tmp) and a fake cluster of its hosts."""
from pathlib import Path

import pytest

from fakehost import FakeCluster
from kubefab.inventory import load

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def inv(tmp_path, monkeypatch):
    monkeypatch.setenv("KUBEFAB_REGISTRY_TOKEN", "TOKEN-fake-0123456789abcdef")
    copy = tmp_path / "cluster" / "hosts.yaml"
    copy.parent.mkdir()
    copy.write_text((ROOT / "hosts.yaml").read_text())
    return load(copy)


@pytest.fixture
def cluster(inv):
    return FakeCluster(inv)

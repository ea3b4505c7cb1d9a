"""An object of a kind with a status has one from its creation, as the real server
serializes it (a Deployment no controller has looked at yet: `"status": {}`; its Go
type's status is a struct, which encoding/json never leaves out). kubefab's add-on check
(`kubectl diff --server-side` of the applied manifest) then finds nothing before any
controller ran: against the stand-in it found `+status: {}`, the dry-run patch's answer
having a status the stored object lacked, and a no-op deploy applied CoreDNS again."""
from __future__ import annotations

import json

import pytest

from kubefab.ops.addons import APPLY, DIFF
from modern_cluster import Cluster
from standin_helpers import Procs
from test_standin_modern_api import kubectl137  # noqa: F401 - the fixture
from test_standin_workloads import MANIFEST, kube


@pytest.fixture(scope="module")
def apiserver_only(standins, etcd, pki, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("status")
    procs = Procs(tmp)
    c = Cluster(procs, standins, etcd, pki, tmp)
    try:
        c.apiserver()  # no controller manager: nobody writes a status
        yield c
    finally:
        procs.stop_all()


def test_an_applied_manifest_diffs_as_nothing_before_any_controller_ran(apiserver_only, kubectl137):
    k = kube(kubectl137, apiserver_only)
    k(*APPLY, input=MANIFEST)
    deployment = json.loads(k("get", "deployment", "coredns", "-n", "kube-system", "-o", "json").stdout)
    assert deployment["status"] == {}
    r = k(*DIFF, input=MANIFEST, check=False)
    assert r.returncode == 0, r.stdout + r.stderr

"""Runs on a v1.37 lab that must stop or go on as they say: an etcd certificate change in
one deploy (etcd restarts first, the apiserver does not bounce); nodes.remove of a
reachable and of an unreachable node (kubectl on the master as root); a forced unlock
that stops the run it unlocks before its next write; a SIGKILLed run's lock free at once."""
import re
import signal

import pytest

from kubefab.inventory import load

from .helpers import fab, unit_starts
from .modernlab import MASTER_UNITS, deployed_lab, kubectl, slow_mirror, variant
from .test_faults import start_deploy, wait_for_line

pytestmark = pytest.mark.lab

MASTER = "azure-prd-01"
NOOP = "no changes: files, units and release already as wanted"
DOWNLOADING = "waiting for kubernetes.download.service"


@pytest.fixture(scope="module")
def lab():
    with deployed_lab("lab-trust-runs", 140) as lab:
        yield lab


@pytest.fixture(scope="module")
def inventory(lab):
    return lab.inventory_path


def converged(inventory) -> None:
    fab(inventory, "deploy")
    assert fab(inventory, "deploy").stdout.count(NOOP) == 5


def test_an_etcd_certificate_change_deploys_in_one_run(inventory):
    """Regression: the apiserver restarted, then etcd, whose restart bounced the apiserver
    (Requires=): the run's next kubectl was refused and the run exited 1."""
    pki = load(inventory).kubernetes.pki_dir
    for part in ("etcd-server.crt", "etcd-server.key"):
        (pki / part).unlink()  # re-issued: etcd's serving certificate changes, nothing else
    before = unit_starts(inventory, MASTER, MASTER_UNITS)
    r = fab(inventory, "deploy", check=False)
    assert r.returncode == 0, r.stdout
    after = unit_starts(inventory, MASTER, MASTER_UNITS)
    assert [u for u in MASTER_UNITS if after[u] != before[u]] == ["kubernetes.etcd.service"], r.stdout
    assert fab(inventory, "deploy").stdout.count(NOOP) == 5


def test_nodes_remove_a_reachable_and_an_unreachable_node(lab, inventory):
    for name in ("azure-prd-04", "ded-prd-01"):
        down = name == "ded-prd-01"
        if down:
            lab.stop_host(name)
        try:
            r = fab(inventory, "nodes.remove", name, *(["--force"] if down else []), check=False)
            assert r.returncode == 0 and "permission denied" not in r.stdout.lower(), r.stdout
            assert f"drained" in r.stdout and f"deleted node {name}" in r.stdout, r.stdout
            listed = kubectl(inventory)("get", "nodes", "-o", "name").stdout
            assert f"node/{name}" not in listed
        finally:
            if down:
                lab.start_host(name)
        if down:
            fab(inventory, "reset", "--hosts", name, "--yes")
        fab(inventory, "deploy", "--hosts", name)  # it joins again
    converged(inventory)


def test_a_forced_unlock_stops_the_run_before_its_next_write(lab, inventory):
    """Regression: the unlocked run carried on through its wait and, when a second deploy
    took the lock meanwhile, both wrote the same hosts and both reported success."""
    with slow_mirror(load(inventory).kubernetes.mirror, delay=3) as url:
        slow = variant(inventory, "slow", lambda d: d["kubernetes"].update(mirror=url))
        first = start_deploy(slow)
        wait_for_line(first, DOWNLOADING, timeout=120)  # written, and waiting for its downloads
        fab(inventory, "unlock", "--force")
        second = start_deploy(slow)
        out = first.communicate(timeout=60)[0]
        assert first.returncode == 1, out
        lost = re.search(r"lost the cluster lock on \S+ \(now held by (.*?)\): stopped before its next change", out)
        assert lost and (lost[1] == "nobody" or f" pid {second.pid} since " in lost[1]), out
        after = out[lost.start():]
        for change in ("] wrote ", "] restarted ", "] installed the release", "] started ", "] enabled "):
            assert change not in after, after  # nothing done after the lock was gone
        assert "installed the release" not in out.rpartition("RECAP")[2]
        rest = second.communicate(timeout=400)[0]
        assert second.returncode == 0, rest
    converged(inventory)


def test_a_sigkilled_runs_lock_is_free_at_once(inventory):
    """Regression: the next run waited out the killed run's lease (60 s) or needed --force."""
    with slow_mirror(load(inventory).kubernetes.mirror, delay=3) as url:
        slow = variant(inventory, "slow", lambda d: d["kubernetes"].update(mirror=url))
        killed = start_deploy(slow)
        wait_for_line(killed, DOWNLOADING, timeout=120)
        killed.send_signal(signal.SIGKILL)
        killed.communicate(timeout=30)
    r = fab(inventory, "deploy", check=False)
    assert r.returncode == 0, r.stdout
    said = [line for line in r.stdout.splitlines() if " is free: " in line]
    assert len(said) == 1 and f"pid {killed.pid} since " in said[0] and \
        said[0].endswith(f"its process (pid {killed.pid} on this machine, this boot) is gone"), r.stdout
    converged(inventory)

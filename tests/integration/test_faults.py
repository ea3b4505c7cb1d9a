"""Faults on the lab's real hosts: each is injected, reported per host with its
reason, leaves the other hosts consistent, and a re-run after the fix converges."""
import os
import re
import signal
import subprocess
import time

import pytest
import yaml

from kubefab.inventory import load
from stalling import stalling_server as stalling

from .conftest import own_lab
from .helpers import FAB, ROOT, fab, kubectl, nodes, on_host

pytestmark = pytest.mark.lab

NOOP = "no changes: files, units and release already as wanted"


@pytest.fixture(scope="module")
def lab():
    """A lab of this module's own (the repo's hosts.yaml): these tests break hosts, stop
    runs and serve broken releases on purpose, so they do not share the session's lab."""
    with own_lab("lab-faults", 110) as the_lab:
        yield the_lab


@pytest.fixture(scope="module")
def inventory(lab):
    fab(lab.inventory_path, "deploy")  # start from a converged cluster
    return lab.inventory_path


def variant(inventory, name, change) -> str:
    """A copy of the lab inventory beside it (relative paths still resolve), changed."""
    data = yaml.safe_load(open(inventory))
    change(data)
    path = inventory.parent / f"hosts-{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def release(url, sha):
    def change(data):
        data["kubernetes"]["release_url"], data["kubernetes"]["release_sha256"] = url, sha
    return change


def stamp(inventory, host):
    inv = load(inventory)
    return on_host(inventory, host, ["cat", f"{inv.kubernetes.install_dir}/.kubefab-release"]).stdout


def converges(inventory):
    """A re-run repairs everything, and the run after it changes nothing."""
    fab(inventory, "deploy")
    assert fab(inventory, "deploy").stdout.count(NOOP) == 5


def test_a_host_that_is_down_fails_alone_and_a_rerun_converges(lab, inventory):
    # a cluster-wide label: every node's register script changes, the master labels them
    louder = variant(inventory, "rack", lambda d: d["labels"].update(rack="r1"))
    lab.stop_host("azure-prd-04")
    try:
        r = fab(louder, "deploy", check=False)
        assert r.returncode == 1
        assert f"azure-prd-04  failed     ssh core@{dict(lab.info.hosts)['azure-prd-04']}:22:" in r.stdout
        assert "Re-run just the failed hosts: fab deploy --hosts azure-prd-04" in r.stdout
        for ok in ("azure-prd-01", "azure-prd-02", "azure-prd-03", "ded-prd-01"):
            assert re.search(rf"^  {ok} +changed ", r.stdout, re.M), ok
    finally:
        lab.start_host("azure-prd-04")
    fab(louder, "deploy", "--hosts", "azure-prd-04")
    assert fab(louder, "deploy").stdout.count(NOOP) == 5
    converges(inventory)


@pytest.mark.parametrize("fault", ["wrong sha256", "download fails"])
def test_a_bad_download_keeps_the_previous_binaries(lab, inventory, fault):
    inv = load(inventory)
    url, sha = inv.kubernetes.release_url, inv.kubernetes.release_sha256
    bad = variant(inventory, "bad-release", release(url, "0" * 64) if fault == "wrong sha256"
                  else release(url.replace("kubernetes.tar.gz", "missing.tar.gz"), sha))
    before = stamp(inventory, "azure-prd-02")
    r = fab(bad, "deploy", check=False)
    assert r.returncode == 1
    why = "sha256" if fault == "wrong sha256" else "404"
    for h in inv.hosts:
        line = next(l for l in r.stdout.splitlines() if l.startswith(f"  {h.name} "))
        assert "failed" in line and "kubernetes.download.service failed" in line and why in line, line
    assert stamp(inventory, "azure-prd-02") == before  # the old release is still installed
    assert kubectl(inventory, "get", "--raw", "/healthz").stdout == "ok"  # and still running
    converges(inventory)


@pytest.fixture
def stalling_server():
    with stalling() as url:
        yield url


def test_a_stalled_release_server_fails_the_download_in_bounded_time(inventory, stalling_server):
    """The download's curl gives up on a stalled transfer (30 s below 1 KiB/s, three tries),
    the host fails with that reason in one line, keeps its binaries, and a re-run converges."""
    inv = load(inventory)
    stalled = variant(inventory, "stalled", release(stalling_server, inv.kubernetes.release_sha256))
    before = stamp(inventory, "ded-prd-01")
    r = fab(stalled, "deploy", "--hosts", "ded-prd-01", check=False, timeout=400)
    assert r.returncode == 1
    line = next(l for l in r.stdout.splitlines() if l.startswith("  ded-prd-01 "))
    assert "kubernetes.download.service failed" in line, line
    assert "too slow" in line.lower() or "curl exit 28" in line, line  # curl's operation timeout
    assert "waiting for kubernetes.download.service" in r.stdout  # progress while it ran
    assert stamp(inventory, "ded-prd-01") == before
    converges(inventory)


def test_an_apiserver_that_never_gets_healthy_names_the_master_and_its_journal(lab, inventory):
    broken = variant(inventory, "apiserver-exits",
                     release(*lab.serve_release("v1.0.1", frozenset({"apiserver-exits"}))))
    r = fab(broken, "deploy", "--timeout", "15", check=False)
    assert r.returncode == 1
    master = next(l for l in r.stdout.splitlines() if l.startswith("  azure-prd-01 "))
    assert "not healthy after 15s" in master and "apiserver-exits" in master, master
    assert "not started: the master failed" in r.stdout  # the nodes' new release waits for it
    converges(inventory)


def test_a_kubelet_that_never_registers_is_named(lab, inventory):
    silent = variant(inventory, "kubelet-silent",
                     release(*lab.serve_release("v1.0.1", frozenset({"kubelet-no-register"}))))
    kubectl(inventory, "delete", "node", "ded-prd-01")
    r = fab(silent, "deploy", "--timeout", "15", check=False)
    assert r.returncode == 1
    line = next(l for l in r.stdout.splitlines() if l.startswith("  ded-prd-01 "))
    assert "not Ready after 15s" in line and "journalctl -u kubernetes.kubelet.service" in line, r.stdout
    converges(inventory)
    assert "ded-prd-01" in nodes(inventory)


def start_deploy(inventory, *args):
    env = {**os.environ, "KUBEFAB_INVENTORY": str(inventory)}
    return subprocess.Popen([FAB, "deploy", *args], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def wait_for_line(proc, text, timeout=60) -> list[str]:
    seen, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        seen.append(line)
        if text in line:
            return seen
    raise AssertionError(f"never saw {text!r}:\n{''.join(seen)}")


def lock_exists(inventory) -> bool:
    return on_host(inventory, "azure-prd-01", ["test", "-e", "/var/lib/kubefab/lock"],
                   check=False).exit_code == 0


def test_ctrl_c_stops_between_steps_releases_the_lock_and_a_rerun_converges(lab, inventory):
    broken = variant(inventory, "apiserver-exits",
                     release(*lab.serve_release("v1.0.1", frozenset({"apiserver-exits"}))))
    proc = start_deploy(broken, "--timeout", "120")
    wait_for_line(proc, "waiting for http")  # mid-run: files written, master waiting
    assert lock_exists(inventory)
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out = proc.communicate(timeout=30)[0]
    assert proc.returncode == 130 and time.monotonic() - sent < 10
    assert "interrupted" in out and "Traceback" not in out
    assert not lock_exists(inventory)
    converges(inventory)


def test_a_second_deploy_refuses_while_one_runs_or_waits_with_wait_lock(lab, inventory):
    broken = variant(inventory, "apiserver-exits",
                     release(*lab.serve_release("v1.0.1", frozenset({"apiserver-exits"}))))
    first = start_deploy(broken, "--timeout", "45")  # holds the lock until then: the others start meanwhile
    wait_for_line(first, "waiting for http")
    second = fab(inventory, "deploy", check=False)
    assert second.returncode == 1
    assert "cluster locked by " in second.stdout and f"pid {first.pid} since " in second.stdout
    waited = start_deploy(inventory, "--wait-lock", "--timeout", "120")
    said = wait_for_line(waited, "waiting for the lock held by")[-1]
    assert f"pid {first.pid} since " in said, said
    first.communicate(timeout=90)
    assert first.returncode == 1
    out = waited.communicate(timeout=180)[0]  # it takes the lock once the first gives up
    assert waited.returncode == 0, out
    assert fab(inventory, "deploy").stdout.count(NOOP) == 5

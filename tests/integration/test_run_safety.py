"""A run's safety on the lab's real hosts: the lock is a lease `fab unlock` will not
take from a live run; a failed write says why in one line (a full disk, a read-only
unit directory) and a re-run after the fix converges; a run killed during its upload
leaves nothing staged once the next run is done, and nothing ever in /tmp."""
import re
import signal

import pytest

from kubefab.inventory import load
from kubefab.layout import STAGE_DIR, UNIT_DIR

from .helpers import fab, on_host
from .test_faults import (NOOP, converges, lock_exists, release, start_deploy, variant,
                          wait_for_line)

pytestmark = pytest.mark.lab

NODE = "azure-prd-02"
PROXY_UNIT = f"{UNIT_DIR}/kubernetes.proxy.service"


@pytest.fixture(scope="module")
def inventory(lab):
    fab(lab.inventory_path, "deploy")  # start from a converged cluster
    return lab.inventory_path


def recap_line(out: str, host: str) -> str:
    return next(line for line in out.splitlines() if line.startswith(f"  {host} "))


def root(inventory, host, script, check=True):
    return on_host(inventory, host, ["sh", "-c", script], check=check)


# -- the lock ----------------------------------------------------------------------------
def test_unlock_refuses_a_live_deploys_lock_and_force_makes_that_deploy_fail(lab, inventory):
    broken = variant(inventory, "apiserver-exits",
                     release(*lab.serve_release("v1.0.1", frozenset({"apiserver-exits"}))))
    first = start_deploy(broken, "--timeout", "60")
    wait_for_line(first, "waiting for http")  # mid-run: the lock held everywhere, renewed
    refused = fab(inventory, "unlock", check=False)
    assert refused.returncode == 1 and "Traceback" not in refused.stdout + refused.stderr
    for h in load(inventory).hosts:
        line = next(l for l in refused.stdout.splitlines() if l.startswith(f"[{h.name}] "))
        assert line.startswith(f"[{h.name}] refused: locked by ") and f"pid {first.pid} since " in line, line
        assert re.search(r"\(lease expires in \d+s\)", line), line
    assert lock_exists(inventory)

    forced = fab(inventory, "unlock", "--force")
    for h in load(inventory).hosts:
        assert re.search(rf"^\[{h.name}\] removed the lock of .*pid {first.pid} since .*\(forced\)$",
                         forced.stdout, re.M), forced.stdout
    out = first.communicate(timeout=120)[0]
    assert first.returncode == 1, out  # no longer "success" while another run may interleave
    assert "lost the cluster lock on " in out
    assert fab(inventory, "unlock").stdout.count("no lock") == 5
    converges(inventory)


# -- a failed write, in one line ------------------------------------------------------------
def test_a_read_only_unit_directory_is_one_line_and_a_rerun_after_the_fix_converges(inventory):
    root(inventory, NODE, f"rm {PROXY_UNIT} && mount --bind {UNIT_DIR} {UNIT_DIR} && "
                          f"mount -o remount,bind,ro {UNIT_DIR}")
    try:
        r = fab(inventory, "deploy", check=False)
        assert r.returncode == 1
        line = recap_line(r.stdout, NODE)
        assert line.endswith(f"failed     writing 1 file failed: read-only file system: {PROXY_UNIT}"), line
        assert "set -eu" not in r.stdout and "Traceback" not in r.stdout + r.stderr
    finally:
        root(inventory, NODE, f"umount {UNIT_DIR}")
    converges(inventory)


def test_a_full_disk_is_one_line_and_a_rerun_after_the_fix_converges(inventory):
    # a small, full file system over /etc/kubernetes: the node's kubeconfigs and keys
    # are missing there, and there is no room to write them
    root(inventory, NODE, "mount -t tmpfs -o size=1m kubefab-test /etc/kubernetes && "
                          "dd if=/dev/zero of=/etc/kubernetes/filler bs=4k 2>/dev/null; true")
    try:
        r = fab(inventory, "deploy", check=False)
        assert r.returncode == 1
        line = recap_line(r.stdout, NODE)
        assert re.search(r"failed     writing \d+ files failed: no space left on device: /etc/kubernetes/\S+$",
                         line), line
        assert "set -eu" not in r.stdout and "Traceback" not in r.stdout + r.stderr
        assert staged(inventory, NODE) == []  # the failed command removed its stage
        root(inventory, NODE, "rm /etc/kubernetes/filler")  # the operator makes room
        converges(inventory)
    finally:
        root(inventory, NODE, "umount /etc/kubernetes")
    converges(inventory)  # the files under the tmpfs were right all along


# -- staging ---------------------------------------------------------------------------------
def staged(inventory, host) -> list[str]:
    """What is staged on a host: kubefab's stage and any /tmp/.kubefab-* folder."""
    out = root(inventory, host, f"ls -A {STAGE_DIR} 2>/dev/null; ls -d /tmp/.kubefab-* 2>/dev/null; true").stdout
    return out.split()


def test_a_kill_during_upload_leaves_no_staged_files_after_the_next_run(inventory):
    hosts = [h.name for h in load(inventory).hosts]
    for name in hosts:  # what a SIGKILLed upload, and an older kubefab's /tmp staging, left
        root(inventory, name, f"umask 077 && mkdir -p {STAGE_DIR}/0123456789ab && echo key > {STAGE_DIR}/0123456789ab/0")  # as an older kubefab's INSTALL made it
        on_host(inventory, name, ["sh", "-c", "mkdir -p /tmp/.kubefab-0123abcd && echo token > "
                                              "/tmp/.kubefab-0123abcd/0"], sudo=False)
    louder = variant(inventory, "rack-kill", lambda d: d["labels"].update(rack="r9"))  # changes every node
    proc = start_deploy(louder)
    wait_for_line(proc, "] update ")  # the plan is shown: the lock and the upload come next
    proc.send_signal(signal.SIGKILL)  # no Ctrl-C handling, no lock released, no trap run here
    proc.communicate(timeout=30)
    for name in hosts:  # whatever is staged now is root's alone
        mode = root(inventory, name, f"stat -c '%a %U' {STAGE_DIR} 2>/dev/null || echo none").stdout.split()
        assert mode in (["none"], ["700", "root"]), (name, mode)

    again = fab(louder, "deploy", check=False)  # the killed run's lease may still hold
    if again.returncode:
        assert "re-run once its lease expires, or wait with --wait-lock" in again.stdout, again.stdout
        fab(louder, "deploy", "--wait-lock", "--timeout", "120")
    assert fab(louder, "deploy").stdout.count(NOOP) == 5
    for name in hosts:
        assert staged(inventory, name) == [], name
    converges(inventory)

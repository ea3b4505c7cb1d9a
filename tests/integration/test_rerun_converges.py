"""A deploy stopped at any point is finished by the next one, on the lab's real hosts:
killed or Ctrl-C after the writes and before the restarts, killed during the download
(which completes after fab is gone), an apiserver wait that fails. After the re-run
every running process has the flags of its unit file (its /proc/<MainPID>/cmdline) and
started after the installed release, and status is OK. Also: status sees each drift
the dry run plans, and a Node deleted under self registration comes back. Every test
leaves the cluster converged on the lab inventory."""
import contextlib
import functools
import hashlib
import http.server
import os
import re
import shlex
import signal
import threading
import time
from urllib.parse import urlparse

import pytest

from kubefab import render
from kubefab.inventory import load
from kubefab.layout import ONESHOTS
from kubefab_lab.services import running

from .helpers import fab, kubectl, nodes, on_host
from .test_faults import NOOP, converges, start_deploy, variant, wait_for_line
from kubefab import layout
from kubefab.profiles.legacy import paths as legacy_paths

pytestmark = pytest.mark.lab

MASTER, NODE = "azure-prd-01", "azure-prd-02"
NODES = ("azure-prd-02", "azure-prd-03", "azure-prd-04", "ded-prd-01")
OWED = "(owed by an earlier run)"

# On a host, as root: UNIT's running command line (NUL -> newline), a separator, when it
# started and when the release stamp was written (seconds since the epoch).
RUNNING = r"""
pid=$(systemctl show -p MainPID --value "$1")
[ "$pid" -gt 0 ] || { echo "not running"; exit 0; }
tr '\0' '\n' < "/proc/$pid/cmdline"; echo "--"
date -d "$(systemctl show -p ExecMainStartTimestamp --value "$1")" +%s
stat -c %Y "$2"
"""


@pytest.fixture(scope="module")
def inventory(lab):
    fab(lab.inventory_path, "deploy")
    return lab.inventory_path


def exec_start(text: str) -> list[str]:
    """ExecStart= of a unit file, its continuation lines joined, as argv."""
    joined = re.sub(r"\\\n", " ", text)
    line = next(l for l in joined.splitlines() if l.startswith("ExecStart="))
    return [a.replace("$$", "$").replace("%%", "%") for a in shlex.split(line[len("ExecStart="):])]


def not_as_written(inventory) -> dict:
    """(host, unit) -> why its process does not run its unit file's flags on the
    installed release; {} when every one does."""
    inv = load(inventory)
    stamp = f"{inv.kubernetes.install_dir}/.kubefab-release"
    wrong = {}
    for h in inv.hosts:
        for unit in inv.profile.unit_order(h):
            if unit in ONESHOTS:  # they ran once and exited: no process to look at
                continue
            out = on_host(inventory, h.name, ["sh", "-c", RUNNING, "sh", unit, stamp]).stdout
            if out.strip() == "not running":
                wrong[(h.name, unit)] = "not running"
                continue
            cmdline, _, times = out.partition("--\n")
            started, stamped = map(int, times.split())
            want = exec_start(on_host(inventory, h.name, ["cat", f"{layout.UNIT_DIR}/{unit}"]).stdout)
            argv = cmdline.splitlines()
            if argv[-(len(want) - 1):] != want[1:] or want[0] not in argv:
                wrong[(h.name, unit)] = f"runs {argv}, unit file says {want}"
            elif started < stamped:
                wrong[(h.name, unit)] = "started before the installed release was"
    return wrong


def problems(stdout: str) -> list[str]:
    return [line.strip() for line in stdout.partition("PROBLEMS:")[2].strip().splitlines()]


def finished(inventory, killed: bool) -> str:
    """The re-run finishes the job: every process as written, status OK, then a no-op."""
    if killed:  # a killed run cannot release its lock
        fab(inventory, "unlock", "--force")
    out = fab(inventory, "deploy").stdout
    assert not_as_written(inventory) == {}
    fab(inventory, "status")
    assert fab(inventory, "deploy").stdout.count(NOOP) == 5
    return out


def wait_for_lines(proc, texts, timeout=60) -> None:
    """Read proc's output until each of `texts` was in some line, in whatever order the
    hosts printed them."""
    left, seen, deadline = set(texts), [], time.monotonic() + timeout
    while left and time.monotonic() < deadline:
        line = proc.stdout.readline()
        seen.append(line)
        left = {t for t in left if t not in line}
    assert not left, f"never saw {sorted(left)}:\n{''.join(seen)}"


def apiserver_flag(data):
    """The apiserver's etcd servers (the lab's etcd named twice): its unit changes."""
    url = data["kubernetes"]["etcd_servers"][0]
    data["kubernetes"]["etcd_servers"] = [url, url + "/"]


@contextlib.contextmanager
def etcd_paused(lab):
    """The lab's etcd stopped (SIGSTOP): the apiserver's /healthz cannot answer ok, so the
    master waits and no node passes its gate until it goes on (SIGCONT)."""
    pid = running(lab.layout)["etcd"]
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT], ids=["killed", "ctrl-c"])
def test_stopped_after_the_writes_the_rerun_restarts_what_they_owe(lab, inventory, sig):
    """Every kubelet's certificate re-issued (so every node writes before the master
    answers; what names the master waits for it) and the apiserver's flag changed: stopped
    once each node wrote, the restarts they owe are recorded on the hosts, and the next
    run does them. The master is held from answering until the signal (the lab's etcd
    paused): a fast master let a node restart its kubelet before the signal came."""
    changed = variant(inventory, "apiserver-flag", apiserver_flag)
    for cert in load(changed).kubernetes.pki_dir.glob("kubelet-*"):
        cert.unlink()
    with etcd_paused(lab):
        proc = start_deploy(changed)
        # every node has written its kubelet certificate (in any order); none restarts before /healthz
        wait_for_lines(proc, [f"[{node}] wrote " for node in NODES])
        proc.send_signal(sig)
        proc.communicate(timeout=60)
    for node in NODES:
        owed = on_host(changed, node, ["test", "-f", f"{layout.OWED_DIR}/{layout.KUBELET}"], check=False)
        assert owed.exit_code == 0, node
    if sig == signal.SIGKILL:
        fab(changed, "unlock", "--force")  # the killed run cannot renew its lease, nor release it

    dry = fab(changed, "deploy", "--dry-run").stdout
    st = fab(changed, "status", check=False)
    for node in NODES:
        assert f"[{node}] restart {layout.KUBELET} {OWED}" in dry, dry
        assert f"{node}: restart of {layout.KUBELET} owed {OWED}" in problems(st.stdout)
    assert st.returncode == 1

    out = finished(changed, killed=False)
    for node in NODES:
        assert f"restarted {layout.KUBELET} {OWED}" in next(l for l in out.splitlines() if l.startswith(f"  {node} "))
    converges(inventory)
    assert not_as_written(inventory) == {}


class Slow(http.server.SimpleHTTPRequestHandler):
    """Serves the release at about 1 MB/s: a download that runs for many seconds."""

    def copyfile(self, source, outputfile):
        while chunk := source.read(64 * 1024):
            outputfile.write(chunk)
            time.sleep(0.06)

    def log_message(self, *args):
        pass


@pytest.fixture
def slow_release(lab, inventory):
    """The lab's release, served slowly from another URL (so its stamp differs)."""
    tarball = lab.layout.releases / urlparse(load(inventory).kubernetes.release_url).path.lstrip("/")
    folder = tarball.parent
    handler = functools.partial(Slow, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    data = tarball.read_bytes()
    yield f"http://127.0.0.1:{server.server_address[1]}/kubernetes.tar.gz", hashlib.sha256(data).hexdigest()
    server.shutdown()


def test_killed_during_the_download_the_rerun_restarts_on_the_new_release(inventory, slow_release):
    url, sha = slow_release
    moved = variant(inventory, "slow-release", lambda d: d["kubernetes"].update(release_url=url, release_sha256=sha))
    proc = start_deploy(moved)
    wait_for_line(proc, f"waiting for {layout.DOWNLOAD}", timeout=120)  # its 5 s progress line
    proc.kill()
    proc.communicate(timeout=30)
    inv = load(moved)
    stamp = f"{inv.kubernetes.install_dir}/.kubefab-release"
    deadline = time.monotonic() + 300
    for h in inv.hosts:  # the downloads go on without fab, and complete
        while on_host(moved, h.name, ["cat", stamp], check=False).stdout.strip() != inv.profile.release_stamp():
            assert time.monotonic() < deadline, h.name
            time.sleep(2)
    assert not_as_written(moved)  # nothing runs the new release yet
    out = finished(moved, killed=True)
    assert f"run {layout.DOWNLOAD}" not in out  # installed already: only the restarts were owed
    assert OWED in out
    converges(inventory)


BROKEN_START = "/etc/systemd/system/kubernetes.apiserver.service.d/kubefab-test-broken.conf"


def test_a_failed_apiserver_start_leaves_the_scheduler_and_controller_manager_owed(inventory, slow_release):
    """The master's activation stops at the apiserver (here: a drop-in that fails its start,
    deterministic where a short --timeout races the stand-in); what it owed the scheduler
    and controller-manager for the new release is done by the next run."""
    url, sha = slow_release
    moved = variant(inventory, "slow-release", lambda d: d["kubernetes"].update(release_url=url, release_sha256=sha))
    on_host(inventory, MASTER, ["sh", "-c", f"mkdir -p {BROKEN_START.rsplit('/', 1)[0]} && "
                                            f"printf '[Service]\\nExecStartPre=/bin/false\\n' > {BROKEN_START} && "
                                            "systemctl daemon-reload"])
    try:
        r = fab(moved, "deploy", "--hosts", MASTER, check=False)
        assert r.returncode == 1, r.stdout
        behind = {u for h, u in not_as_written(moved) if h == MASTER}
        assert {"kubernetes.scheduler.service", "kubernetes.controller-manager.service"} <= behind, behind
        assert f"restart kubernetes.scheduler.service {OWED}" in fab(moved, "deploy", "--dry-run").stdout
    finally:
        on_host(inventory, MASTER, ["sh", "-c", f"rm -f {BROKEN_START} && systemctl daemon-reload"])
    out = finished(moved, killed=False)
    master = next(l for l in out.splitlines() if l.startswith(f"  {MASTER} "))
    assert f"restarted kubernetes.scheduler.service {OWED}" in master, master
    converges(inventory)


DRIFTS = {  # name -> (root command on NODE, what status says, what the dry run shows)
    "disabled": (["systemctl", "disable", "--quiet", layout.PROXY],
                 f"{NODE}: {layout.PROXY} is disabled, wanted enabled", f"[{NODE}] systemctl enable {layout.PROXY}"),
    "stopped": (["systemctl", "stop", layout.PROXY], f"{NODE}: {layout.PROXY} is inactive",
                f"[{NODE}] systemctl start kubernetes.node.target {layout.PROXY}"),
    "owed": (["sh", "-c", f"mkdir -p /var/lib/kubefab/owed && echo by-hand > /var/lib/kubefab/owed/{layout.PROXY}"],
             f"{NODE}: restart of {layout.PROXY} owed {OWED}", f"[{NODE}] restart {layout.PROXY} {OWED}"),
    "leftover": (["mkdir", "-p", "/var/lib/kubefab/stage/upload-1"],
                 f"{NODE}: leftover /var/lib/kubefab/stage/upload-1 (from an interrupted upload)",
                 f"[{NODE}] leftover /var/lib/kubefab/stage/upload-1"),
    "mode": (["chmod", "0644", legacy_paths.KUBELET_KEY], f"{NODE}: {legacy_paths.KUBELET_KEY} mode 0644, wanted 0600",
             f"[{NODE}] set mode/owner {legacy_paths.KUBELET_KEY}"),
}


@pytest.mark.parametrize("drift", DRIFTS, ids=list(DRIFTS))
def test_status_sees_each_drift_the_dry_run_plans(inventory, drift):
    command, said, planned = DRIFTS[drift]
    on_host(inventory, NODE, command)
    try:
        st = fab(inventory, "status", check=False)
        assert st.returncode == 1 and said in problems(st.stdout), st.stdout
        assert planned in fab(inventory, "deploy", "--dry-run").stdout
    finally:
        fab(inventory, "deploy")  # repairs each drift; a leftover goes when it takes the lock
    fab(inventory, "status")
    if drift == "leftover":
        assert on_host(inventory, NODE, ["test", "-e", "/var/lib/kubefab/stage"], check=False).exit_code != 0


def test_status_names_a_node_the_inventory_does_not(inventory):
    inv = load(inventory)
    body = '{"kind": "Node", "apiVersion": "v1", "metadata": {"name": "old-node"}}'
    on_host(inventory, MASTER, ["sh", "-c", f"printf '%s' '{body}' | {inv.kubernetes.bin_dir}/kubectl "
                                            f"-s {inv.local_master_url} create --validate=false -f -"])
    try:
        st = fab(inventory, "status", check=False)
        line = "node old-node is in the cluster but not in hosts.yaml; remove it with: kubectl delete node old-node"
        assert st.returncode == 1 and line in problems(st.stdout)
        assert f"[{MASTER}] {line}" in fab(inventory, "deploy", "--dry-run").stdout
    finally:
        kubectl(inventory, "delete", "node", "old-node")
    fab(inventory, "status")


def test_a_node_deleted_under_self_registration_is_repaired(inventory):
    own = variant(inventory, "self", lambda d: d["kubernetes"].update(registration="self"))
    fab(own, "deploy")
    try:
        kubectl(own, "delete", "node", NODE)
        why = f"Node {NODE} missing from the cluster"
        assert f"[{NODE}] restart {layout.KUBELET} ({why})" in fab(own, "deploy", "--dry-run").stdout
        out = fab(own, "deploy", "--timeout", "60").stdout
        assert f"restarted {layout.KUBELET} ({why})" in out
        assert NODE in nodes(own)
        fab(own, "status")
    finally:
        converges(inventory)

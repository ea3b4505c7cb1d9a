"""What the lab tests of several masters share: the real kubectl of the minor at any
server, the real etcdctl's member list on a master, the leaders' and kubelets' Leases, a
load balancer of the test's own over the masters (an operator's external one, not
kubefab's), and a kubectl loop that records every answer."""
from __future__ import annotations

import json
import subprocess
import threading
import time
from contextlib import contextmanager

from kubefab.inventory import load
from kubefab.profiles.modern import etcd as etcdctl
from kubefab_lab import kubectls

from .helpers import on_host

MINOR = "1.37"
OWN_BALANCER_PORT = 7443


def kubectl_at(inventory, server: str | None = None, tls_server_name: str | None = None, minor: str = MINOR):
    """The real kubectl of the minor with pki/admin.kubeconfig, at another server if given."""
    binary = kubectls.ensure(minor)
    admin = load(inventory, secrets=False).kubernetes.pki_dir / "admin.kubeconfig"
    extra = ([f"--server={server}"] if server else []) + ([f"--tls-server-name={tls_server_name}"]
                                                          if tls_server_name else [])

    def run(*args, check=True, timeout=20, stdin=None):
        r = subprocess.run([str(binary), "--kubeconfig", str(admin), *extra, *args], capture_output=True,
                           text=True, timeout=timeout, input=stdin)
        if check and r.returncode:
            raise AssertionError(f"kubectl {' '.join(args)}: exit {r.returncode}: {r.stderr.strip()}")
        return r
    return run


def members(inventory, inv, on: str) -> list[etcdctl.Member]:
    """The real `etcdctl member list` on a master."""
    out = on_host(inventory, on, etcdctl.members_argv(inv, inv.host(on))).stdout
    return etcdctl.parse_members(out)


def lease_holders(kubectl) -> dict[str, str]:
    out = json.loads(kubectl("-n", "kube-system", "get", "leases", "-o", "json").stdout)
    return {i["metadata"]["name"]: i["spec"].get("holderIdentity", "").split("_")[0] for i in out["items"]}


def node_lease_renewals(kubectl) -> dict[str, str]:
    """Each kubelet's heartbeat (its Lease in kube-node-lease): it moves only while the
    kubelet reaches an apiserver."""
    out = json.loads(kubectl("-n", "kube-node-lease", "get", "leases", "-o", "json").stdout)
    return {i["metadata"]["name"]: i["spec"].get("renewTime", "") for i in out["items"]}


def until(check, seconds: float, every: float = 0.5):
    deadline = time.monotonic() + seconds
    while True:
        try:
            got = check()
        except (subprocess.SubprocessError, AssertionError, ValueError):  # kubectl failed: not yet
            got = None
        if got or time.monotonic() > deadline:
            return got
        time.sleep(every)


def recap(out: str) -> dict[str, str]:
    rows = {}
    for line in out.split("RECAP", 1)[-1].splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[1] in ("unchanged", "changed", "failed"):
            rows[parts[0]] = parts[1]
    return rows




@contextmanager
def own_balancer(lab, inv, on):
    """haproxy on the lab host `on` (OWN_BALANCER_PORT), over every master's apiserver,
    /readyz checked every second, out after two failures, within the apiservers'
    --shutdown-delay-duration (a stopping apiserver fails /readyz while it still serves);
    a slow answer (a busy machine) is no failure for 3 s; yields its URL. The test's stand-in for an operator's load
    balancer in front of the control plane."""
    config = "\n".join(["defaults", "  mode tcp", "  timeout connect 2s", "  timeout client 30s",
                        "  timeout server 30s", "  timeout check 3s", "  retries 3", "  option redispatch",
                        "frontend test_api", f"  bind {on.address}:{OWN_BALANCER_PORT}", "  default_backend masters",
                        "backend masters", "  option httpchk GET /readyz",
                        *(f"  server {m.name} {m.address}:6443 check check-ssl verify none inter 1s fall 2 rise 1"
                          for m in inv.masters), ""])
    lab.run_on(on.name, ["sh", "-c", "cat > /run/test-lb.cfg"], input=config)
    lab.run_on(on.name, ["haproxy", "-D", "-f", "/run/test-lb.cfg", "-p", "/run/test-lb.pid"])
    try:
        yield f"https://{on.address}:{OWN_BALANCER_PORT}"
    finally:
        lab.run_on(on.name, ["sh", "-c", "kill $(cat /run/test-lb.pid)"], check=False)


@contextmanager
def requests_every(kubectl, seconds: float, answers: list, failures: list, *args):
    """kubectl *args every `seconds` while the block runs (after a first answer): each
    answer's time into `answers`, each failure's time and words into `failures`."""
    assert until(lambda: kubectl(*args, check=False).returncode == 0, 15), kubectl(*args, check=False).stderr
    stop = threading.Event()

    def loop():
        while not stop.is_set():
            r = kubectl(*args, check=False, timeout=5)
            (answers if r.returncode == 0 else failures).append((time.monotonic(), r.stderr.strip()[-200:]))
            stop.wait(seconds)
    thread = threading.Thread(target=loop)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()

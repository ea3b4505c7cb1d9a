"""What kubefab does on one host, each step one function of a Connection. No fabric here:
commands are argv lists and sh scripts with their values passed as arguments."""
from __future__ import annotations

import time

from . import facts, registration, render
from .layout import APISERVER, DOWNLOAD, LOCK_DIR, stamp_path
from .model import MANUAL, Inventory
from .plan import HostPlan
from .fleet import Interrupted
from .transport import Connection as Remote, RemoteError

def probe(remote: Remote, inv: Inventory, wanted: dict) -> facts.HostFacts:
    """Everything deploy compares, in one root command; on the master also the
    apiserver's /healthz and node list, so that a no-op run needs nothing more."""
    host = remote.host
    units = (*render.unit_order(inv, host), render.target(host))
    stamp = stamp_path(inv.kubernetes.install_dir)
    api = (inv.local_master_url, kubectl(inv)[0]) if host.is_master else ("", "")
    out = remote.script(facts.PROBE, *facts.probe_args(stamp, LOCK_DIR, wanted, units, *api), check=False)
    if not out.ok:
        raise RemoteError(f"probe failed: {out.why()}")
    return facts.parse(out.stdout, wanted)


def journal(remote: Remote, unit: str, lines: int = 8) -> str:
    """The last lines a unit logged, folded into one line for a reason."""
    r = remote.run(["journalctl", "-u", unit, "-n", str(lines), "--no-pager", "-o", "cat"],
                   sudo=True, check=False)
    return " | ".join(r.stdout.strip().splitlines()[-lines:]) or "(no journal lines)"


def systemctl(remote: Remote, *args: str) -> None:
    remote.run(["systemctl", *args], sudo=True)


def write(remote: Remote, plan: HostPlan) -> None:
    """Files in place, systemd reloaded and units enabled, release installed."""
    remote.install([w.file for w in plan.writes])
    if plan.daemon_reload:
        systemctl(remote, "daemon-reload")
    if plan.enable:
        systemctl(remote, "enable", "--quiet", *plan.enable)
    if plan.download:
        r = remote.run(["systemctl", "restart", DOWNLOAD], sudo=True, check=False)
        if not r.ok:  # the unit keeps the previous binaries in place
            raise RemoteError(f"{DOWNLOAD} failed: {journal(remote, DOWNLOAD)}")


def restart(remote: Remote, units) -> None:
    for unit in units:
        systemctl(remote, "restart", unit)


def wait_healthy(remote: Remote, url: str, timeout: float, progress=None, cancel=None) -> None:
    """Poll the apiserver's /healthz from the master itself until it says ok, as
    wupiao does, but bounded: on timeout, the reason carries the apiserver's journal."""
    deadline, last, start = time.monotonic() + timeout, "", time.monotonic()
    next_note = start + 5
    while True:
        r = remote.run(["curl", "-sS", "--max-time", "2", f"{url}/healthz"], check=False)
        if r.ok and r.stdout.strip() == "ok":
            return
        last = r.stdout.strip() or r.why()
        now = time.monotonic()
        if now >= deadline:
            raise RemoteError(
                f"apiserver at {url} not healthy after {timeout:.0f}s (last answer: {last}); "
                f"journal: {journal(remote, APISERVER)}")
        if progress and now >= next_note:
            progress(f"waiting for {url}/healthz ({now - start:.0f}s): {last}")
            next_note = now + 5
        pause(cancel, 1)


def pause(cancel, seconds: float) -> None:
    """Sleep, but stop at once when the run is cancelled (Ctrl-C)."""
    if cancel is not None and cancel.wait(seconds):
        raise Interrupted()
    if cancel is None:
        time.sleep(seconds)


def kubectl(inv: Inventory) -> list[str]:
    """The release's own kubectl on the master, against the local apiserver."""
    return [f"{inv.kubernetes.bin_dir}/kubectl", "-s", inv.local_master_url]


def get_nodes(remote: Remote, inv: Inventory) -> str:
    return remote.run([*kubectl(inv), "get", "nodes", "-o", "json"]).stdout


def label_nodes(remote: Remote, inv: Inventory, wanted: dict, *, dry_run: bool = False,
                nodes_json: str | None = None):
    """One pass on the master: create the missing nodes (manual mode) and set the
    labels that differ. Returns what it did (or would do) and the states it saw;
    `nodes_json` (from the probe) saves asking for the node list again."""
    states = registration.node_states(nodes_json or get_nodes(remote, inv))
    commands = registration.plan_registration(kubectl(inv), wanted, states,
                                              create=inv.kubernetes.registration == MANUAL)
    for cmd in commands if not dry_run else ():
        r = remote.run(cmd.argv, stdin=cmd.stdin, check=False)
        if not (r.ok or "AlreadyExists" in r.stderr):  # a node's register unit may win a race
            raise RemoteError(f"{cmd.says}: {r.why()}")
    return [cmd.says for cmd in commands], states


def settle_nodes(remote: Remote, inv: Inventory, wanted: dict, timeout: float, note, cancel=None):
    """label_nodes until every wanted node is registered, labelled and Ready; returns
    the nodes that are not, with why, when the timeout passes."""
    deadline = time.monotonic() + timeout
    while True:
        done, states = label_nodes(remote, inv, wanted)
        for what in done:
            note(what)
        pending = {**registration.unready(wanted, states), **registration.unlabelled(wanted, states)}
        if not done and not pending:
            return {}
        if time.monotonic() > deadline:
            return pending
        pause(cancel, 1)


LOCK_SCRIPT = r"""
mkdir -p "$(dirname "$1")"
if mkdir "$1" 2>/dev/null; then printf '%s\n' "$2" > "$1/holder"; exit 0; fi
cat "$1/holder" 2>/dev/null || echo "unknown (no holder file)"; exit 3
"""
UNLOCK_SCRIPT = r"""
if [ -z "$2" ] || grep -qF -- "$2" "$1/holder" 2>/dev/null; then rm -rf "$1"; fi
"""


def lock(remote: Remote, holder: str) -> str | None:
    """Take this host's kubefab lock; None when taken, else who holds it."""
    r = remote.script(LOCK_SCRIPT, LOCK_DIR, holder, check=False)
    if r.exit_code == 0:
        return None
    if r.exit_code == 3:
        return r.stdout.strip()
    raise RemoteError(f"could not take the kubefab lock: {r.why()}")


def unlock(remote: Remote, run_id: str = "") -> None:
    """Release the lock if this run holds it (any holder when run_id is empty)."""
    remote.script(UNLOCK_SCRIPT, LOCK_DIR, run_id)

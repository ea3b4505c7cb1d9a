"""What kubefab does on one host, each step one function of a Connection. No fabric here:
commands are argv lists and sh scripts with their values passed as arguments."""
from __future__ import annotations

import math
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from kubefab import facts, registration
from kubefab.layout import APISERVER, LOCK_DIR, OWED_DIR, STAGE_DIR, stamp_path
from kubefab.model import MANUAL, Inventory
from kubefab.remote.fleet import Interrupted
from kubefab.remote.script import HostScript
from kubefab.remote.transport import Connection, RemoteError, Result

PROBE = HostScript("probe", what="probe")
LOOK = HostScript("look", what="looking", ok=tuple(range(256)))  # its answer is on stdout, even a failed one's


def probe(cxn: Connection, inv: Inventory, wanted: dict) -> facts.HostFacts:
    """Everything deploy compares, in one root command; on the master also
    kubefab.health's checks and the node list, so that a no-op run needs nothing more."""
    host = cxn.host
    units = (*inv.profile.unit_order(host), inv.profile.target(host))
    loopback = inv.profile.loopback()
    api = dict(healthz=inv.profile.health().argv, loopback=loopback.argv if loopback else (),
               kubectl=kubectl(inv)) if host.is_master else {}
    out = PROBE.run(cxn, *facts.probe_args(stamp_path(inv.kubernetes.install_dir), LOCK_DIR, wanted, units, **api,
                                           owed_dir=OWED_DIR, stage_dir=STAGE_DIR))
    return facts.parse(out.stdout, wanted)


def journal(cxn: Connection, unit: str, lines: int = 8) -> str:
    """The last lines a unit logged, folded into one line for a reason."""
    r = cxn.run(["journalctl", "-u", unit, "-n", str(lines), "--no-pager", "-o", "cat"],
                   sudo=True, check=False)
    return " | ".join(r.stdout.strip().splitlines()[-lines:]) or "(no journal lines)"


def systemctl(cxn: Connection, *args: str) -> None:
    cxn.run(["systemctl", *args], sudo=True)


# kubectl commands at once on the master, each on its own channel of the one SSH
# connection (OpenSSH allows 10 by default: MaxSessions)
KUBECTL_AT_ONCE = 6

# Waits look on the host, wupiao's loop: a look every LOOK_EVERY seconds, and a round
# trip only every LOOK_FOR seconds (to hear Ctrl-C, the run's timeout, and say progress).
# The master's download and its apiserver's readiness are on every node's path; a node's
# download only on its own, and five looks a second on each of many hosts are not free
# (a lab's hosts share their cores).
LOOK_EVERY = 0.2
LOOK_EVERY_NODE = 1.0
LOOK_FOR = 2.0
SETTLE_POLL = 0.5  # seconds between the master's looks at the nodes (a kubectl get each)



def look(cxn: Connection, argv, want: set[str], deadline: float, every: float = LOOK_EVERY) -> Result:
    """argv's last answer (as root), once it says one of `want` or after LOOK_FOR seconds
    of looking on the host, `every` seconds (less when the `deadline`, time.monotonic's,
    is nearer); exit_code and stdout are argv's (stdout with its stderr)."""
    seconds = min(LOOK_FOR, max(deadline - time.monotonic(), 0))
    tries = max(1, round(seconds / every))
    r = LOOK.run(cxn, str(tries), f"{every:g}", str(math.ceil(seconds)), "|".join(sorted(want)), *argv)
    code, _, out = r.stdout.partition("\n")
    if not r.ok or not code.isdigit():  # the look itself failed: the connection, sudo
        return r
    return replace(r, exit_code=int(code), stdout=out.strip(), stderr="")


def wait_healthy(cxn: Connection, inv: Inventory, timeout: float, progress=None, cancel=None) -> str:
    """Wait on the master (as root: the check reads the admin key) until kubefab.health's
    check says ok, as wupiao does, but bounded: on timeout, the reason carries the
    apiserver's journal. Returns what was asked, for the operator."""
    check = inv.profile.health()
    start = time.monotonic()
    deadline, next_note = start + timeout, start + 5
    while True:
        r = look(cxn, check.argv, {"ok"}, deadline)
        if r.ok and r.stdout == "ok":
            return check.says
        last = " | ".join(r.stdout.splitlines()) or r.why()  # one line, for the recap
        now = time.monotonic()
        if now >= deadline:
            raise RemoteError(
                f"apiserver at {check.url} not healthy after {timeout:.0f}s (last answer: {last}); "
                f"journal: {journal(cxn, APISERVER)}")
        if progress and now >= next_note:
            progress(f"waiting for {check.url} ({now - start:.0f}s): {last}")
            next_note = now + 5
        pause(cancel, 0)


def pause(cancel, seconds: float) -> None:
    """Sleep, but stop at once when the run is cancelled (Ctrl-C); 0: only that check."""
    if cancel is not None and cancel.wait(seconds):
        raise Interrupted()
    if cancel is None:
        time.sleep(seconds)


def kubectl(inv: Inventory) -> list[str]:
    """The release's own kubectl on the master (the profile's), run with sudo=as_root(inv)."""
    return inv.profile.kubectl()


def as_root(inv: Inventory) -> bool:
    """Whether kubectl(inv)'s credentials are root's."""
    return inv.profile.kubectl_as_root


def get_nodes(cxn: Connection, inv: Inventory) -> str:
    return cxn.run([*kubectl(inv), "get", "nodes", "-o", "json"], sudo=as_root(inv)).stdout


def apply_manifests(cxn: Connection, inv: Inventory) -> str | None:
    """The profile's objects (inv.profile.manifests(): RBAC today), applied with the
    admin's kubectl once the apiserver is ready; idempotent. Returns kubectl's words when
    it changed something, None when all was in place (or the profile has none).
    --validate=false: the objects are kubefab's own, and the check would fetch the
    OpenAPI documents first."""
    manifests = inv.profile.manifests()
    if not manifests:
        return None
    r = cxn.run([*kubectl(inv), "apply", "--validate=false", "-f", "-"], sudo=as_root(inv),
                stdin=manifests.encode(), check=False)
    if not r.ok:
        raise RemoteError(f"kubectl apply of kubefab's objects failed: {r.why()}")
    changed = [line for line in r.stdout.strip().splitlines() if not line.endswith(" unchanged")]
    return "; ".join(changed) or None


def registration_commands(inv: Inventory, wanted: dict, nodes_json: str,
                          operator: dict | None = None) -> list[registration.Command]:
    """What makes the wanted nodes registered (manual mode) and labelled, given the
    master's `kubectl get nodes -o json` (operator: node -> nodes.register's --label)."""
    return registration.plan_registration(kubectl(inv), wanted, registration.node_states(nodes_json),
                                          create=inv.kubernetes.registration == MANUAL, operator=operator)


def run_commands(cxn: Connection, commands, sudo: bool = False) -> None:
    """Registration's kubectl commands on the master, KUBECTL_AT_ONCE at a time: one
    node's in their order (its labels, then their record), different nodes' side by side,
    as is the create of the missing nodes (no other command names them). Each kubectl is a
    process and a request or two: a 20-node cluster's first deploy ran 19 in a row, 3.6 s.
    Every group runs; the first failure, in the commands' order, is raised."""
    groups: dict[tuple, list] = {}
    for cmd in commands:
        groups.setdefault(cmd.nodes, []).append(cmd)

    def in_order(cmds):
        for cmd in cmds:
            run_command(cxn, cmd, sudo)
    if not groups:
        return
    with ThreadPoolExecutor(max_workers=min(KUBECTL_AT_ONCE, len(groups))) as pool:
        futures = [pool.submit(in_order, cmds) for cmds in groups.values()]
    for future in futures:
        future.result()


def run_command(cxn: Connection, cmd, sudo: bool) -> None:
    r = cxn.run(cmd.argv, stdin=cmd.stdin, sudo=sudo, check=False)
    if not (r.ok or "AlreadyExists" in r.stderr):  # a node's register unit may win a race
        raise RemoteError(f"{cmd.says}: {r.why()}")


def label_nodes(cxn: Connection, inv: Inventory, wanted: dict, operator: dict | None = None):
    """One pass on the master: create the missing nodes (manual mode) and set the
    labels that differ. Returns the commands it ran and the states it saw."""
    nodes_json = get_nodes(cxn, inv)
    commands = registration_commands(inv, wanted, nodes_json, operator)
    run_commands(cxn, commands, as_root(inv))
    return commands, registration.node_states(nodes_json)


def settle_nodes(cxn: Connection, inv: Inventory, wanted: dict, timeout: float, note, cancel=None,
                 progress=None, operator: dict | None = None):
    """label_nodes until every wanted node is registered, labelled and Ready (note(cmd)
    for each command run; progress(text) every 5 s: the nodes still pending); returns
    the nodes that are not, with why, when the timeout passes."""
    start, first = time.monotonic(), True
    deadline, next_note = start + timeout, start + 5
    while True:
        done, states = label_nodes(cxn, inv, wanted, operator)
        for cmd in done:
            note(cmd)
        pending = registration.pending(wanted, states, operator)
        if not done and not pending:
            return {}
        now = time.monotonic()
        if now > deadline:  # judged on what the apiserver says after our commands
            return registration.pending(wanted, registration.node_states(get_nodes(cxn, inv)), operator) \
                if done else pending
        if progress and pending and now >= next_note:
            progress(f"waiting for {len(pending)} node(s) ({now - start:.0f}s of {timeout:.0f}s): "
                     + ", ".join(f"{n} {why}" for n, why in sorted(pending.items())))
            next_note = now + 5
        if not (first and done):  # kubectl's changes show at once: the first look again is now
            pause(cancel, SETTLE_POLL)
        first = False

"""One row of the bench on a booted lab: the runs and what each cost (bench/deploy_bench.py
says what the figures are)."""
from __future__ import annotations

import os
import statistics
import time
from contextlib import nullcontext

from kubefab.layout import ONESHOTS, UNIT_DIR
from kubefab.ops.deploy import Deploy
from kubefab.remote.ssh import ssh

import costs
import floors
from floors import timed  # noqa: F401 (the bench's one timer)
from trace_calls import Trace


def download_floor(inv, lab, tracing: bool) -> float:
    busy, own = costs.machine_busy(), costs.own_cpu()
    seconds = floors.download_floor(inv)
    if tracing:
        print(f"download floor ({inv.profile.__class__.__name__}, {len(inv.hosts)} hosts): {seconds:.2f} s; CPU: the "
              f"machine busy {costs.machine_busy() - busy:.1f} s (files put in place too), kubefab's own process "
              f"{costs.own_cpu() - own:.1f} s", flush=True)
    return seconds


class Run:
    """One deploy in this process: wall, this process's CPU, the hosts' CPU by group,
    round trips per host."""

    def __init__(self, inv, lab):
        self.inv, self.lab, self.names = inv, lab, [h.name for h in inv.hosts]
        self.counting = costs.Counting(ssh())
        self.op, self.failed = None, 0

    def __call__(self, trace: Trace | None = None) -> "Run":
        self.counting.reset()
        hosts, busy, own = costs.host_cpu(self.lab.cgroup, self.names), costs.machine_busy(), costs.own_cpu()
        self.before, start = hosts, time.perf_counter()
        try:
            with trace.recording() if trace else nullcontext():
                self.op = floors.quiet(
                    lambda: Deploy(self.inv, list(self.inv.hosts), floors.options(self.inv), connect=self.counting))
        finally:  # its costs, failed hosts or not
            self.wall = time.perf_counter() - start
            self.own, self.busy = costs.own_cpu() - own, costs.machine_busy() - busy
            self.after = costs.host_cpu(self.lab.cgroup, self.names)
            self.node, self.master = costs.per_node(costs.spent(hosts, self.after), self.inv.master.name)
            self.trips = costs.trips(self.counting, self.inv.master.name)
        return self

    def per_host_ms(self) -> float:
        return self.own * 1000 / len(self.names)


def changed_by_hand(inv, lab, wanted: dict) -> callable:
    """A function that changes one managed file on the last node by hand (a config file,
    not a unit file nor a secret, whose change restarts a running unit): what the
    one-change deploy puts back."""
    node = inv.hosts[-1]
    path = next(p for p, f in sorted(wanted[node.name].items())
                if not p.startswith(UNIT_DIR + "/") and not f.secret and set(f.restarts) - set(ONESHOTS))
    return lambda: lab.run_on(node.name, ["sh", "-c", 'echo "# changed by hand" >> "$1"', "sh", path])


def converge(inv, tries: int = 3) -> None:
    """Re-runs until the cluster converged: on an overwhelmed lab a re-run can fail on
    another host's register-node again; the last try's failure is raised."""
    for left in reversed(range(tries)):
        try:
            return floors.quiet(lambda: Deploy(inv, list(inv.hosts), floors.options(inv)))
        except AssertionError as e:
            if not left:
                raise
            print(f"the re-run failed too, trying again:\n{e}", flush=True)


def measure(inv, lab, repeat: int, tracing: bool) -> dict:
    """The fresh deploy first; then, the cluster running (its programs busy on the same
    cores), each floor beside the run it is the floor of, in turns, so both see the
    machine alike: the process floor and a CLI no-op, the ssh floor and a round trip."""
    trace = Trace() if tracing else None
    fresh = Run(inv, lab)
    try:
        fresh(trace)
    except AssertionError as e:  # a lab host that failed (its stand-ins overwhelmed): said, then converged
        print(f"fresh deploy ({len(inv.hosts)} hosts) failed on some hosts, converged by a re-run (not timed):\n{e}",
              flush=True)
        fresh.failed = str(e).count("\n")
        converge(inv)
    if trace:
        cores = os.cpu_count()
        print(f"trace of the fresh deploy ({len(inv.hosts)} hosts):\n{trace.report(inv.master.name)}\n"
              f"CPU: the machine busy {fresh.busy:.1f} s of {fresh.wall * cores:.1f} ({cores} cores x "
              f"{fresh.wall:.1f} s), kubefab's own process {fresh.own:.1f} s\n"
              f"{costs.part_report(fresh.before, fresh.after, inv.master.name)}", flush=True)
    mib = costs.lab_mib(lab.cgroup) / len(inv.hosts)  # the cluster running
    noop = Run(inv, lab)()
    floors.compiled()
    turns = [(floors.process_floor(inv), floors.cli(inv.path)) for _ in range(repeat)]
    pfloor, cli_noop = floors.median([f for f, _ in turns]), floors.median([c for _, c in turns])
    ssh_floor = statistics.median(timed(lambda: floors.ssh_floor(inv)) for _ in range(repeat))
    trip = floors.round_trip(inv)
    change = changed_by_hand(inv, lab, noop.op.wanted)
    cli_change = floors.median([(change(), floors.cli(inv.path))[1] for _ in range(repeat)])
    dry_run = floors.median([floors.cli(inv.path, "--dry-run") for _ in range(repeat)])
    n = len(inv.hosts)
    return {
        "MiB/host": mib, "fresh deploy": fresh.wall, "no-op API": noop.wall, "process floor": pfloor.wall,
        "no-op CLI": cli_noop.wall, "one-change CLI": cli_change.wall, "dry-run CLI": dry_run.wall,
        "ssh floor": ssh_floor, "round trip ms": trip,
        "CPU ms/host fresh": fresh.per_host_ms(), "CPU ms/host no-op": noop.per_host_ms(),
        "CLI CPU ms/host no-op": cli_noop.cpu * 1000 / n, "floor CPU ms/host": pfloor.cpu * 1000 / n,
        "kubefab s/node fresh": fresh.node["kubefab"], "kubefab s master fresh": fresh.master["kubefab"],
        "programs s/node": fresh.node["programs"], "logging s/node": fresh.node["logging"],
        "ended s/node": fresh.node["ended"], "kubefab s/node no-op": noop.node["kubefab"],
        "kubefab s master no-op": noop.master["kubefab"],
        "trips fresh": str(fresh.trips), "trips no-op": str(noop.trips), "renewals": fresh.trips.renewals,
        "failed fresh": fresh.failed,
        "machine busy s": fresh.busy,
    }

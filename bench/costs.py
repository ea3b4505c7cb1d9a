"""What a run costs, apart from what the lab's hosts cost: this process's CPU, the CPU
each lab host spent by part (its cgroups), and the round trips each host's path took
(a counting Connection around the Fleet's own).

A host's parts: kubefab's own commands (sshd's cgroup, where every command kubefab
runs lives, with sudo and the shells; PID 1's init.scope, which does the reloads and
unit starts those commands ask for; logind and dbus, which each login and systemctl
call wake), the logging (journald: the programs' lines and sudo's), the Kubernetes
programs (every other unit still running) and what ended during the run (the
download and the register-node oneshot: their cgroups go when they end)."""
from __future__ import annotations

import os
import resource
import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from kubefab_lab import machines

KUBEFAB_PARTS = ("ssh.service", "init.scope", "systemd-logind.service", "dbus.service")
LOGGING_PARTS = ("systemd-journald.service",)
GROUPS = ("kubefab", "logging", "programs", "ended")


def own_cpu() -> float:
    """This process's CPU seconds so far (all its threads)."""
    t = os.times()
    return t.user + t.system


def children_cpu() -> float:
    """CPU seconds of the child processes this process has waited for (the CLI runs)."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def machine_busy() -> float:
    """The whole machine's busy CPU seconds so far (/proc/stat: all but idle and iowait)."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def mem_available() -> int:
    """MemAvailable, in MiB."""
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) // 1024
    return 0


def lab_mib(group: str) -> float:
    """The MiB the lab's processes hold (the sum of their PSS: shared pages split among
    those who share them), from every cgroup under the lab's."""
    total = 0
    for top in machines.cgroup_dirs(group, ""):
        for procs in top.rglob("cgroup.procs") if top.is_dir() else ():
            for pid in procs.read_text().split():
                try:
                    rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
                except OSError:
                    continue  # gone meanwhile
                total += next(int(line.split()[1]) for line in rollup.splitlines() if line.startswith("Pss:"))
        break  # one hierarchy holds every process once
    return total / 1024


def _usage(d: Path) -> float:
    stat = dict(line.split() for line in (d / "cpu.stat").read_text().splitlines())
    return int(stat["usage_usec"]) / 1e6


def host_cpu(group: str, names) -> dict[tuple[str, str], float]:
    """CPU seconds so far per lab host (cgroup v2 cpu.stat counts a cgroup's descendants):
    (host, "") the whole host, (host, leaf) each leaf cgroup (a unit, sshd's with
    kubefab's commands, PID 1's init.scope). A unit that ended took its cgroup with it:
    it counts in the whole only."""
    out = {}
    for name in names:
        for top in machines.cgroup_dirs(group, name):
            if not (top / "cpu.stat").exists():
                continue  # cgroup v1's name=systemd: no CPU there
            out[name, ""] = _usage(top)
            for stat in top.rglob("cpu.stat"):
                d = stat.parent
                if d != top and not any(c.is_dir() for c in d.iterdir()):
                    out[name, d.name] = out.get((name, d.name), 0.0) + _usage(d)
    return out


def group_of(part: str) -> str:
    if part in KUBEFAB_PARTS or part.startswith(("session-", "user@", "user-")):
        return "kubefab"
    return "logging" if part in LOGGING_PARTS else "programs"


def spent(before: dict, after: dict) -> dict[str, dict[str, float]]:
    """host -> {group: CPU seconds between two host_cpu snapshots} (GROUPS; `ended`: the
    whole host's less its leaves')."""
    out: dict[str, dict[str, float]] = {}
    for (host, part), seconds in after.items():
        used = seconds - before.get((host, part), 0.0)
        row = out.setdefault(host, dict.fromkeys(GROUPS, 0.0))
        if part:
            row[group_of(part)] += used
            row["ended"] -= used
        else:
            row["ended"] += used
    return out


def per_node(groups: dict[str, dict[str, float]], master: str) -> tuple[dict[str, float], dict[str, float]]:
    """(a node's mean, the master's) of spent()'s groups."""
    nodes = [g for h, g in groups.items() if h != master]
    mean = {k: sum(g[k] for g in nodes) / max(len(nodes), 1) for k in GROUPS}
    return mean, groups.get(master, dict.fromkeys(GROUPS, 0.0))


def part_report(before: dict, after: dict, master: str) -> str:
    """Where the lab hosts' CPU went, per leaf cgroup: the nodes' sum, a node's share,
    the master's, largest first (for --trace)."""
    nodes = {h for h, _ in after if h != master}
    parts: dict[str, list[float]] = {}
    for (host, part), seconds in after.items():
        parts.setdefault(part, [0.0, 0.0])[host == master] += seconds - before.get((host, part), 0.0)
    ended = [parts[""][i] - sum(v[i] for p, v in parts.items() if p) for i in (0, 1)]
    rows = sorted(((p, v) for p, v in parts.items() if p and sum(v) >= 0.005), key=lambda pv: -sum(pv[1]))
    rows += [("units that ended (the download, registration)", ended), ("all", parts[""])]
    n = max(len(nodes), 1)
    lines = ["CPU seconds of the lab hosts during it (their cgroups):",
             f"  {'part':<46} {'nodes':>7} {'a node':>7} {'master':>7}"]
    lines += [f"  {p[:46]:<46} {v[0]:>7.2f} {v[0] / n:>7.3f} {v[1]:>7.2f}" for p, v in rows]
    return "\n".join(lines)


# -- round trips ---------------------------------------------------------------------------

class Counting:
    """A Fleet's `connect` that counts, per host, the commands each connection runs:
    round trips on the host's path, and apart from them the lease's renewals (a
    background thread's: on no host's path)."""

    def __init__(self, connect):
        self.connect = connect
        self.trips: Counter = Counter()
        self.renewals: Counter = Counter()
        self.lock = threading.Lock()

    def __call__(self, host):
        return _Counted(self.connect(host), self)

    def reset(self) -> None:
        with self.lock:
            self.trips.clear()
            self.renewals.clear()


class _Counted:
    def __init__(self, inner, counts: Counting):
        self.inner, self.counts, self.host = inner, counts, inner.host

    def open(self):
        self.inner.open()
        return self

    def close(self) -> None:
        self.inner.close()

    def run(self, argv, **kwargs):
        renewal = threading.current_thread().__class__.__name__ == "Renewer"
        with self.counts.lock:
            (self.counts.renewals if renewal else self.counts.trips)[self.host.name] += 1
        return self.inner.run(argv, **kwargs)

    def __getattr__(self, name):  # whatever else a step asks of the transport
        return getattr(self.inner, name)


@dataclass(frozen=True)
class Trips:
    node: int  # the most any node took
    master: int
    renewals: int  # the lease's, the most on any host

    def __str__(self) -> str:
        return f"{self.node}/{self.master}"


def trips(counts: Counting, master: str) -> Trips:
    nodes = [n for h, n in counts.trips.items() if h != master]
    return Trips(max(nodes, default=0), counts.trips.get(master, 0), max(counts.renewals.values(), default=0))

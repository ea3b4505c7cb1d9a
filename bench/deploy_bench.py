"""Deploy speed on labs, per profile (legacy v1.0.1, modern) and size: a fresh deploy, a
no-op deploy, and the download floor, measured in the same run.

The download floor: on fresh lab hosts, every host runs kubefab's download service
(HostRun.download, as deploy runs it) alone, all hosts at once, nothing else; the wall
time until the last host's download is done. kubefab's files are put in place first, not
timed. A fresh deploy cannot beat it; the goal is fresh deploy <= floor + 10 s. The floor
and the fresh deploy each get a freshly booted lab (booted twice per row).
The ssh floor: connect to every host at once and run one command (what a no-op costs at least).
A round trip: one more command on an open connection to the master (median of 20, in ms).

    sudo .venv/bin/python bench/deploy_bench.py [--profile legacy|modern|both] [--sizes 5,20]
                                               [--masters 1,3] [--repeat 3] [--slot N] [--trace]

Needs a machine where `fab lab.up` works. Its own lab state (cgroup `bench`, addresses
127.0.<slot>.100 upward, state in /var/lib/kubefab/bench-lab), so it does not disturb a lab
you have up; --slot (default: KUBEFAB_LAB_SLOT, as the lab tests) keeps two runs apart."""
from __future__ import annotations

import argparse
import dataclasses
import io
import os
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager, nullcontext, redirect_stdout
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "lab")]

from kubefab import plan as planning  # noqa: E402
from kubefab.ops.operation import Step  # noqa: E402
from kubefab.ops.deploy import Deploy, Options  # noqa: E402
from kubefab.ops.guard import CheckIdentity, IssuePki  # noqa: E402
from kubefab.ops.steps import Probe  # noqa: E402
from kubefab.remote.fleet import Fleet  # noqa: E402
from kubefab.inventory import load  # noqa: E402
from kubefab.remote.ssh import Remote  # noqa: E402
from kubefab.layout import DOWNLOAD_TIMEOUT  # noqa: E402
from kubefab_lab import Lab, machines  # noqa: E402
from kubefab_lab.services import free_port_pair  # noqa: E402

MODERN = "v1.37.1"  # the modern profile's release in the bench (--modern-version)


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def cpu_seconds() -> tuple[float, float]:
    """(this process's CPU seconds, the whole machine's busy CPU seconds): a trace says
    how much of a run's time the cores were busy, and with whose work."""
    own = os.times()
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    busy = sum(fields) - fields[3] - fields[4]  # all but idle and iowait
    return own.user + own.system, busy / os.sysconf("SC_CLK_TCK")


def host_cpu(group: str, names) -> dict[tuple[str, str], float]:
    """CPU seconds so far per lab host (cgroup v2 cpu.stat, which counts a cgroup's
    descendants): (host, "") the whole host, (host, unit) each leaf cgroup (a unit, sshd's
    sessions with it, PID 1's init.scope). A unit that ended (a oneshot: the download,
    registration) took its cgroup with it: it counts in the whole only."""
    def usage(d: Path) -> float:
        stat = dict(line.split() for line in (d / "cpu.stat").read_text().splitlines())
        return int(stat["usage_usec"]) / 1e6
    out = {}
    for name in names:
        for top in machines.cgroup_dirs(group, name):
            if not (top / "cpu.stat").exists():
                continue  # cgroup v1's name=systemd: no CPU there
            out[name, ""] = usage(top)
            for stat in top.rglob("cpu.stat"):
                d = stat.parent
                if d != top and not any(c.is_dir() for c in d.iterdir()):
                    out[name, d.name] = out.get((name, d.name), 0.0) + usage(d)
    return out


def cpu_report(before: dict, after: dict, master: str) -> str:
    """Where the lab hosts' CPU went between two host_cpu snapshots: per part, the nodes'
    sum (and per node) beside the master's, largest first."""
    nodes = {h for h, _ in after if h != master}
    parts: dict[str, list[float]] = {}
    for (host, part), seconds in after.items():
        spent = seconds - before.get((host, part), 0.0)
        parts.setdefault(part, [0.0, 0.0])[host == master] += spent
    ended = [parts[""][i] - sum(v[i] for p, v in parts.items() if p) for i in (0, 1)]
    rows = sorted(((p, v) for p, v in parts.items() if p and sum(v) >= 0.005), key=lambda pv: -sum(pv[1]))
    rows += [("units that ended (the download, registration)", ended), ("all", parts[""])]
    n = max(len(nodes), 1)
    lines = ["CPU seconds of the lab hosts during it (their cgroups):",
             f"  {'part':<46} {'nodes':>7} {'a node':>7} {'master':>7}"]
    lines += [f"  {p[:46]:<46} {v[0]:>7.2f} {v[0] / n:>7.3f} {v[1]:>7.2f}" for p, v in rows]
    return "\n".join(lines)


class DownloadFloor(Deploy):
    """Deploy's facts and plans; then on every host at once its files in place and units
    enabled (not timed), then only the download service, timed until the last is done."""
    seconds = 0.0

    def steps(self):
        """Deploy's steps up to the PKI (its probe, identity, PKI: the files are rendered
        from it), then the floor."""
        steps = super().steps()
        return [s for s in steps if isinstance(s, (Probe, CheckIdentity, IssuePki))] + [Floor(self)]


class Floor(Step):
    def plan(self) -> dict:
        op = self.op
        op.plans = {h.name: planning.plan_host(h, op.wanted[h.name], op.facts[h.name],
                                               units=op.inv.profile.unit_order(h), target=op.inv.profile.target(h),
                                               stamp=op.inv.profile.release_stamp())
                    for h in op.fleet.ok(op.targets)}
        return {n: ["download"] for n in op.plans}

    def show(self, plan) -> None:
        pass

    def apply(self, plan) -> None:
        op = self.op
        hosts = [h for h in op.targets if h.name in op.plans]
        op.each(lambda h: h.write(dataclasses.replace(op.plans[h.name], download=False)), hosts)
        assert not op.fleet.failed, op.fleet.failed
        start = time.perf_counter()
        op.each(lambda h: h.download(), hosts)
        op.seconds = time.perf_counter() - start


def quiet(make):
    """make() -> an operation (its PKI notes too), run without its progress; returns it."""
    with redirect_stdout(io.StringIO()) as out:
        op = make()
        code = op.run()
    assert code == 0, out.getvalue()[-3000:]
    return op


def options(inv) -> Options:
    return Options(parallel=len(inv.hosts))  # the pool is never the limit


def floor(inv) -> float:
    return quiet(lambda: DownloadFloor(inv, list(inv.hosts), options(inv))).seconds


def ssh_floor(inv) -> None:
    """Connect to every host in parallel and run one command: the least a run costs."""
    with Fleet(list(inv.hosts), parallel=len(inv.hosts)) as fleet:
        fleet.each(lambda r: r.run(["true"]))
        assert not fleet.failed, fleet.failed


def round_trip(inv, n: int = 20) -> float:
    """One command on an open connection (the master's), median of n, in ms: what each
    step of a host's path costs beyond its own work."""
    with Fleet([inv.master], parallel=1) as fleet:
        times = fleet.each(lambda r: [timed(lambda: r.run(["true"])) for _ in range(n)])[inv.master.name]
        assert not fleet.failed, fleet.failed
    return statistics.median(times) * 1000


def deploy(inv) -> None:
    quiet(lambda: Deploy(inv, list(inv.hosts), options(inv)))


class Trace:
    """Every remote command of a run (Remote.run, which script/install/read use too): host,
    start, duration, what; then where the run's time went, per kind of command."""

    def __init__(self):
        self.calls: list[tuple[str, float, float, str]] = []
        self.start = time.perf_counter()

    @contextmanager
    def recording(self):
        original = Remote.run

        def run(remote, argv, **kwargs):
            began = time.perf_counter()
            try:
                return original(remote, argv, **kwargs)
            finally:
                self.calls.append((remote.host.name, began - self.start, time.perf_counter() - began,
                                   kind(argv)))
        Remote.run = run
        try:
            yield self
        finally:
            Remote.run = original

    def report(self, master: str) -> str:
        """Per kind: how many, the first start and last end (s into the run), the summed time;
        then the master's commands in order."""
        kinds: dict[str, list] = {}
        for host, began, took, what in self.calls:
            kinds.setdefault(what, []).append((began, began + took, took))
        lines = [f"{'command':<40} {'n':>4} {'first':>7} {'last end':>8} {'sum':>7}"]
        for what, spans in sorted(kinds.items(), key=lambda kv: min(s[0] for s in kv[1])):
            lines.append(f"{what:<40} {len(spans):>4} {min(s[0] for s in spans):>7.2f} "
                         f"{max(s[1] for s in spans):>8.2f} {sum(s[2] for s in spans):>7.2f}")
        lines.append(f"{master}:")
        lines += [f"  {began:7.2f} {took:6.2f} {what}" for host, began, took, what in self.calls if host == master]
        return "\n".join(lines)


def kind(argv: list[str]) -> str:
    """A command's kind, for the trace: a script by its first line that does something, else
    the program and its first word that is no option (kubectl: its verb)."""
    if argv[:2] == ["sh", "-c"]:
        body = [l.strip() for l in argv[2].splitlines() if l.strip() and not l.strip().startswith(("#", "set "))]
        return f"sh: {body[0][:34] if body else ''}"
    words = [Path(argv[0]).name] + [a for a in argv[1:] if not a.startswith("-")]
    if words[0] == "kubectl":
        verbs = [w for w in words[1:] if w in ("get", "label", "annotate", "patch", "create", "apply", "auth")]
        return " ".join(words[:1] + verbs[:1])
    return " ".join(words[:2])[:40]


def cli_deploy(path) -> None:
    env = {**os.environ, "KUBEFAB_INVENTORY": str(path),
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    subprocess.run([str(Path(sys.executable).parent / "fab"), "deploy", "--parallel", "50"],
                   cwd=ROOT, env=env, check=True, capture_output=True)



def make_lab(slot: int) -> Lab:
    """The bench's lab, apart from the README's (slot 0) and the lab tests' of any slot."""
    tag = "" if not slot else f"-slot{slot}"
    return Lab(state_dir=Path(f"/var/lib/kubefab/bench-lab{tag}"), build_dir=ROOT / f"build/bench-lab{tag}",
               first_address=100, net=f"127.0.{slot}", etcd_port=2479 if not slot else free_port_pair(),
               cgroup=f"bench{tag}", log=lambda m: None)


def booted(slot: int, size: int, version: str | None, work, masters: int = 1):
    """work(inventory path, lab) on a fresh lab of `size` hosts (`masters` of them masters);
    the lab's boot time too."""
    lab = make_lab(slot)
    boot = timed(lambda: lab.up(ROOT / "hosts.yaml", nodes=size - masters, version=version, masters=masters))
    try:
        return boot, work(lab.inventory_path, lab)
    finally:
        lab.down()


def bench(profile: str, size: int, repeat: int, slot: int, modern: str, tracing: bool = False,
          masters: int = 1) -> dict:
    version = modern if profile == "modern" else None

    def floors(path, lab):
        before = cpu_seconds()
        seconds = floor(load(path))
        if tracing:
            own, busy = [b - a for a, b in zip(before, cpu_seconds())]
            print(f"download floor ({profile}, {size} hosts): {seconds:.2f} s; CPU: the machine busy {busy:.1f} s "
                  f"(files put in place too), kubefab's own process {own:.1f} s", flush=True)
        return seconds

    def deploys(path, lab):
        inv = load(path)
        ssh = [timed(lambda: ssh_floor(inv)) for _ in range(repeat)]
        trip = round_trip(inv)
        trace = Trace()
        names = [h.name for h in inv.hosts]
        before, hosts_before = cpu_seconds(), host_cpu(lab.cgroup, names) if tracing else {}
        with trace.recording() if tracing else nullcontext():
            fresh = timed(lambda: deploy(inv))
        if tracing:
            (own, busy), cores = [b - a for a, b in zip(before, cpu_seconds())], os.cpu_count()
            print(f"trace of the fresh deploy ({profile}, {size} hosts):\n{trace.report(inv.master.name)}\n"
                  f"CPU: the machine busy {busy:.1f} s of {fresh * cores:.1f} ({cores} cores x {fresh:.1f} s), "
                  f"kubefab's own process {own:.1f} s\n"
                  f"{cpu_report(hosts_before, host_cpu(lab.cgroup, names), inv.master.name)}", flush=True)
        noops = [timed(lambda: deploy(inv)) for _ in range(repeat)]
        cli = [timed(lambda: cli_deploy(path)) for _ in range(repeat)]
        return fresh, statistics.median(noops), statistics.median(cli), statistics.median(ssh), trip

    boot, down = booted(slot, size, version, floors, masters)
    _, (fresh, noop, cli, ssh, trip) = booted(slot, size, version, deploys, masters)
    return {"profile": f"{profile} {modern if version else 'v1.0.1'}", "hosts": size, "masters": masters,
            "lab up": boot,
            "download floor": down, "fresh deploy": fresh, "fresh - floor": fresh - down,
            "no-op deploy": noop, "no-op CLI": cli, "ssh floor": ssh, "round trip ms": trip}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 epilog=__doc__.split("\n\n", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--profile", choices=("legacy", "modern", "both"), default="both")
    ap.add_argument("--sizes", default="5,20", help="hosts per lab, comma-separated (default: 5,20)")
    ap.add_argument("--repeat", type=int, default=3, help="no-op deploys and ssh floors per row (median)")
    ap.add_argument("--slot", type=int, default=int(os.environ.get("KUBEFAB_LAB_SLOT", "0")),
                    help="lab slot 0-9: addresses 127.0.<slot>.100 up (default: KUBEFAB_LAB_SLOT or 0)")
    ap.add_argument("--modern-version", default=MODERN, help=f"the modern profile's release (default: {MODERN})")
    ap.add_argument("--masters", default="1",
                    help="masters per lab, comma-separated (default: 1); several: the modern profile only")
    ap.add_argument("--trace", action="store_true",
                    help="print where each fresh deploy's time went (every remote command, by kind)")
    args = ap.parse_args()
    profiles = ("legacy", "modern") if args.profile == "both" else (args.profile,)
    print("seconds, wall clock. download floor: every host runs only its download service, all at once,\n"
          "on fresh hosts (files in place first, not timed). goal: fresh deploy <= download floor + 10 s.",
          flush=True)
    keys, rows = None, []
    for profile, n, m in [(p, n, m) for p in profiles for n in args.sizes.split(",") for m in args.masters.split(",")
                          if m == "1" or p == "modern"]:  # the v1.0 profile runs one master
        row = bench(profile, int(n), args.repeat, args.slot, args.modern_version, args.trace, int(m))
        if keys is None:
            keys = list(row)
            print(" | ".join(f"{k:>15}" for k in keys), flush=True)
        print(" | ".join(f"{row[k]:>15.2f}" if isinstance(row[k], float) else f"{row[k]:>15}"
                         for k in keys), flush=True)
        rows.append(row)
    for row in rows:
        verdict = "within" if row["fresh - floor"] <= 10 else "NOT within"
        print(f"{row['profile']}, {row['hosts']} hosts ({row['masters']} master(s)): fresh deploy {verdict} "
              f"download floor + 10 s; "
              f"no-op = {row['no-op deploy'] / row['ssh floor']:.2f} x ssh floor")


if __name__ == "__main__":
    main()

"""The floors a run is measured against, and the CLI runs themselves:

- the download floor: on fresh lab hosts, every host runs kubefab's download service
  (run-download.sh, then HostRun.await_download, as deploy runs them) alone, all hosts at once, nothing else; the wall
  time until the last host's download is done (kubefab's files put in place first, not
  timed). A fresh deploy cannot beat it.
- the process floor: a child process that imports paramiko, connects to every host and
  runs `true` (bench/process_floor.py): the least a CLI run costs.
- the ssh floor and a round trip, in this process: connecting to every host and one
  command each; one more command on an open connection (ms)."""
from __future__ import annotations

import dataclasses
import io
import os
import statistics
import subprocess
import sys
import time
from contextlib import redirect_stdout
from pathlib import Path

from kubefab.ops.deploy import ConvergeHosts, Deploy, Options
from kubefab.layout import DOWNLOAD
from kubefab.ops.host import RUN_DOWNLOAD
from kubefab.remote.fleet import Fleet

import costs

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def options(inv) -> Options:
    return Options(parallel=len(inv.hosts))  # the pool is never the limit


def quiet(make):
    """make() -> an operation (its PKI notes too), run without its progress; returns it."""
    with redirect_stdout(io.StringIO()) as out:
        op = make()
        code = op.run()
    if code:
        said = out.getvalue()
        failed = [line for line in said.rsplit("\nRECAP\n", 1)[-1].splitlines() if " failed " in line]
        raise AssertionError(f"{type(op).__name__} failed (exit {code}):\n" + "\n".join(failed or [said[-3000:]]))
    return op


class DownloadFloor(Deploy):
    """Deploy's steps up to converging; then on every host at once its files in place and
    units enabled (not timed), then only the download service, timed until the last is done."""
    seconds = 0.0

    def steps(self):
        steps = super().steps()
        at = next(i for i, s in enumerate(steps) if isinstance(s, ConvergeHosts))
        return [*steps[:at], Floor(self)]


class Floor(ConvergeHosts):
    def show(self, plan) -> None:
        pass

    def apply(self, plan) -> None:
        op = self.op
        hosts = [h for h in op.targets if h.name in op.plans]
        op.each(lambda h: h.write(dataclasses.replace(op.plans[h.name], download=False)), hosts)
        assert not op.fleet.failed, op.fleet.failed
        start = time.perf_counter()
        op.each(download, hosts)
        op.seconds = time.perf_counter() - start


def download(h) -> None:
    """The download unit queued (as deploy's write batch queues it), then awaited."""
    RUN_DOWNLOAD.run(h.cxn, DOWNLOAD, what=f"starting {DOWNLOAD}")
    h.await_download()


def download_floor(inv) -> float:
    return quiet(lambda: DownloadFloor(inv, list(inv.hosts), options(inv))).seconds


def ssh_floor(inv) -> None:
    """Connect to every host in parallel and run one command, in this process."""
    with Fleet(list(inv.hosts), parallel=len(inv.hosts)) as fleet:
        fleet.each(lambda r: r.run(["true"]))
        assert not fleet.failed, fleet.failed


def round_trip(inv, n: int = 20) -> float:
    """One command on an open connection (the master's), median of n, in ms."""
    with Fleet([inv.master], parallel=1) as fleet:
        times = fleet.each(lambda r: [timed(lambda: r.run(["true"])) for _ in range(n)])[inv.master.name]
        assert not fleet.failed, fleet.failed
    return statistics.median(times) * 1000


@dataclasses.dataclass(frozen=True)
class Child:
    wall: float  # seconds
    cpu: float  # CPU seconds of the child process


def child(argv: list[str], env: dict | None = None) -> Child:
    """A child process, timed: wall and its own CPU."""
    cpu = costs.children_cpu()
    start = time.perf_counter()
    r = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    assert r.returncode == 0, (argv[:3], r.stdout[-2000:], r.stderr[-2000:])
    return Child(wall, costs.children_cpu() - cpu)


def process_floor(inv) -> Child:
    ssh = inv.master.ssh
    return child([sys.executable, str(HERE / "process_floor.py"), ssh.user, str(ssh.identity), str(ssh.known_hosts),
                  *(h.address for h in inv.hosts)])


def compiled() -> None:
    """This tree's modules compiled once, as pip compiles an installed package: a CLI run
    then reads them, as an operator's does, even with PYTHONDONTWRITEBYTECODE set (each
    run compiled kubefab and the lab from source then: about 75 ms of its CPU)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "kubefab"), str(ROOT / "lab" / "kubefab_lab")],
                   env=env, check=True, capture_output=True)


def cli(path, *args: str) -> Child:
    """`kubefab deploy` on the lab's inventory, every host at once: the command's own entry
    point (kubefab.cli.main), this tree's code (compiled first: compiled())."""
    env = {**os.environ, "KUBEFAB_INVENTORY": str(path),
           "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "lab"), os.environ.get("PYTHONPATH", "")])}
    return child([sys.executable, "-c", "from kubefab.cli import main; main()", "deploy", "--parallel", "500", *args],
                 env)


def median(children: list[Child]) -> Child:
    return Child(statistics.median(c.wall for c in children), statistics.median(c.cpu for c in children))

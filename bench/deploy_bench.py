"""Deploy speed on labs of 5 and 20 hosts: a fresh deploy, a no-op deploy, and the
floor (parallel SSH connect plus one command per host), measured in the same run.

    sudo .venv/bin/python bench/deploy_bench.py [--sizes 5,20] [--repeat 3]

Needs a machine where `fab lab.up` works; uses its own lab state (cgroup `bench`,
addresses from 127.0.0.100) so it does not disturb a lab you have up."""
from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import sys
import time
from contextlib import redirect_stdout
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kubefab.deploy import Deploy, Options  # noqa: E402
from kubefab.fleet import Fleet  # noqa: E402
from kubefab.inventory import load  # noqa: E402
from kubefab_lab import Lab  # noqa: E402


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def floor(inv) -> None:
    """Connect to every host in parallel and run one command: the least a run costs."""
    with Fleet(list(inv.hosts), parallel=len(inv.hosts)) as fleet:
        fleet.each(lambda r: r.run(["true"]))
        assert not fleet.failed, fleet.failed


def deploy(inv) -> None:
    with redirect_stdout(io.StringIO()) as out:
        code = Deploy(inv, list(inv.hosts), Options(parallel=len(inv.hosts))).run()
    assert code == 0, out.getvalue()[-3000:]


def cli_deploy(path) -> None:
    env = {**os.environ, "KUBEFAB_INVENTORY": str(path)}
    subprocess.run([str(Path(sys.executable).parent / "fab"), "deploy", "--parallel", "50"],
                   cwd=ROOT, env=env, check=True, capture_output=True)


def bench(size: int, repeat: int) -> dict:
    lab = Lab(state_dir=Path("/var/lib/kubefab/bench-lab"), build_dir=ROOT / "build/bench-lab",
              first_address=100, etcd_port=2479, cgroup="bench", log=lambda m: None)
    boot = timed(lambda: lab.up(ROOT / "hosts.yaml", nodes=size - 1))
    try:
        inv = load(lab.inventory_path)
        floors = [timed(lambda: floor(inv)) for _ in range(repeat)]
        fresh = timed(lambda: deploy(inv))
        noops = [timed(lambda: deploy(inv)) for _ in range(repeat)]
        cli = [timed(lambda: cli_deploy(lab.inventory_path)) for _ in range(repeat)]
        floors += [timed(lambda: floor(inv)) for _ in range(repeat)]
    finally:
        lab.down()
    return {"hosts": size, "lab up": boot, "floor": statistics.median(floors),
            "fresh deploy": fresh, "no-op deploy": statistics.median(noops),
            "no-op `fab deploy` (CLI)": statistics.median(cli)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="5,20")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    rows = [bench(int(n), args.repeat) for n in args.sizes.split(",")]
    keys = list(rows[0])
    print(" | ".join(f"{k:>24}" for k in keys))
    for row in rows:
        print(" | ".join(f"{row[k]:>24.2f}" if isinstance(row[k], float) else f"{row[k]:>24}" for k in keys))
    for row in rows:
        print(f"{row['hosts']} hosts: no-op deploy = {row['no-op deploy'] / row['floor']:.2f} x floor")


if __name__ == "__main__":
    main()

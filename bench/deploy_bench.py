"""What a deploy costs, per profile (legacy v1.0.1, modern) and lab size, measured in one
run on freshly booted labs (booted twice per row: one for the download floor, one for
the rest):

- wall: the download floor and a fresh deploy beside it; the process floor (a child
  process that imports paramiko, connects to every host and runs `true`) and, beside
  it, the CLI's no-op and one-change deploys (one managed file on one node changed by
  hand first); the ssh floor and a round trip in this process.
- cost: kubefab's own process CPU per host (fresh and no-op in this process, the CLI's
  no-op as a child); the CPU each lab host spent (its cgroups) on kubefab's own commands
  (sshd with every command kubefab runs, PID 1's reloads and starts, logind, dbus),
  apart from the Kubernetes programs', the logging's and what ended (the download, the
  register-node oneshot); SSH round trips per host (the most any node took / the
  master's), the lease's renewals apart.

    sudo .venv/bin/python bench/deploy_bench.py [--profile legacy|modern|both] [--sizes 5,20,50]
                                               [--masters 1,3] [--repeat 3] [--slot N] [--trace]

Needs a machine where `kubefab lab.up` works. Its own lab state (cgroup `bench`, addresses
127.0.<slot>.100 upward, lower for more than 155 hosts; state in /var/lib/kubefab/bench-lab),
so it does not disturb a lab you have up; --slot (default: KUBEFAB_LAB_SLOT, as the lab
tests) keeps two runs apart. A size the machine's memory cannot hold is skipped, saying
so with the figures."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE), str(ROOT), str(ROOT / "lab")]

from kubefab.inventory import load  # noqa: E402
from kubefab_lab import Lab, machines  # noqa: E402
from kubefab_lab.services import free_port_pair  # noqa: E402

import costs  # noqa: E402
import report  # noqa: E402
import runs  # noqa: E402

MODERN = "v1.37.1"  # the modern profile's release in the bench (--modern-version)
MIB_PER_HOST = 60  # a lab host running the stand-in cluster, with room (TESTBED.md: 38 MiB)
MIB_SPARE = 3072  # left for the machine and the others on it


def make_lab(slot: int, size: int) -> Lab:
    """The bench's lab, apart from the README's (slot 0) and the lab tests' of any slot."""
    tag = "" if not slot else f"-slot{slot}"
    first = min(100, 255 - size)
    return Lab(state_dir=Path(f"/var/lib/kubefab/bench-lab{tag}"), build_dir=ROOT / f"build/bench-lab{tag}",
               first_address=first, net=f"127.0.{slot}", etcd_port=2479 if not slot else free_port_pair(),
               cgroup=f"bench{tag}", log=lambda m: None)


def booted(slot: int, size: int, version: str | None, work, masters: int = 1):
    """work(inventory, lab) on a fresh lab of `size` hosts, `masters` of them masters; (its
    boot seconds, work's answer)."""
    lab = make_lab(slot, size)
    machines.raise_inotify_limit(1024 + 16 * size)  # the lab's 1024 runs out past about 150 hosts
    boot = runs.timed(lambda: lab.up(ROOT / "hosts.yaml", nodes=size - masters, version=version,
                                            masters=masters))
    try:
        return boot, work(load(lab.inventory_path), lab)
    finally:
        lab.down()


def fits(size: int) -> str | None:
    """Why the machine cannot hold a lab of `size` hosts, or None."""
    need, free = size * MIB_PER_HOST + MIB_SPARE, costs.mem_available()
    if free < need:
        return (f"{size} hosts need about {need} MiB ({MIB_PER_HOST} a host and {MIB_SPARE} spare), "
                f"{free} MiB available")
    return None


def bench(profile: str, size: int, repeat: int, slot: int, modern: str, tracing: bool, masters: int = 1) -> dict:
    version = modern if profile == "modern" else None
    boot, floor = booted(slot, size, version, lambda inv, lab: runs.download_floor(inv, lab, tracing), masters)
    _, row = booted(slot, size, version, lambda inv, lab: runs.measure(inv, lab, repeat, tracing), masters)
    several = f" ({masters} masters)" if masters > 1 else ""
    return {"profile": f"{profile} {modern if version else 'v1.0.1'}{several}", "hosts": size, "lab up": boot,
            "download floor": floor, **row}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 epilog=__doc__.split("\n\n", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--profile", choices=("legacy", "modern", "both"), default="both")
    ap.add_argument("--sizes", default="5,20,50", help="hosts per lab, comma-separated (default: 5,20,50)")
    ap.add_argument("--repeat", type=int, default=3, help="CLI runs and floors per row (median)")
    ap.add_argument("--slot", type=int, default=int(os.environ.get("KUBEFAB_LAB_SLOT", "0")),
                    help="lab slot 0-9: addresses 127.0.<slot>.100 up (default: KUBEFAB_LAB_SLOT or 0)")
    ap.add_argument("--modern-version", default=MODERN, help=f"the modern profile's release (default: {MODERN})")
    ap.add_argument("--masters", default="1",
                    help="masters per lab, comma-separated (default: 1); several: the modern profile only")
    ap.add_argument("--trace", action="store_true",
                    help="print where each fresh deploy's time went (every remote command, by kind; CPU per cgroup)")
    args = ap.parse_args()
    profiles = ("legacy", "modern") if args.profile == "both" else (args.profile,)
    print(f"load average at the start: {os.getloadavg()[0]:.2f}; {costs.mem_available()} MiB available", flush=True)
    rows = []
    for profile, n, m in [(p, int(n), int(m)) for p in profiles for n in args.sizes.split(",")
                          for m in args.masters.split(",") if m == "1" or p == "modern"]:  # v1.0: one master
        why = fits(n)
        if why:
            print(f"{profile}, {n} hosts: skipped: {why}", flush=True)
            continue
        row = bench(profile, n, args.repeat, args.slot, args.modern_version, args.trace, m)
        print(report.row_line(row), flush=True)
        rows.append(row)
    print(report.tables(rows))
    print(report.goals(rows))
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()

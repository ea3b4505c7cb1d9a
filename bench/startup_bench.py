"""What a run costs before it reaches a host, no lab needed:

- the CLI's start: `kubefab --list`, `kubefab --help deploy` (as an operator's install
  has them: the lab's tasks, test infrastructure, left out) and the imports a deploy
  needs, each a child process (median wall and CPU);
- rendering a fleet: an inventory of N hosts loaded, its PKI, every host's files, per host;
- SSH connections made without connecting: N `Remote`s sharing a run's Reach, with a
  known_hosts of N lines (read once per run), per host.

    .venv/bin/python bench/startup_bench.py [--sizes 5,50,200] [--repeat 5]"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE), str(ROOT)]

import costs  # noqa: E402

AS_INSTALLED = """
import importlib.metadata, sys
found = importlib.metadata.entry_points
importlib.metadata.entry_points = lambda **kw: [] if kw.get("group") == "kubefab.tasks" else found(**kw)
sys.argv = ["kubefab", *sys.argv[1:]]
from kubefab.cli import main
main()
"""
DEPLOY_IMPORTS = "import kubefab.cli, kubefab.inventory, kubefab.pki, kubefab.ops.deploy, kubefab.remote.ssh"

FLEET = """
import os, sys, time
sys.path[:0] = [{root!r}]
os.environ.setdefault("KUBEFAB_REGISTRY_TOKEN", "TOKEN-bench-0123456789abcdef")
from kubefab.inventory import load
from kubefab import pki, render
start = time.process_time()
inv = load({path!r})
keys = pki.ensure(inv)
for host in inv.hosts:
    render.render_host(inv, host, keys)
print((time.process_time() - start) * 1000 / len(inv.hosts))
"""

REMOTES = """
import os, sys, time
sys.path[:0] = [{root!r}]
os.environ.setdefault("KUBEFAB_REGISTRY_TOKEN", "TOKEN-bench-0123456789abcdef")
from kubefab.inventory import load
from kubefab.remote.ssh import Remote
from kubefab.remote.ssh.reach import Reach
inv = load({path!r})
start = time.process_time()
reach = Reach()  # a run's: known_hosts and ssh_config read once, shared by its Remotes
remotes = [Remote(h, reach=reach) for h in inv.hosts]
print((time.process_time() - start) * 1000 / len(inv.hosts))
"""


def child(argv: list[str], env=None) -> tuple[float, float, str]:
    cpu, start = costs.children_cpu(), time.perf_counter()
    r = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    assert r.returncode == 0, r.stderr[-2000:]
    return wall, costs.children_cpu() - cpu, r.stdout


def startup(repeat: int) -> list[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    rows = []
    for what, argv in (("python -c pass", ["-c", "pass"]), ("kubefab --list", ["-c", AS_INSTALLED, "--list"]),
                       ("kubefab --help deploy", ["-c", AS_INSTALLED, "--help", "deploy"]),
                       ("a deploy's imports", ["-c", DEPLOY_IMPORTS]), ("import paramiko", ["-c", "import paramiko"])):
        runs = [child([sys.executable, *argv], env) for _ in range(repeat)]
        rows.append(f"  {what:<24} {statistics.median(w for w, _, _ in runs) * 1000:7.0f} ms wall "
                    f"{statistics.median(c for _, c, _ in runs) * 1000:7.0f} ms CPU")
    return rows


def inventory(folder: Path, size: int, version: str) -> Path:
    """hosts.yaml with `size` hosts (the master and size-1 nodes), a known_hosts line each."""
    text = (ROOT / "hosts.yaml").read_text().replace("version: v1.0.1", f"version: {version}")
    head = text.split("\nhosts:\n")[0].replace("known_hosts: ~/.ssh/known_hosts", "known_hosts: known_hosts")
    if version != "v1.0.1":  # a modern cluster runs its own etcd (a plain-http one is refused)
        head = re.sub(r"\n  etcd_servers:\n(    - .*\n)+", "\n", head)
    addresses = [f"10.1.{i // 250}.{i % 250 + 1}" for i in range(size)]
    hosts = "".join(f"  host-{i:03}:\n    address: {a}\n" + ("    role: master\n" if i == 0 else "")
                    for i, a in enumerate(addresses))
    (folder / "hosts.yaml").write_text(f"{head}\nhosts:\n{hosts}")
    key = "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
    (folder / "known_hosts").write_text("".join(f"{a} ssh-ed25519 {key}\n" for a in addresses))
    return folder / "hosts.yaml"


def per_host(sizes: list[int]) -> list[str]:
    rows = []
    for size in sizes:
        for version in ("v1.0.1", "v1.37.1"):
            with tempfile.TemporaryDirectory() as tmp:
                path = inventory(Path(tmp), size, version)
                _, _, out = child([sys.executable, "-c", FLEET.format(root=str(ROOT), path=str(path))])
                render = float(out.split()[-1])
                _, _, out = child([sys.executable, "-c", REMOTES.format(root=str(ROOT), path=str(path))])
                remotes = float(out.split()[-1])
            rows.append(f"  {size:>4} hosts, {version:<8} render {render:6.1f} ms a host (PKI and load included); "
                        f"a Remote {remotes:6.2f} ms a host (known_hosts of {size} lines, read once per run)")
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="5,50,200")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f}")
    print("the CLI's start (child processes, median):", *startup(args.repeat), sep="\n")
    print("per host:", *per_host([int(n) for n in args.sizes.split(",")]), sep="\n")


if __name__ == "__main__":
    main()

"""Lab hosts: one systemd-nspawn container per inventory host, sharing the machine's
network, each on its own 127.0.0.N, each booted from an overlay of the base image.
"""
from __future__ import annotations

import shutil
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

from . import hostfiles, procs
from .state import LabError, Layout

CGROUP_FS = Path("/sys/fs/cgroup")
PROPAGATE = Path("/run/systemd/nspawn/propagate")
LOCKS = Path("/run/systemd/nspawn/locks")


@dataclass(frozen=True)
class Machine:
    name: str
    address: str


def cgroup_roots() -> list[Path]:
    """Where a host gets a cgroup of its own: both v1 `name=systemd` and v2 (hybrid)."""
    roots = [CGROUP_FS / "systemd", CGROUP_FS / "unified"]
    found = [r for r in roots if (r / "cgroup.procs").exists()]
    return found or [CGROUP_FS]


def cgroup_dirs(group: str, name: str) -> list[Path]:
    return [root / group / name for root in cgroup_roots()]


def mount(layout: Layout, base: Path, name: str) -> Path:
    """Mount the host's overlay of the base image; its merged root."""
    host = layout.host(name)
    for sub in ("upper", "work", "root"):
        (host / sub).mkdir(parents=True, exist_ok=True)
    options = f"lowerdir={base},upperdir={host / 'upper'},workdir={host / 'work'}"
    _run(["mount", "-t", "overlay", f"kubefab-{name}", "-o", options, str(host / "root")])
    return layout.merged(name)


def prepare(layout: Layout, base: Path, machine: Machine, files: dict) -> str:
    """Mount the host's overlay and write its own files through it (so the upper dir
    holds exactly what the host has beyond the base); its public host key."""
    root = mount(layout, base, machine.name)
    key = root / "etc/ssh/ssh_host_ed25519_key"
    _run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"root@{machine.name}",
          "-f", str(key)])
    for path, item in files.items():
        hostfiles.write(root, path, item)
    return " ".join(key.with_suffix(".pub").read_text().split()[:2])


def boot(layout: Layout, machine: Machine, group: str) -> int:
    """Start the host's systemd-nspawn, moved into its own cgroups before exec."""
    dirs = cgroup_dirs(group, machine.name)
    for d in dirs:
        d.mkdir(parents=True, exist_ok=True)
    enter = 'for f in $CGROUPS; do echo $$ > "$f"; done; exec "$@"'
    nspawn = ["systemd-nspawn", "--quiet", "--register=no", "--keep-unit",
              "-D", str(layout.merged(machine.name)), "-M", machine.name, "--boot",
              "--console=passive", "--link-journal=no", "--resolv-conf=off",
              "--timezone=off"]
    procs_files = " ".join(str(d / "cgroup.procs") for d in dirs)
    argv = ["env", f"CGROUPS={procs_files}", "sh", "-c", enter, "sh", *nspawn]
    host = layout.host(machine.name)
    return procs.spawn(argv, layout.nspawn_pid(machine.name), host / "console.log")


def nspawn_pid(layout: Layout, name: str) -> int | None:
    pid = procs.read_pid(layout.nspawn_pid(name))
    return pid if procs.alive(pid, str(layout.merged(name))) else None


def stop(layout: Layout, names: list[str], group: str, timeout: float = 15.0) -> None:
    """Halt hosts cleanly (SIGTERM to nspawn), kill whatever remains in their cgroups,
    then unmount and remove their cgroups and nspawn's propagate dirs."""
    pids = [p for p in (nspawn_pid(layout, n) for n in names) if p]
    procs.kill(pids)
    procs.wait_gone(pids, timeout)
    for name in names:
        _kill_cgroups(group, name)
        _remove_lock(layout.merged(name))
        for mount in mounts_under(layout.host(name)):
            _umount(mount)
        for d in cgroup_dirs(group, name):
            _rmdir_tree(d)
        shutil.rmtree(PROPAGATE / name, ignore_errors=True)
        layout.nspawn_pid(name).unlink(missing_ok=True)


def leftovers(layout: Layout, group: str) -> list[str]:
    """What a killed lab left behind: running nspawns, mounts, cgroup dirs."""
    found = []
    running = [n for n in layout.host_names() if nspawn_pid(layout, n)]
    if running:
        found.append(f"systemd-nspawn for {', '.join(running)}")
    mounts = mounts_under(layout.root)
    if mounts:
        found.append(f"{len(mounts)} mounts under {layout.root}")
    cgroups = [d for r in cgroup_roots() if (r / group).is_dir()
               for d in (r / group).iterdir() if d.is_dir()]
    if cgroups:
        found.append(f"{len(cgroups)} host cgroups under {CGROUP_FS}/*/{group}")
    return found


def crashed(group: str, name: str) -> bool:
    """Whether processes of the host still run in its cgroups (its nspawn is gone)."""
    return any(f.read_text().strip() for d in cgroup_dirs(group, name) if d.is_dir()
               for f in d.rglob("cgroup.procs"))


def clean(layout: Layout, group: str) -> None:
    """Stop and remove every host of this lab, running or half-dead."""
    names = set(layout.host_names())
    names |= {d.name for r in cgroup_roots() if (r / group).is_dir()
              for d in (r / group).iterdir() if d.is_dir()}
    stop(layout, sorted(names), group, timeout=10.0)
    for mount in mounts_under(layout.root):
        _umount(mount)
    for r in cgroup_roots():
        _rmdir_tree(r / group)
    left = mounts_under(layout.root)
    if left:  # never delete through a mount
        raise LabError(f"still mounted after umount: {', '.join(left)}")
    shutil.rmtree(layout.root / "hosts", ignore_errors=True)


def mounts_under(path: Path) -> list[str]:
    """Mount points at or below path, deepest first (from /proc/mounts)."""
    prefix = str(path).rstrip("/")
    points = []
    for line in Path("/proc/mounts").read_text().splitlines():
        point = line.split()[1].replace("\\040", " ")
        if point == prefix or point.startswith(prefix + "/"):
            points.append(point)
    return sorted(points, key=len, reverse=True)


def _kill_cgroups(group: str, name: str) -> None:
    """SIGKILL every process left in the host's cgroups (a host whose nspawn was
    killed keeps running under PID 1 until its own init dies)."""
    for _ in range(50):
        pids = [int(p) for d in cgroup_dirs(group, name) if d.is_dir()
                for f in d.rglob("cgroup.procs") for p in f.read_text().split()]
        if not pids:
            return
        procs.kill(pids, signal.SIGKILL)
        procs.wait_gone(pids, 0.2)
    raise LabError(f"processes of lab host {name} survive SIGKILL: {pids}")


def raise_inotify_limit(minimum: int) -> None:
    """Many hosts need more inotify instances than the default 128 (TESTBED.md)."""
    path = Path("/proc/sys/fs/inotify/max_user_instances")
    if int(path.read_text()) < minimum:
        path.write_text(f"{minimum}\n")


def _remove_lock(root: Path) -> None:
    """nspawn's lock file for an image dir, named after the dir's device and inode."""
    if str(root) in mounts_under(root):
        st = root.stat()
        (LOCKS / f"inode-{st.st_dev}:{st.st_ino}").unlink(missing_ok=True)


def _rmdir_tree(path: Path) -> None:
    if not path.is_dir():
        return
    for d in sorted((p for p in path.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
        d.rmdir()
    path.rmdir()


def _umount(point: str) -> None:
    if subprocess.run(["umount", point], capture_output=True).returncode != 0:
        _run(["umount", "--lazy", point])


def _run(argv: list[str]) -> None:
    proc = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    if proc.returncode != 0:
        raise LabError(f"{argv[0]} failed: {proc.stderr.strip() or proc.stdout.strip()}")

"""The lab's base image: a debootstrapped Debian with systemd and sshd, built once.

The image is cached outside the checkout as `<cache>/base-<hash of the recipe>`; a
change to the recipe below makes a new hash and so a new build. A build goes to a
temp dir that is renamed into place only when complete, so a killed build is never
mistaken for a good one. Per-host files (host keys, the lab's authorized key) go
into each host's overlay upper dir, never here.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

from .state import LabError

CACHE_DIR = Path("/var/cache/kubefab")
SUITE = "bookworm"
MIRROR = "http://deb.debian.org/debian"
PACKAGES = (
    "systemd", "systemd-sysv", "dbus", "openssh-server", "curl", "iproute2",
    "procps", "ca-certificates", "python3", "sudo",
)
# Units that only slow a container's boot down.
MASKS = (
    "console-getty.service", "getty@tty1.service", "getty-static.service",
    "apt-daily.timer", "apt-daily-upgrade.timer", "dpkg-db-backup.timer",
    "e2scrub_all.timer", "fstrim.timer", "e2scrub_reap.service",
    "systemd-firstboot.service",
)
USER, UID = "core", 500
SUDOERS = f"{USER} ALL=(ALL) NOPASSWD:ALL\n"
# Bump when the steps in `_customize` change in a way the constants above don't show.
STEPS_VERSION = 2


def recipe() -> dict:
    """Everything that decides the image's content (the mirror does not)."""
    return {
        "suite": SUITE, "variant": "minbase", "packages": list(PACKAGES),
        "masks": list(MASKS), "user": [USER, UID], "sudoers": SUDOERS,
        "steps": STEPS_VERSION,
    }


def recipe_hash() -> str:
    text = json.dumps(recipe(), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def base_path(cache_dir: Path = CACHE_DIR) -> Path:
    return Path(cache_dir) / f"base-{recipe_hash()}"


def ensure_base(cache_dir: Path = CACHE_DIR, log=print) -> Path:
    """The base image's path; builds it first if this recipe has no complete build."""
    final = base_path(cache_dir)
    if final.is_dir():
        return final
    Path(cache_dir).mkdir(parents=True, exist_ok=True)
    with open(Path(cache_dir) / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a second builder waits, then finds it built
        if final.is_dir():
            return final
        for stale in Path(cache_dir).glob(f"{final.name}.partial-*"):
            shutil.rmtree(stale, ignore_errors=True)
        tmp = Path(f"{final}.partial-{os.getpid()}")
        log(f"building the base image {final} (debootstrap {SUITE}, about a minute)")
        started = time.monotonic()
        try:
            _debootstrap(tmp)
            _customize(tmp)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        tmp.rename(final)
        log(f"base image built in {time.monotonic() - started:.0f} s")
        _prune(Path(cache_dir), keep=final)
    return final


def _prune(cache_dir: Path, keep: Path) -> None:
    """Remove base images of older recipes that no mounted lab host still uses."""
    mounts = Path("/proc/mounts").read_text()
    for old in cache_dir.glob("base-*"):
        if old != keep and ".partial-" not in old.name and f"lowerdir={old}," not in mounts:
            shutil.rmtree(old, ignore_errors=True)


def _run(argv: list[str], what: str) -> None:
    proc = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        raise LabError(f"{what} failed (exit {proc.returncode}):\n{tail}")


def _debootstrap(root: Path) -> None:
    _run(["debootstrap", "--variant=minbase", f"--include={','.join(PACKAGES)}",
          SUITE, str(root), MIRROR], "debootstrap")


def _customize(root: Path) -> None:
    for key in (root / "etc/ssh").glob("ssh_host_*"):
        key.unlink()  # else every host would share one key; hosts get theirs in upper
    (root / "etc/machine-id").write_text("")
    (root / "etc/hostname").unlink(missing_ok=True)
    _run(["chroot", str(root), "groupadd", "--gid", str(UID), USER], "groupadd core")
    _run(["chroot", str(root), "useradd", "--uid", str(UID), "--gid", str(UID),
          "--create-home", "--shell", "/bin/bash", USER], "useradd core")
    sudoers = root / "etc/sudoers.d" / USER
    sudoers.write_text(SUDOERS)
    sudoers.chmod(0o440)
    _run(["systemctl", f"--root={root}", "mask", *MASKS], "systemctl mask")
    shutil.rmtree(root / "var/cache/apt/archives", ignore_errors=True)
    (root / "var/cache/apt/archives/partial").mkdir(parents=True)

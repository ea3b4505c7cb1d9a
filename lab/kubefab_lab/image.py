"""The lab's base image: a debootstrapped Debian with systemd and sshd, built once.

The image is cached outside the checkout as `<cache>/base-<hash of the recipe>`; a
change to the recipe below makes a new hash and so a new build. A build goes to a
temp dir that is renamed into place only when complete, so a killed build is never
mistaken for a good one. Per-host files (host keys, the lab's authorized key, the
sudo user's password) go into each host's overlay upper dir, never here.

Besides systemd and sshd, the image carries what kubefab's preflight requires of a node
(iproute2, iptables; mount and nsenter come with the base) and what kubefab may set up on
a host and must find installed: haproxy, and nginx with its stream (TCP) module (Debian 12's
`nginx` is the core and `libnginx-mod-stream` the module; `nginx-light` adds only the
http echo module, and `nginx-full` many more). Both are installed disabled, and
nginx's default site (port 80 on every address) removed: kubefab renders and enables
its own configuration. Two users: `core` (uid 500) with NOPASSWD sudo, and `ops`
(uid 501) whose sudo asks for a password (set per lab, see kubefab_lab.users).
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
    "systemd", "systemd-sysv", "dbus", "openssh-server", "curl", "iproute2", "iptables",
    "procps", "ca-certificates", "python3", "sudo",
    "haproxy", "nginx", "libnginx-mod-stream",
)
DISABLED = ("haproxy.service", "nginx.service")  # installed, started only by whoever configures them
# Units that only slow a container's boot down.
MASKS = (
    "console-getty.service", "getty@tty1.service", "getty-static.service",
    "apt-daily.timer", "apt-daily-upgrade.timer", "dpkg-db-backup.timer",
    "e2scrub_all.timer", "fstrim.timer", "e2scrub_reap.service",
    "systemd-firstboot.service",
)
USER, UID = "core", 500
SUDOERS = f"{USER} ALL=(ALL) NOPASSWD:ALL\n"
SUDO_USER, SUDO_UID = "ops", 501  # sudo with a password: the lab writes it per lab
SUDO_USER_SUDOERS = f"{SUDO_USER} ALL=(ALL:ALL) ALL\n"
# Bump when the steps in `_customize` change in a way the constants above don't show.
STEPS_VERSION = 3
# A base image of another recipe is removed once no lab host mounts it and it was not
# used for this long: another checkout on the same machine may still boot from it.
KEEP_UNUSED_DAYS = 3


def recipe() -> dict:
    """Everything that decides the image's content (the mirror does not)."""
    return {
        "suite": SUITE, "variant": "minbase", "packages": list(PACKAGES),
        "masks": list(MASKS), "user": [USER, UID], "sudoers": SUDOERS,
        "sudo_user": [SUDO_USER, SUDO_UID], "sudo_user_sudoers": SUDO_USER_SUDOERS,
        "disabled": list(DISABLED), "steps": STEPS_VERSION,
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
        os.utime(final)  # in use: see _prune
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
    """Remove base images of other recipes that no lab host mounts and no lab booted
    from for KEEP_UNUSED_DAYS (ensure_base touches the image it returns)."""
    mounts = Path("/proc/mounts").read_text()
    stale = time.time() - KEEP_UNUSED_DAYS * 86400
    for old in cache_dir.glob("base-*"):
        if old != keep and ".partial-" not in old.name and f"lowerdir={old}," not in mounts \
                and old.stat().st_mtime < stale:
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
    for user, uid, sudoers in ((USER, UID, SUDOERS), (SUDO_USER, SUDO_UID, SUDO_USER_SUDOERS)):
        _run(["chroot", str(root), "groupadd", "--gid", str(uid), user], f"groupadd {user}")
        _run(["chroot", str(root), "useradd", "--uid", str(uid), "--gid", str(uid),
              "--create-home", "--shell", "/bin/bash", user], f"useradd {user}")
        path = root / "etc/sudoers.d" / user
        path.write_text(sudoers)
        path.chmod(0o440)
    _run(["systemctl", f"--root={root}", "mask", *MASKS], "systemctl mask")
    _run(["systemctl", f"--root={root}", "disable", *DISABLED], "systemctl disable")
    (root / "etc/nginx/sites-enabled/default").unlink(missing_ok=True)
    shutil.rmtree(root / "var/cache/apt/archives", ignore_errors=True)
    (root / "var/cache/apt/archives/partial").mkdir(parents=True)

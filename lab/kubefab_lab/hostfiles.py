"""What each lab host has beyond the base image (pure), and how it is written.

Besides the host's identity (hostname, machine-id, /etc/hosts, sshd on its own
127.0.0.N, the lab's authorized key for core and ops), every host gets what the
original CoreOS hosts had before kubefab came: a `weave-network.target` and an
`etcd2.service` (here: a oneshot that waits until the machine's lab etcd answers),
both wanted by multi-user.target.
"""
from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path

from .image import SUDO_UID, SUDO_USER, UID, USER

WANTS = "etc/systemd/system/multi-user.target.wants"


@dataclass(frozen=True)
class HostFile:
    content: str = ""
    mode: int = 0o644
    uid: int = 0
    link: str | None = None  # a symlink to this target instead of a file


def sshd_config(address: str, extra: str = "") -> str:
    return (f"# kubefab lab: this host's sshd listens on its own loopback address only\n"
            f"ListenAddress {address}:22\n"
            f"HostKey /etc/ssh/ssh_host_ed25519_key\n"
            f"UseDNS no\nPasswordAuthentication no\n{extra}")


def etc_hosts(machines) -> str:
    lines = ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback"]
    lines += [f"{m.address}\t{m.name}" for m in machines]
    return "\n".join(lines) + "\n"


def weave_target() -> str:
    return ("[Unit]\nDescription=Weave Network (kubefab lab: the hosts share the "
            "machine's loopback)\n\n[Install]\nWantedBy=multi-user.target\n")


def etcd2_service(etcd_url: str) -> str:
    return ("[Unit]\nDescription=etcd2 (kubefab lab: the machine's etcd at "
            f"{etcd_url})\nAfter=network.target\n\n"
            "[Service]\nType=oneshot\nRemainAfterExit=yes\n"
            "ExecStart=/usr/bin/curl -sf --retry 30 --retry-delay 1 --retry-connrefused "
            f"--max-time 60 {etcd_url}/health\n\n"
            "[Install]\nWantedBy=multi-user.target\n")


def host_files(machine, machines, authorized_key: str, etcd_url: str,
               sshd_extra: str = "") -> dict[str, HostFile]:
    """Paths relative to the host's root -> what goes there (the host key is made
    separately, by ssh-keygen; the sudo user's password by kubefab_lab.users)."""
    key = authorized_key.strip() + "\n"
    return {
        "etc/hostname": HostFile(machine.name + "\n"),
        "etc/machine-id": HostFile(uuid.uuid4().hex + "\n", 0o444),
        "etc/hosts": HostFile(etc_hosts(machines)),
        "etc/ssh/sshd_config.d/10-lab.conf": HostFile(sshd_config(machine.address, sshd_extra)),
        f"home/{USER}/.ssh/authorized_keys": HostFile(key, 0o600, UID),
        f"home/{SUDO_USER}/.ssh/authorized_keys": HostFile(key, 0o600, SUDO_UID),
        "etc/systemd/system/weave-network.target": HostFile(weave_target()),
        "etc/systemd/system/etcd2.service": HostFile(etcd2_service(etcd_url)),
        f"{WANTS}/weave-network.target": HostFile(link="/etc/systemd/system/weave-network.target"),
        f"{WANTS}/etcd2.service": HostFile(link="/etc/systemd/system/etcd2.service"),
    }


def write(root: Path, path: str, item: HostFile) -> None:
    """Write one file under a host's root; new parent dirs get the file's owner."""
    target = root / path
    parent = target.parent
    missing = []
    while not parent.exists():
        missing.append(parent)
        parent = parent.parent
    for d in reversed(missing):
        d.mkdir(mode=0o700 if item.uid else 0o755)
        os.chown(d, item.uid, item.uid)
    target.unlink(missing_ok=True)
    if item.link:
        target.symlink_to(item.link)
        return
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, item.mode)
    with os.fdopen(fd, "w") as f:
        f.write(item.content)
    os.chown(target, item.uid, item.uid)
    os.chmod(target, item.mode)

"""What `lab.up` writes into the build dir (build/lab), for kubefab, the operator and
the tests:

    hosts.yaml      the inventory to deploy (kubefab_lab.labinventory)
    id_ed25519      the SSH key every lab host authorizes (core and ops), kept between labs
    known_hosts     each host's key, new with each lab
    registry.token  the registry token hosts.yaml names, kept between labs
    ssh_config      `ssh -F build/lab/ssh_config NAME` (through the bastion, if any)
    ops.password    the sudo user's password, new with each lab (0600)
    sums.yaml       a modern lab: every served release's sums, as kubernetes.sha256 takes them
    bastion.yaml    a lab with a bastion: its name, address, user and port
"""
from __future__ import annotations

import secrets
import subprocess
from pathlib import Path

from . import bastion as bastions
from . import labinventory, users
from .state import write_file


def identity(build_dir: Path) -> str:
    """The lab's SSH key (made once); its public half."""
    key = build_dir / labinventory.IDENTITY
    if not key.exists():
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "kubefab-lab",
                        "-f", str(key)], check=True, stdin=subprocess.DEVNULL)
    key.chmod(0o600)
    return key.with_suffix(".pub").read_text()


def sudo_password(build_dir: Path) -> str:
    """A new password for the sudo user, written 0600; its hash for /etc/shadow."""
    password = users.new_password()
    write_file(build_dir / users.PASSWORD_FILE, password + "\n")
    return users.password_hash(password)


def access(build_dir: Path, host_keys: dict[str, tuple[str, str]], bastion: str | None) -> None:
    """known_hosts and ssh_config, from {name: (address, host key)}."""
    write_file(build_dir / labinventory.KNOWN_HOSTS,
               "".join(f"{address} {key}\n" for address, key in host_keys.values()), 0o644)
    write_file(build_dir / bastions.SSH_CONFIG, bastions.ssh_config(
        [(name, address) for name, (address, _) in host_keys.items()], bastion,
        build_dir / labinventory.IDENTITY, build_dir / labinventory.KNOWN_HOSTS), 0o644)
    path = build_dir / bastions.BASTION_FILE
    if bastion:
        write_file(path, bastions.bastion_doc(bastion, host_keys[bastion][0]), 0o644)
    else:
        path.unlink(missing_ok=True)


def sums(build_dir: Path, every: dict[str, dict[str, str]]) -> None:
    write_file(build_dir / labinventory.SUMS, labinventory.sums_doc(every), 0o644)


def inventory(build_dir: Path, doc: dict, source: Path, hosts: dict, addresses: dict[str, str],
              served: dict, releases=(), bastion: str | None = None) -> Path:
    """hosts.yaml (and the registry token it names, made once)."""
    token = build_dir / labinventory.TOKEN
    if not token.exists():
        write_file(token, secrets.token_hex(20) + "\n")
    waivers = labinventory.machine_waivers() if served.get("mirror") else None
    lab_doc = labinventory.lab_inventory(doc, hosts, addresses, bastion=bastion, waivers=waivers, **served)
    path = build_dir / "hosts.yaml"
    path.write_text(labinventory.dump(lab_doc, source, releases))
    return path

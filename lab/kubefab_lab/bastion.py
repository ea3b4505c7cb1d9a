"""A bastion: one lab host that is the only way in to the others (Lab.up(bastion=NAME)).

The other hosts' sshd accept a login only from the bastion's address (`AllowUsers
*@<bastion>`); the bastion's sshd allows TCP forwarding (`ssh -J`, a gateway) and logs
each forwarded connection: sshd logs a direct-tcpip request (`server_request_direct_tcpip:
originator ..., target 127.0.N.x port 22`) at DEBUG1 only; VERBOSE logs the login and
nothing of its forwards (OpenSSH 9.2p1, Debian 12). All lab hosts share the machine's network,
and the kernel gives a connection to 127.0.N.x the source 127.0.0.1 (the local route's
`src`), whoever makes it: the machine, or the bastion's sshd forwarding `ssh -J`
(direct-tcpip; sshd binds no source address for it, and an ssh_config BindAddress
would cover only the bastion's own ssh client). So the lab gives the bastion's
connections to port 22 its own source address, by the bastion's cgroup: an iptables
SNAT rule (`-m cgroup --path <lab cgroup>/<bastion>`) in a chain of this lab's,
jumped to from nat POSTROUTING. The rule names the cgroup as it was when added: a
restarted bastion (a new cgroup) gets it again (`allow`), and `revoke` removes it.
"""
from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import yaml

from .state import LabError

BASTION_SSHD = ("# kubefab lab: this host is the bastion, the only way in to the other hosts\n"
                "AllowTcpForwarding yes\nLogLevel DEBUG1\n")
SSH_CONFIG, BASTION_FILE = "ssh_config", "bastion.yaml"


def sshd_lines(address: str, bastion_address: str | None) -> str:
    """What a host's sshd config adds for the bastion ("" in a lab without one)."""
    if not bastion_address:
        return ""
    if address == bastion_address:
        return BASTION_SSHD
    return (f"# kubefab lab: logins only through the bastion ({bastion_address})\n"
            f"AllowUsers *@{bastion_address}\n")


def chain(group: str) -> str:
    """This lab's nat chain (iptables allows 28 characters)."""
    return "KUBEFAB-LAB-" + hashlib.sha256(group.encode()).hexdigest()[:12]


def _iptables(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    if not shutil.which("iptables"):
        raise LabError("a lab with a bastion needs iptables: apt-get install -y iptables")
    proc = subprocess.run(["iptables", "-w", "-t", "nat", *args], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL)
    if check and proc.returncode != 0:
        raise LabError(f"iptables -t nat {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc


def allow(group: str, name: str, address: str, net: str) -> None:
    """Connections from the bastion's cgroup to port 22 on <net>.0/24 leave from its
    address. Replaces the chain's rule (the cgroup may be new)."""
    name_chain = chain(group)
    if _iptables("-n", "-L", name_chain, check=False).returncode != 0:
        _iptables("-N", name_chain)
    _iptables("-F", name_chain)
    _iptables("-A", name_chain, "-m", "cgroup", "--path", f"{group}/{name}", "-p", "tcp",
              "-d", f"{net}.0/24", "--dport", "22", "-m", "comment", "--comment",
              f"kubefab lab {group}: {name} is the bastion", "-j", "SNAT", "--to-source", address)
    if _iptables("-C", "POSTROUTING", "-j", name_chain, check=False).returncode != 0:
        _iptables("-A", "POSTROUTING", "-j", name_chain)


def revoke(group: str) -> None:
    """Remove this lab's chain and the jump to it, if there are any."""
    if not shutil.which("iptables"):
        return
    name_chain = chain(group)
    while _iptables("-D", "POSTROUTING", "-j", name_chain, check=False).returncode == 0:
        pass
    if _iptables("-n", "-L", name_chain, check=False).returncode == 0:
        _iptables("-F", name_chain)
        _iptables("-X", name_chain)


def active(group: str) -> bool:
    return bool(shutil.which("iptables")) and \
        _iptables("-C", "POSTROUTING", "-j", chain(group), check=False).returncode == 0


def ssh_config(hosts: list[tuple[str, str]], bastion: str | None, identity: Path,
               known_hosts: Path, user: str = "core") -> str:
    """An OpenSSH client config for the lab (`ssh -F build/lab/ssh_config NAME`): every
    host by name, the lab's key and known_hosts, through the bastion if there is one."""
    out = ["# Written by `fab lab.up`: `ssh -F this-file NAME` (or its address) reaches a lab host"
           + (f",\n# through the bastion {bastion}" if bastion else "") + "\n"]
    for name, address in hosts:
        out.append(f"Host {name} {address}\n  HostName {address}\n  User {user}\n  Port 22\n"
                   f"  IdentityFile {identity}\n  IdentitiesOnly yes\n  UserKnownHostsFile {known_hosts}\n"
                   "  StrictHostKeyChecking yes\n")
        if bastion and name != bastion:
            out.append(f"  ProxyJump {bastion}\n")
    return "".join(out)


def bastion_doc(name: str, address: str, user: str = "core", port: int = 22) -> str:
    """build/lab/bastion.yaml: the bastion, for those who drive the lab without hosts.yaml."""
    doc = {"bastion": {"host": name, "address": address, "user": user, "port": port}}
    return ("# Written by `fab lab.up --bastion`: every other lab host takes SSH logins only from\n"
            f"# {name} ({address}). kubefab goes through it by hosts.yaml's ssh.bastion (which `lab.up\n"
            "# --bastion` writes), not by this file; `ssh -F ssh_config NAME` goes through it too.\n"
            + yaml.safe_dump(doc, sort_keys=False))

"""Where one SSH login goes, everything resolved: the inventory's settings over the
OpenSSH client config's (`ssh.config`, as Fabric honours it when asked: Host aliases
and their HostName, User, Port, IdentityFile, IdentitiesOnly, ConnectTimeout,
ProxyJump), and the bastions before it. Each config file is parsed once per run
(`SshConfigs`). A ProxyCommand is refused in one line: kubefab reaches a bastion over
SSH itself (ssh.bastion or ProxyJump), so that its errors name the hop that failed."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from pathlib import Path

import paramiko

from kubefab.model import Host, Hop

MAX_HOPS = 5  # ProxyJump chains longer than this are a loop in the config


@dataclass(frozen=True)
class Endpoint:
    hostname: str  # what TCP connects to; known_hosts names the key after it
    port: int
    user: str
    identities: tuple[Path, ...] = ()  # keys offered, in order (none: the agent and ~/.ssh's)
    identity_given: Path | None = None  # the inventory's ssh.identity: checked before connecting
    agent: bool = True  # the ssh-agent's keys too (not with IdentitiesOnly)
    timeout: float = 10.0
    known_hosts: Path | None = None
    via: "Endpoint | None" = None  # the bastion before it
    problem: str = ""  # why it cannot be reached as configured (said when opening)
    who: str = field(default="", compare=False)  # for messages: "azure-prd-02", "the bastion for azure-prd-02"

    @property
    def where(self) -> str:
        return f"{self.user}@{self.hostname}:{self.port}"

    @property
    def called(self) -> str:
        """How an error names it: `core@10.0.0.1:22`, a bastion with whom it serves."""
        return self.where if not self.who.startswith("the bastion") else f"{self.where} ({self.who})"


class SshConfigs:
    """OpenSSH client configs, each set of files parsed once per run."""

    def __init__(self):
        self._parsed: dict[tuple[Path, ...], paramiko.SSHConfig] = {}
        self._lock = threading.Lock()

    def lookup(self, paths: tuple[Path, ...], name: str) -> dict:
        if not paths:
            return {}
        with self._lock:
            if paths not in self._parsed:
                config = paramiko.SSHConfig()
                for path in paths:  # the first value obtained wins, as in OpenSSH
                    try:
                        with open(path) as fh:
                            config.parse(fh)
                    except FileNotFoundError:
                        continue
                self._parsed[paths] = config
            return self._parsed[paths].lookup(name)


def of_host(host: Host, configs: SshConfigs, timeout: float | None = None) -> Endpoint:
    """The host's login; its bastion: ssh.bastion, else the config's ProxyJump."""
    ssh = host.ssh
    given = ssh.given | ({"connect_timeout"} if timeout else set())
    return _resolve(host.ssh_target, ssh.port, ssh.user, ssh.identity, given, ssh.bastion, host.name,
                    configs, ssh.config, timeout or ssh.connect_timeout, ssh.known_hosts, 0)


def _resolve(target: str, port: int, user: str, identity: Path | None, given: frozenset, bastion: Hop | None,
             who: str, configs: SshConfigs, paths: tuple[Path, ...], timeout: float,
             known_hosts: Path | None, depth: int) -> Endpoint:
    if depth > MAX_HOPS:
        return Endpoint(target, port, user, who=who,
                        problem=f"more than {MAX_HOPS} bastions in a row: a loop in ssh.bastion or ProxyJump")
    cfg = configs.lookup(paths, target)
    hostname = cfg.get("hostname", target)
    if "identity" in given or not cfg.get("identityfile"):
        identities = (identity,) if identity else ()
    else:
        identities = tuple(Path(p).expanduser() for p in cfg["identityfile"] if Path(p).expanduser().is_file())
    ep = Endpoint(hostname=hostname,
                  port=port if "port" in given else int(cfg.get("port", port)),
                  user=user if "user" in given else cfg.get("user", user),
                  identities=identities,
                  identity_given=identity if "identity" in given else None,
                  agent=cfg.get("identitiesonly", "no").lower() != "yes" or not identities,
                  timeout=timeout if "connect_timeout" in given or "connecttimeout" not in cfg
                  else float(cfg["connecttimeout"]),
                  known_hosts=known_hosts, who=who)
    bastion_of = f"the bastion for {who.removeprefix('the bastion for ')}"
    if bastion is not None:
        via = _resolve(bastion.address, bastion.port, bastion.user, bastion.identity,
                       bastion.given | (given & {"connect_timeout"}), bastion.bastion, bastion_of, configs, paths,
                       timeout, known_hosts, depth + 1)
        return _checked(ep, via, depth)
    if "proxycommand" in cfg and cfg["proxycommand"].lower() != "none":
        return _with(ep, problem="its ssh_config sets ProxyCommand, which kubefab does not run; "
                                 "use ProxyJump there or ssh.bastion in the inventory")
    jumps = [j for j in cfg.get("proxyjump", "none").split(",") if j.strip().lower() != "none"]
    via = None
    for jump in jumps:  # the first one is reached first; each later one through it
        user_j, host_j, port_j = _jump(jump.strip())
        if host_j in (target, hostname) and port_j in (None, ep.port):
            break  # a `Host *` ProxyJump matching the jump host itself
        given_j = frozenset(k for k, v in (("user", user_j), ("port", port_j)) if v)
        hop = _resolve(host_j, port_j or 22, user_j or user, None, given_j, None, bastion_of, configs, paths,
                       timeout, known_hosts, depth + 1)
        via = hop if via is None else _with(hop, via=via)
    return _checked(ep, via, depth)


def _checked(ep: Endpoint, via: Endpoint | None, depth: int) -> Endpoint:
    return _with(ep, via=via, problem=ep.problem or (via.problem if via else ""))


def _with(ep: Endpoint, **changes) -> Endpoint:
    return replace(ep, **changes)


def _jump(spec: str) -> tuple[str | None, str, int | None]:
    """ProxyJump's [user@]host[:port] (an IPv6 address in brackets)."""
    user, _, rest = spec.rpartition("@")
    if rest.startswith("["):
        host, _, port = rest[1:].partition("]")
        port = port.lstrip(":")
    else:
        host, _, port = rest.partition(":")
    return user or None, host, int(port) if port.isdigit() else None

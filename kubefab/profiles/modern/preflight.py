"""Preflight checks of the modern profile, after kubeadm's (docs/KUBERNETES.md §19):
what each host must offer before kubefab changes anything on it. Pure: `asks` is what
the host script (kubefab/remote/scripts/preflight.sh) looks at, `verdict` turns its
answers into one line per failure, naming the check and the fix. kubefab.ops.preflight
runs it. What kubefab sets itself (modules, sysctls: rendered into modules-load.d and
sysctl.d) passes when the host can take it.

Check names (what `--ignore-preflight` and kubernetes.ignore_preflight waive): cgroup-v2,
swap, module:<name>, sysctl:<key>, port:<number>, binary:<name>, hostname, disk, time,
etcd-version; a group (module, sysctl, port, binary) waives all of its kind, `all` every one.
"""
from __future__ import annotations

import base64
import ipaddress
import json
import re
from dataclasses import dataclass

from kubefab import layout as U
from kubefab import validate as v
from kubefab.model import Host, Inventory

GROUPS = ("module", "sysctl", "port", "binary")
SINGLES = ("cgroup-v2", "swap", "hostname", "disk", "time", "etcd-version", "all")
# modules the kubelet's pods need, and the file whose presence shows one is active
# (loaded or built in): overlay registers its file system, br_netfilter its sysctls
MODULES = {"overlay": ("proc/filesystems", "overlay"),
           "br_netfilter": ("proc/sys/net/bridge/bridge-nf-call-iptables", "")}
SYSCTLS = {"net.ipv4.ip_forward": "1", "net.bridge.bridge-nf-call-iptables": "1"}
# kubeadm's mandatory executables (checks_linux.go) and what kubefab's download runs
NODE_BINARIES = ("ip", "iptables", "mount", "nsenter")
DOWNLOAD_BINARIES = ("bash", "curl", "tar", "sha256sum")
CONTROLLER_MANAGER_PORT, SCHEDULER_PORT, PROXY_HEALTHZ_PORT = 10257, 10259, 10256
MIN_FREE_KIB = 1024 * 1024  # 1 GiB on /var/lib: the release's binaries, images, etcd's data
DISK_PATH = "/var/lib"
MAX_SKEW = 30  # seconds between a host's clock and kubefab's (certificates start 5 minutes back)
ETCD_MIN = (3, 5)  # Kubernetes 1.35 and later talk etcd 3.5 or later


def waiver(value) -> str:
    """A check name, a group or `all` (an inventory or flag value)."""
    s = v.text(value)
    group, colon, rest = s.partition(":")
    if s in SINGLES or (group in GROUPS and (not colon or re.fullmatch(r"[A-Za-z0-9_.-]+", rest))):
        return s
    raise v.Invalid(f"{s!r} names no preflight check; use one of {', '.join(SINGLES)}, or "
                    f"{', '.join(g + '[:NAME]' for g in GROUPS)} (e.g. port:6443)")


def waived(name: str, waivers) -> bool:
    return "all" in waivers or name in waivers or name.split(":")[0] in waivers


@dataclass(frozen=True)
class Port:
    number: int
    unit: str  # kubefab's unit that serves it: taken by that unit (running) is no conflict


def ports(inv: Inventory, host: Host) -> tuple[Port, ...]:
    k = inv.kubernetes
    if host.is_master:
        etcd = (Port(2379, U.ETCD), Port(2380, U.ETCD)) if k.managed_etcd else ()
        return (Port(k.apiserver.secure_port, U.APISERVER), *etcd, Port(CONTROLLER_MANAGER_PORT, U.CONTROLLER_MANAGER),
                Port(SCHEDULER_PORT, U.SCHEDULER))
    return Port(k.kubelet_port, U.KUBELET), Port(PROXY_HEALTHZ_PORT, U.PROXY)


def listen_patterns(host: Host, port: int) -> str:
    """How /proc/net/tcp{,6} write a listener that takes `port` from this host: any
    address when it binds every interface, else its address or a wildcard ('*:PORT' is
    any address), comma-separated."""
    p = f"{port:04X}"
    if host.bind_address in ("0.0.0.0", "::"):
        return f"*:{p}"
    addr = ipaddress.ip_address(host.bind_address)
    own = addr.packed[::-1].hex().upper() if addr.version == 4 else \
        "".join(addr.packed[i:i + 4][::-1].hex().upper() for i in range(0, 16, 4))
    return ",".join((f"{own}:{p}", f"{'0' * 8}:{p}", f"{'0' * 32}:{p}"))


def binaries(inv: Inventory, host: Host) -> tuple[str, ...]:
    if host.is_master:
        return (*DOWNLOAD_BINARIES, *(("ip",) if inv.kubernetes.bridge_network else ()))
    return (*DOWNLOAD_BINARIES, *NODE_BINARIES)


def asks(inv: Inventory, host: Host) -> list[str]:
    """The script's items, one per line: a kind, then its words (tab-separated)."""
    items = [("hostname",), ("disk", DISK_PATH), ("time",)]
    if not host.is_master:  # what the kubelet and its pods need
        items += [("cgroup",), ("swap",)]
        items += [("module", name, path, pattern) for name, (path, pattern) in MODULES.items()]
        items += [("sysctl", key) for key in SYSCTLS]
    items += [("port", str(p.number), p.unit, listen_patterns(host, p.number)) for p in ports(inv, host)]
    items += [("binary", b) for b in binaries(inv, host)]
    if host.is_master and not inv.kubernetes.managed_etcd:
        items += [("etcd", url) for url in inv.kubernetes.etcd_servers]
    return ["\t".join(item) for item in items]


@dataclass(frozen=True)
class Finding:
    check: str  # its name (what a waiver names)
    what: str  # what is wrong
    fix: str
    warning: bool = False  # said, not refused

    def line(self) -> str:
        kind = "warning" if self.warning else "failed"
        return f"preflight {self.check} {kind}: {self.what}; fix: {self.fix}"


@dataclass(frozen=True)
class Seen:
    """What a judge may look at besides its own line."""
    inv: Inventory
    host: Host
    now: float  # kubefab's clock when the host answered
    modules: dict  # module name -> loaded, loadable or missing


def verdict(inv: Inventory, host: Host, output: str, now: float) -> list[Finding]:
    """The findings in the script's output, in its order."""
    lines = [line.split("\t") for line in output.splitlines() if line]
    seen = Seen(inv, host, now, {w[1]: w[2] for w in lines if w[0] == "module" and len(w) > 2})
    out = []
    for kind, *words in lines:
        judge = JUDGES.get(kind)
        finding = judge(seen, *words) if judge else None
        if finding:
            out.append(finding)
    return out


def _hostname(seen, name="") -> Finding | None:
    host = seen.host
    if name == host.name:
        return None
    return Finding("hostname", f"the host calls itself {name or '(nothing)'!r}, the inventory {host.name!r}: its "
                   f"units (ConditionHost=) would not start as a {'master' if host.is_master else 'node'}",
                   f"hostnamectl set-hostname {host.name} on it, or rename it in {seen.inv.path.name}")


def _disk(seen, path="", free="") -> Finding | None:
    if not free.isdigit():
        return Finding("disk", f"free space on {path} unknown ({free or 'no answer'})", f"check df -Pk {path}")
    if int(free) >= MIN_FREE_KIB:
        return None
    return Finding("disk", f"{int(free) // 1024} MiB free on {path}, wanted {MIN_FREE_KIB // 1024 ** 2} GiB",
                   f"free space on the file system of {path}")


def _time(seen, clock="") -> Finding | None:
    if not clock.lstrip("-").isdigit():
        return Finding("time", f"the host's clock unreadable ({clock!r})", "check date +%s on it")
    skew = int(clock) - seen.now
    if abs(skew) <= MAX_SKEW:
        return None
    return Finding("time", f"the host's clock is {abs(skew):.0f} s {'ahead of' if skew > 0 else 'behind'} this "
                   "machine's: certificates kubefab issues would not be valid there yet or any more",
                   "synchronise both clocks (chrony, systemd-timesyncd)")


def _cgroup(seen, version="") -> Finding | None:
    if version == "v2":
        return None
    return Finding("cgroup-v2", "the host runs cgroup v1: kubelet 1.35 and later refuse to start on it "
                   "(failCgroupV1)", "boot it with the unified hierarchy (systemd.unified_cgroup_hierarchy=1)")


def _swap(seen, count="0") -> Finding | None:
    if count in ("", "0"):
        return None
    return Finding("swap", f"{count} swap device(s) on: the kubelet runs with failSwapOn: false and "
                   "swapBehavior NoSwap, so pods do not use it", "swapoff -a, and remove it from /etc/fstab",
                   warning=True)


def _module(seen, name="", state="") -> Finding | None:
    if state in ("loaded", "loadable"):  # kubefab's modules-load.d file and containerd's unit load it
        return None
    return Finding(f"module:{name}", f"kernel module {name} is not loaded and this kernel has no {name} to load",
                   f"install the kernel's modules (or load {name} on the host that runs this one)")


def _sysctl(seen, key="", value="", access="") -> Finding | None:
    want = SYSCTLS.get(key)
    if value == want or (access == "rw" and value != "missing"):
        return None  # as wanted, or kubefab's sysctl.d file sets it when containerd starts
    if value == "missing" and key.startswith("net.bridge."):
        # br_netfilter's setting: there once the module loads (loadable), else the module's line says it
        return None
    return Finding(f"sysctl:{key}", f"{key} is {value}, wanted {want}, and it cannot be set here (read-only)",
                   f"set {key}={want} where this host's network is made (its container's host)")


def _port(seen, number="", state="", unit="") -> Finding | None:
    if state in ("free", "ours"):
        return None
    return Finding(f"port:{number}", f"port {number} is taken by a process that is not kubefab's {unit}",
                   f"stop what listens on it (ss -ltnp 'sport = :{number}')")


def _binary(seen, name="", state="") -> Finding | None:
    if state == "found":
        return None
    return Finding(f"binary:{name}", f"{name} is not installed", f"install it ({PACKAGES.get(name, name)})")


PACKAGES = {"ip": "iproute2", "mount": "mount", "nsenter": "util-linux", "sha256sum": "coreutils"}


def _etcd(seen, url="", answer="") -> Finding | None:
    try:
        body = base64.b64decode(answer).decode(errors="replace")
    except ValueError:
        body = answer
    try:
        version = json.loads(body)["etcdserver"]
        have = tuple(int(x) for x in version.split(".")[:2])
    except (ValueError, KeyError, TypeError):
        return Finding("etcd-version", f"etcd at {url} did not say its version ({' '.join(body.split())[:120]})",
                       f"make it answer {url}/version from the master")
    if have >= ETCD_MIN:
        return None
    return Finding("etcd-version", f"etcd at {url} is {version}; Kubernetes {seen.inv.kubernetes.version} needs etcd "
                   f"{'.'.join(map(str, ETCD_MIN))} or later", "upgrade that etcd one minor at a time, "
                   "or let kubefab run etcd (remove etcd_servers)")


JUDGES = {"hostname": _hostname, "disk": _disk, "time": _time, "cgroup": _cgroup, "swap": _swap,
          "module": _module, "sysctl": _sysctl, "port": _port, "binary": _binary, "etcd": _etcd}

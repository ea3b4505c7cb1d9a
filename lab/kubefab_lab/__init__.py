"""The local lab: the inventory's hosts as systemd-nspawn containers on 127.0.0.2..,
a real etcd and a release server on 127.0.0.1, and `build/lab/hosts.yaml` to deploy
to them. `Lab` is the one entry point for tasks and tests.
"""
from __future__ import annotations

import secrets
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import hostfiles, image, labinventory, machines, mirror, preflight, ready, services
from .machines import Machine
from .state import STATE_DIR, LabError, Layout, Lock, write_file

__all__ = ["Lab", "LabInfo", "HostStatus", "LabError", "STATE_DIR"]


@dataclass(frozen=True)
class LabInfo:
    inventory_path: Path
    hosts: tuple[tuple[str, str], ...]  # (name, address), inventory order
    release_url: str
    release_sha256: str
    etcd_url: str
    degraded: dict[str, tuple[str, ...]] = field(default_factory=dict)  # host -> failed units


@dataclass(frozen=True)
class HostStatus:
    name: str
    address: str
    state: str  # running (sshd answers), booting, stopped, crashed (nspawn gone, host not)


class Lab:
    """One lab: its state dir (pids, mounts, upper dirs), its build dir (hosts.yaml, the
    SSH key, known_hosts, the registry token), its addresses, etcd port and cgroup.
    Two Lab objects with different values can be up side by side (tests do)."""

    def __init__(self, state_dir: Path = STATE_DIR, build_dir: Path = Path("build/lab"),
                 cache_dir: Path = image.CACHE_DIR, *, first_address: int = 2, net: str = "127.0.0",
                 etcd_port: int = 2379, cgroup: str = "lab", build_release=None,
                 log=print, timeout: float = 180.0):
        self.layout = Layout(Path(state_dir).absolute())
        self.build_dir = Path(build_dir).absolute()
        self.cache_dir, self.first_address, self.etcd_port = Path(cache_dir), first_address, etcd_port
        self.net = net  # the hosts' addresses: <net>.<first_address> upward, all on loopback
        self.cgroup, self._build_release, self.log, self.timeout = cgroup, build_release, log, timeout
        self.info: LabInfo | None = None  # what the last `up` of this object started

    inventory_path = property(lambda self: self.build_dir / "hosts.yaml")
    identity = property(lambda self: self.build_dir / labinventory.IDENTITY)
    known_hosts = property(lambda self: self.build_dir / labinventory.KNOWN_HOSTS)

    def up(self, source_inventory, nodes: int | None = None,
           release_faults=frozenset(), version: str | None = None, pin_sums: bool = True) -> LabInfo:
        """Boot the inventory's hosts (master + `nodes` nodes, if given), wait until each
        accepts SSH with its known key and systemd is up, write build/lab/hosts.yaml.
        `version` replaces the inventory's kubernetes.version; a modern one (v1.35+) is
        served as a mirror (kubefab_lab.mirror), its sums in the inventory unless
        `pin_sums` is false (then the download takes the sum files the mirror publishes
        beside each download, as from upstream). Cleans up a crashed lab first; refuses
        while a lab is up."""
        doc = labinventory.read(source_inventory)
        if version:
            doc["kubernetes"] = {**doc["kubernetes"], "version": version}
        if release_faults and mirror.is_modern(doc["kubernetes"]["version"]):
            raise LabError("release faults apply to the v1.0-era release tarball, not to a modern mirror")
        hosts = doc["hosts"] if nodes is None else labinventory.scale(doc["hosts"], nodes)
        addrs = labinventory.addresses(hosts, self.first_address, self.net)
        fleet = [Machine(name, addr) for name, addr in addrs.items()]
        built = image.base_path(self.cache_dir).is_dir()
        preflight.check_tools(skip=("debootstrap",) if built else ())
        with Lock(self.layout):
            preflight.refuse_if_up(self.layout)
            self._builder()  # fail before anything starts when there is no release to serve
            self._clean(announce=True)
            preflight.check_free(fleet, self.etcd_port)
            base = image.ensure_base(self.cache_dir, self.log)
            try:
                return self._up(doc, Path(source_inventory), hosts, fleet, base, release_faults, pin_sums)
            except BaseException:
                self.log("lab.up failed; stopping what it started (logs stay in "
                         f"{self.layout.root})")
                machines.stop(self.layout, self.layout.host_names(), self.cgroup)
                services.stop_all(self.layout)
                self.layout.state_file.unlink(missing_ok=True)
                raise

    def _up(self, doc, source, hosts, fleet, base, faults, pin_sums=True) -> LabInfo:
        started = time.monotonic()
        self.build_dir.mkdir(parents=True, exist_ok=True)
        pubkey = self._identity()
        etcd_url = services.start_etcd(self.layout, self.etcd_port)
        http_url, _ = services.start_http(self.layout)
        state = {"status": "booting", "source": str(Path(source).absolute()), "base": str(base),
                 "hosts": [[m.name, m.address] for m in fleet], "stopped": [],
                 "etcd_url": etcd_url, "http_url": http_url, "version": doc["kubernetes"]["version"]}
        self.layout.write_state(state)
        modern = mirror.is_modern(state["version"])
        if modern:
            url, sums = mirror.publish(self.layout.releases, http_url, state["version"])
            sha, served = "", dict(mirror=url, sums=sums if pin_sums else None)
        else:
            url, sha = self.serve_release(state["version"], faults)
            served = dict(release_url=url, release_sha256=sha)
        if len(fleet) > 18:
            machines.raise_inotify_limit(1024)
        keys = [machines.prepare(self.layout, base, m,
                                 hostfiles.host_files(m, fleet, pubkey, etcd_url))
                for m in fleet]
        write_file(self.known_hosts, "".join(f"{m.address} {k}\n" for m, k in zip(fleet, keys)), 0o644)
        for m in fleet:
            machines.boot(self.layout, m, self.cgroup)
        results = ready.wait_all([(m.name, m.address) for m in fleet], self.identity,
                                 self.known_hosts, self.timeout)
        self.log(f"{len(fleet)} lab hosts ready in {time.monotonic() - started:.1f} s")
        if not (self.build_dir / labinventory.TOKEN).exists():
            write_file(self.build_dir / labinventory.TOKEN, secrets.token_hex(20) + "\n")
        lab_doc = labinventory.lab_inventory(doc, hosts, {m.name: m.address for m in fleet},
                                             etcd_url=etcd_url, **served)
        self.inventory_path.write_text(labinventory.dump(lab_doc, source))
        self.layout.write_state({**state, "status": "up", "release_url": url, "release_sha256": sha,
                                 "inventory": str(self.inventory_path)})
        degraded = {r.name: r.failed_units for r in results if r.state == "degraded"}
        for name, units in degraded.items():
            self.log(f"warning: {name} is degraded: failed units {', '.join(units) or '?'}")
        self.info = LabInfo(self.inventory_path, tuple((m.name, m.address) for m in fleet),
                            url, sha, etcd_url, degraded)
        return self.info

    def down(self) -> None:
        """Stop everything the lab runs; leaves no process, mount, cgroup or listener."""
        with Lock(self.layout):
            self._clean(announce=False)

    def status(self) -> list[HostStatus]:
        state = self.layout.read_state() or {}
        out = []
        for name, addr in state.get("hosts", []):
            if not machines.nspawn_pid(self.layout, name):
                gone = "crashed" if machines.crashed(self.cgroup, name) else "stopped"
                out.append(HostStatus(name, addr, gone))
            else:
                answers = services.port_taken(addr, 22)
                out.append(HostStatus(name, addr, "running" if answers else "booting"))
        return out

    def upper_dir(self, name: str) -> Path:
        return self.layout.upper(name)

    def serve_release(self, version: str, faults=frozenset()) -> tuple[str, str]:
        """Build a release (with faults, if any) into the served dir: (url, sha256)."""
        state = self._state()
        path, sha = services.publish_release(self.layout, version, faults, self._builder(),
                                             self.cache_dir / "releases")
        return f"{state['http_url']}/{path}", sha

    def serve_mirror(self, version: str) -> tuple[str, dict[str, str]]:
        """Publish a modern release (v1.35+) into the mirror beside those served already
        (each version under its own paths): (the mirror's URL, {component: sha256})."""
        return mirror.publish(self.layout.releases, self._state()["http_url"], version)

    def stop_host(self, name: str) -> None:
        """Halt one host (as if it went down); its disk (upper dir) stays."""
        state = self._host_state(name)
        machines.stop(self.layout, [name], self.cgroup)
        self.layout.write_state({**state, "stopped": sorted({*state["stopped"], name})})

    def start_host(self, name: str) -> None:
        """Boot a stopped host again from its own upper dir and wait until ready."""
        state = self._host_state(name)
        if machines.nspawn_pid(self.layout, name):
            return
        address = dict(state["hosts"])[name]
        machines.mount(self.layout, Path(state["base"]), name)
        machines.boot(self.layout, Machine(name, address), self.cgroup)
        ready.wait_all([(name, address)], self.identity, self.known_hosts, self.timeout)
        self.layout.write_state({**state, "stopped": [n for n in state["stopped"] if n != name]})

    # -- helpers ---------------------------------------------------------------
    def _state(self) -> dict:
        state = self.layout.read_state()
        if not state:
            raise LabError(f"no lab is up (no {self.layout.state_file}); run `fab lab.up`")
        return state

    def _host_state(self, name: str) -> dict:
        state = self._state()
        if name not in dict(state["hosts"]):
            raise LabError(f"no lab host {name}; the lab has {', '.join(dict(state['hosts']))}")
        return state

    def _builder(self):
        if self._build_release:
            return self._build_release
        try:
            from .release import build_release
        except ImportError as e:
            raise LabError(f"the stand-in release builder is missing ({e})") from None
        return build_release

    def _clean(self, announce: bool) -> None:
        left = machines.leftovers(self.layout, self.cgroup)
        left += [f"{name} (pid {pid})" for name, pid in services.running(self.layout).items()]
        if left and announce:
            self.log("cleaning up what a stopped lab left behind: " + "; ".join(left))
        machines.clean(self.layout, self.cgroup)
        services.stop_all(self.layout)
        for path in (self.layout.etcd_data, self.layout.releases):
            shutil.rmtree(path, ignore_errors=True)
        self.layout.state_file.unlink(missing_ok=True)

    def _identity(self) -> str:
        if not self.identity.exists():
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "kubefab-lab",
                            "-f", str(self.identity)], check=True, stdin=subprocess.DEVNULL)
        self.identity.chmod(0o600)
        return self.identity.with_suffix(".pub").read_text()


"""The local lab: the inventory's hosts as systemd-nspawn containers on 127.0.0.2..,
a real etcd and a release server on 127.0.0.1, and `build/lab/hosts.yaml` to deploy
to them. `Lab` is the one entry point for tasks and tests.
What `up` writes to the build dir: kubefab_lab.buildfiles. Hosts can be taken down
and brought back one at a time (kubefab_lab.hostctl); one of them can be the only way
in (a bastion, kubefab_lab.bastion).
"""
from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import bastion as bastions
from . import buildfiles, hostfiles, image, labinventory, machines, mirror, mirror_cache, preflight, services, users
from .hostctl import HostControl
from .machines import Machine
from .state import STATE_DIR, LabError, Layout, Lock

__all__ = ["Lab", "LabInfo", "HostStatus", "LabError", "STATE_DIR"]


@dataclass(frozen=True)
class LabInfo:
    inventory_path: Path
    hosts: tuple[tuple[str, str], ...]  # (name, address), inventory order
    release_url: str
    release_sha256: str
    etcd_url: str
    degraded: dict[str, tuple[str, ...]] = field(default_factory=dict)  # host -> failed units
    bastion: tuple[str, str] | None = None  # (name, address): the only host that takes logins
    sudo_user: str = image.SUDO_USER  # its sudo asks for the password in sudo_password_file
    sudo_password_file: Path | None = None
    releases: tuple[str, ...] = ()  # a modern lab: every release its mirror serves
    ssh_config: Path | None = None


@dataclass(frozen=True)
class HostStatus:
    name: str
    address: str
    state: str  # running (sshd answers), booting, sshd-off, stopped, crashed (nspawn gone, host not)


class Lab(HostControl):
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
    sudo_password_file = property(lambda self: self.build_dir / users.PASSWORD_FILE)

    def up(self, source_inventory, nodes: int | None = None,
           release_faults=frozenset(), version: str | None = None, pin_sums: bool = True, *,
           masters: int | None = None, bastion: str | None = None,
           bastion_in_inventory: bool = False) -> LabInfo:
        """Boot the inventory's hosts (all its masters and nodes, or `masters` masters
        and `nodes` nodes), wait until each accepts SSH with its known key and systemd
        is up, write build/lab/hosts.yaml. `version` replaces the inventory's
        kubernetes.version; a modern one (v1.35+) is served as a mirror
        (kubefab_lab.mirror) beside every other supported release (mirror.RELEASES),
        its sums in the inventory unless `pin_sums` is false (then the download takes
        the sum files the mirror publishes beside each download, as from upstream, and
        an edit of the version alone switches releases). `bastion` names the host that
        becomes the only way in (kubefab_lab.bastion); `bastion_in_inventory` also
        writes it into hosts.yaml as ssh.bastion (the host's name), which kubefab goes through.
        Cleans up a crashed lab first; refuses while a lab is up."""
        doc = labinventory.read(source_inventory)
        if version:
            doc["kubernetes"] = {**doc["kubernetes"], "version": version}
        if release_faults and mirror.is_modern(doc["kubernetes"]["version"]):
            raise LabError("release faults apply to the v1.0-era release tarball, not to a modern mirror")
        hosts = doc["hosts"] if nodes is None and masters is None else \
            labinventory.scale(doc["hosts"], nodes, masters)
        if bastion is not None and bastion not in hosts:
            raise LabError(f"--bastion {bastion}: no such lab host; the lab has {', '.join(hosts)}")
        addrs = labinventory.addresses(hosts, self.first_address, self.net)
        fleet = [Machine(name, addr) for name, addr in addrs.items()]
        built = image.base_path(self.cache_dir).is_dir()
        preflight.check_tools(skip=(("debootstrap",) if built else ())
                              + (() if bastion else preflight.ONLY_WITH_A_BASTION))
        with Lock(self.layout):
            preflight.refuse_if_up(self.layout)
            self._builder()  # fail before anything starts when there is no release to serve
            self._clean(announce=True)
            preflight.check_free(fleet, self.etcd_port)
            base = image.ensure_base(self.cache_dir, self.log)
            try:
                return self._up(doc, Path(source_inventory), hosts, fleet, base, release_faults, pin_sums,
                                bastion, bastion_in_inventory)
            except BaseException:
                self.log("lab.up failed; stopping what it started (logs stay in "
                         f"{self.layout.root})")
                machines.stop(self.layout, self.layout.host_names(), self.cgroup)
                services.stop_all(self.layout)
                bastions.revoke(self.cgroup)
                self.layout.state_file.unlink(missing_ok=True)
                raise

    def _up(self, doc, source, hosts, fleet, base, faults, pin_sums, bastion, bastion_in_inventory) -> LabInfo:
        started = time.monotonic()
        self.build_dir.mkdir(parents=True, exist_ok=True)
        pubkey = buildfiles.identity(self.build_dir)
        etcd_url = services.start_etcd(self.layout, self.etcd_port)
        http_url, _ = services.start_http(self.layout)
        state = {"status": "booting", "source": str(Path(source).absolute()), "base": str(base),
                 "hosts": [[m.name, m.address] for m in fleet], "stopped": [], "sshd_off": [],
                 "bastion": bastion, "etcd_url": etcd_url, "http_url": http_url,
                 "version": doc["kubernetes"]["version"]}
        self.layout.write_state(state)
        releases = ()
        if mirror.is_modern(state["version"]):
            url, sums, releases = self._publish_mirror(state["version"])
            sha, served = "", dict(mirror=url, sums=sums if pin_sums else None)
        else:
            url, sha = self.serve_release(state["version"], faults)
            served = dict(release_url=url, release_sha256=sha)
        if len(fleet) > 18:
            machines.raise_inotify_limit(1024)
        addresses = {m.name: m.address for m in fleet}
        hashed = buildfiles.sudo_password(self.build_dir)
        host_keys = {}
        for m in fleet:
            sshd = bastions.sshd_lines(m.address, addresses.get(bastion))
            files = hostfiles.host_files(m, fleet, pubkey, etcd_url, sshd)
            host_keys[m.name] = (m.address, machines.prepare(self.layout, base, m, files))
            users.set_password(self.layout.merged(m.name), image.SUDO_USER, hashed)
        buildfiles.access(self.build_dir, host_keys, bastion)
        for m in fleet:
            machines.boot(self.layout, m, self.cgroup)
        if bastion:
            bastions.allow(self.cgroup, bastion, addresses[bastion], self.net)
        results = self._wait_ready(state, list(addresses))
        self.log(f"{len(fleet)} lab hosts ready in {time.monotonic() - started:.1f} s")
        buildfiles.inventory(self.build_dir, doc, source, hosts, addresses, dict(served, etcd_url=etcd_url),
                             releases, bastion if bastion_in_inventory else None)
        self.layout.write_state({**state, "status": "up", "release_url": url, "release_sha256": sha,
                                 "inventory": str(self.inventory_path)})
        degraded = {r.name: r.failed_units for r in results if r.state == "degraded"}
        for name, units in degraded.items():
            self.log(f"warning: {name} is degraded: failed units {', '.join(units) or '?'}")
        self.info = LabInfo(self.inventory_path, tuple(addresses.items()), url, sha, etcd_url, degraded,
                            (bastion, addresses[bastion]) if bastion else None, image.SUDO_USER,
                            self.sudo_password_file, releases, self.build_dir / bastions.SSH_CONFIG)
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
            elif services.port_taken(addr, 22):
                out.append(HostStatus(name, addr, "running"))
            else:
                off = name in state.get("sshd_off", [])
                out.append(HostStatus(name, addr, "sshd-off" if off else "booting"))
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
        return mirror_cache.publish(self.layout.releases, self._state()["http_url"], version,
                              self.cache_dir)

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

    def _publish_mirror(self, version: str) -> tuple[str, dict[str, str], tuple[str, ...]]:
        """Every supported release and `version` into the mirror, their sums into
        sums.yaml: (the mirror's URL, `version`'s sums, the releases served)."""
        started = time.monotonic()
        url, every = mirror_cache.publish_all(self.layout.releases, self._state()["http_url"], version,
                                        self.cache_dir)
        buildfiles.sums(self.build_dir, every)
        self.log(f"mirror: {len(every)} releases published in {time.monotonic() - started:.1f} s")
        return url, every[version], tuple(every)

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
        bastions.revoke(self.cgroup)
        for path in (self.layout.etcd_data, self.layout.releases):
            shutil.rmtree(path, ignore_errors=True)
        self.layout.state_file.unlink(missing_ok=True)


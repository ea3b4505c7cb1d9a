"""In-memory hosts for orchestration tests: kubefab's Connection without SSH.

`FakeCluster(inv)` has a `Machine` per inventory host (files, units, kubefab's lock,
a command log, scripted faults) and the apiserver's Node objects; `cluster.connect` is
a Fleet's connect factory. Nothing answers from a table: kubefab's host scripts are
recognised by name (kubefab-probe, kubefab-lease, kubefab-install, ...: their $0) and
run here in Python, printing what the real script prints; systemctl, journalctl, curl
and kubectl act on the machine's state. Tests assert on that state and on the log.

Faults a test may put in `machine.faults`:
  connect    the host does not answer SSH
  host-key   the host offers a key known_hosts does not have
  probe      the probe fails (sudo refuses)
  download   the release download fails (404); the previous release stays
  healthz    the apiserver runs but /healthz never says ok
  not-ready  the kubelet runs but its Node never gets Ready
  kubelet-fails  starting the kubelet fails (an ExecStartPre that fails, say)
  drain-stuck    `kubectl drain` of this node times out (fakeapi)
  interrupt  the operator presses Ctrl-C at the first /healthz kubefab polls once every
             host's download is done (deploy's nodes then wait for the apiserver)
  download-hangs      the download keeps running (activating) until finish_download()
  start-slow  each unit start on this host (not the download's) takes SLOW_START seconds,
              as when systemd's job waits for a slow unit
  download-slow       the download runs (activating) until the master's apiserver is active,
                      or for 5 looks at it; timeline gets (host, "downloaded") when it ends
  interrupt-download  the operator presses Ctrl-C at the first look at a running download
                      that finds every hanging host's download running
  full-disk  an install fails at its second file's backup copy: no space left, nothing lands
  killed     fab is killed (SIGKILL) right after this host's files are in place
  interrupt-connect  the operator presses Ctrl-C while kubefab connects to this host
  read-only  the unit directory is on a read-only file system
  disk-full  no space left on the device kubefab writes to
  disk-low   100 MiB free on /var/lib, as preflight sees it (its writes still succeed)
  sigkill-upload  the upload's root shell dies (SIGKILL) and the connection drops:
             the staged files stay, as they would
  etcd-restore-fails  `snapshot restore` fails (disk full, say)
  etcd-fails  kubefab's etcd (modern) does not start

The master's etcd (modern profile, managed): `etcdctl`/`etcdutl` in bin_dir say the
version their fake file names ("#!etcdctl 3.4.23"); a snapshot is the JSON of the fake
apiserver's nodes, and etcd started on a restored data dir (`<data>/member/snap/db`)
gives the apiserver those nodes back.

A unit remembers what it runs: `ran` is its unit file as systemd had it loaded at its
last (re)start and `release` the release stamp then, the fake's /proc/<pid>/cmdline.
"""
from __future__ import annotations

import base64
import collections
import errno
import hashlib
import io
import json
import zlib
import re
import shlex
import signal
import tarfile
import threading
import time
from dataclasses import dataclass, field

from fakeapi import Apiserver
from kubefab import reasons
from kubefab.remote import script
from kubefab.remote import lease, transport
from kubefab.profiles.legacy.paths import ENV_FILE
from kubefab.profiles.modern.paths import DOWNLOAD_MANIFEST, ETCD_DATA
from kubefab.layout import APISERVER, DOWNLOAD, ETCD, KUBELET, UNIT_DIR, stamp_path
from kubefab.model import Host, Inventory
from kubefab.remote import wait
from kubefab.remote.hostfiles import temp_name
from kubefab.remote.transport import HostKeyError, Interrupted, RemoteError, Result, checked, command_line

SLOW_START = 1.5  # seconds a unit start takes on a host with the start-slow fault
LOOK_TAKES = 0.01  # seconds of the cluster's clock one command a look runs takes


class Dropped(Exception):
    """The connection went away in the middle of a command."""


@dataclass
class FakeFile:
    content: str
    mode: int = 0o644
    owner: str = "root"
    group: str = "root"


@dataclass
class Unit:
    enabled: bool = False
    active: str = "inactive"
    starts: int = 0  # every start or restart
    loaded: str | None = None  # its file as systemd last read it
    journal: list[str] = field(default_factory=list)
    ran: str | None = None  # the unit file it runs (as loaded at its last start)
    release: str | None = None  # the release stamp at its last start
    reported: bool | None = None  # the enabled state systemd still reports after an enable or
    # disable with --no-reload of a unit it holds (it keeps a loaded unit's UnitFileState until a reload)


class Killed(BaseException):
    """fab killed: nothing of it runs any more (not an Exception: nothing catches it)."""


@dataclass(frozen=True)
class Call:
    what: str  # a script's name ("probe", "lock", "install", ...) or argv[0]
    argv: tuple[str, ...]
    sudo: bool


class Machine:
    def __init__(self, host: Host, cluster: "FakeCluster"):
        self.host, self.cluster = host, cluster
        self.files: dict[str, FakeFile] = {}
        self.dirs: set[str] = set()
        self.units: dict[str, Unit] = {}
        self.log: list[Call] = []
        self.faults: set[str] = set()
        # what the kernel and the distribution show (never kubefab's files): preflight reads it
        self.system: dict[str, str] = {}
        self.writes = 0  # files put in place by install
        self.looks = 0  # at a slow download ("download-slow")
        # each host script's Python twin, by the script's name (tests/unit/test_host_scripts.py
        # runs the same cases against both)
        self.scripts = {"probe": self.probe, "lease": self.lease, "install": self.install, "read": self.read,
                        "owe": self.owe, "list": self.list_paths, "remove": self.remove, "forget": self.forget,
                        "compare-backups": self.compare_backups, "put-back": self.restore, "fetch": self.fetch,
                        "put": self.put, "swap-etcd-data": self.swap, "reload": self.reload,
                        "run-download": self.run_download, "activate": self.activate,
                        "preflight": self.preflight, "apply-as": self.apply_as,
                        "replace-secrets": self.replace_secrets, "package": self.package}
        self.round_trips = 0  # commands run over its connection (a batch is one)

    # -- what tests look at ----------------------------------------------------------
    def starts(self) -> dict[str, int]:
        return {name: u.starts for name, u in self.units.items()}

    def calls(self, what: str) -> list[Call]:
        return [c for c in self.log if c.what == what]

    def unit(self, name: str) -> Unit:
        """A unit's state; one systemd never saw is inactive (and stays out of self.units)."""
        return self.units.get(name) or Unit()

    # -- commands ----------------------------------------------------------------------
    def execute(self, argv: list[str], sudo: bool, stdin: bytes | None) -> tuple[int, str, str]:
        if argv[:2] == ["sh", "-c"]:
            name, args = script.named(argv), argv[4:]
            handler = self.scripts.get(name)
            what = {"lease": {"take": "lock", "renew": "renew", "release": "unlock"}.get(args[0] if args else "")}.get(
                name, {"put-back": "restore", "swap-etcd-data": "swap"}.get(name, name))
            self.log.append(Call(what or "sh", tuple(argv), sudo))
            if handler is None:
                raise AssertionError(f"the fake does not know this script: {argv[3]!r}")
            if not sudo:
                return 1, "", "Permission denied"
            return handler(*args, stdin=stdin) if what in ("install", "put", "preflight", "apply-as") else handler(*args)
        self.log.append(Call(argv[0].rsplit("/", 1)[-1], tuple(argv), sudo))
        if argv[0] == "systemctl":
            return self.systemctl(argv[1:], sudo)
        if argv[0] == "journalctl" and "-n" not in argv:  # kubefab.ops.logs: every -u unit's lines
            units = [argv[i + 1] for i, a in enumerate(argv) if a == "-u"]
            lines = [f"{u}: {line}" for u in units for line in self.unit(u).journal]
            return 0, "".join(f"{line}\n" for line in lines) or "-- No entries --\n", ""
        if argv[0] == "journalctl":
            unit, lines = argv[argv.index("-u") + 1], int(argv[argv.index("-n") + 1])
            return 0, "\n".join(self.unit(unit).journal[-lines:]) + "\n", ""
        if argv[0] == "curl":
            return self.curl(argv, sudo)
        if argv[0].endswith("/kubectl"):
            return self.cluster.api.kubectl(self, argv, stdin)
        if argv[:3] == ["rm", "-f", "--"] and sudo:
            for path in argv[3:]:
                self.files.pop(path, None)
            return 0, "", ""
        if argv[:3] == ["rm", "-rf", "--"] and sudo:
            for path in argv[3:]:
                self.files.pop(path, None)
                self.remove_under(path)
            return 0, "", ""
        if argv[:2] == ["install", "-d"] and sudo:
            self.dirs.add(argv[-1])
            return 0, "", ""
        if argv[0].endswith(("/etcdctl", "/etcdutl")):
            return self.etcd_tool(argv, sudo)
        raise AssertionError(f"the fake does not know this command: {shlex.join(argv)}")

    def curl(self, argv: list[str], sudo: bool = True, polled: bool = True) -> tuple[int, str, str]:
        """kubefab.health's check: the client certificate and key it names must be there
        (and readable: the key is root's), as for the real curl."""
        url = argv[-1]
        for flag in ("--cacert", "--cert", "--key"):
            path = argv[argv.index(flag) + 1] if flag in argv else None
            if path and (path not in self.files or (flag == "--key" and not sudo)):
                return 58, "", f"curl: (58) could not load {flag[2:]} {path}\n"
        released = all(m.unit(DOWNLOAD).active == "active" for m in self.cluster.machines.values())
        if polled and "interrupt" in self.faults and url.endswith("/healthz") and released:
            self.faults.discard("interrupt")  # as SIGINT reaches fab: in its main thread
            signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)
        code, out, err = self.cluster.api.healthz(self, url)
        if polled and url.endswith("/healthz") and out == "ok":
            self.cluster.timeline.append((self.host.name, "healthz ok"))
        return code, out, err

    def systemctl(self, args: list[str], sudo: bool) -> tuple[int, str, str]:
        verb, units = args[0], [a for a in args[1:] if not a.startswith("-")]
        if verb == "is-active":
            states = [self.unit(u).active for u in units]
            out = "" if "--quiet" in args else "".join(f"{s}\n" for s in states)
            return (0 if all(s == "active" for s in states) else 3), out, ""
        if verb == "show":  # --property=ActiveState --value, as converge.download asks
            return self.show(units[0])
        if not sudo:
            return 1, "", "Failed: Access denied"
        if verb == "daemon-reload":
            for name, unit in self.units.items():
                unit.loaded, unit.reported = self.unit_file(name), None
            return 0, "", ""
        missing = [u for u in units if self.unit_file(u) is None]
        if missing:  # systemd's words: a unit to stop is one it has not loaded
            return 5, "", f"Failed to {verb} {missing[0]}: Unit {missing[0]} not {'loaded' if verb == 'stop' else 'found'}.\n"
        for u in units:
            if verb in ("enable", "disable"):
                unit = self.units.setdefault(u, Unit())
                if "--no-reload" in args and unit.loaded is not None and unit.reported is None:
                    unit.reported = unit.enabled  # systemd holds it: the old state, until a reload
                unit.enabled = verb == "enable"
            elif verb in ("start", "restart"):
                code, err = self.start(u, again=verb == "restart")
                if code and "--no-block" not in args:  # --no-block: queued, no waiting for the result
                    return code, "", err
            elif verb == "stop":
                self.units.setdefault(u, Unit()).active = "inactive"
            elif verb == "reset-failed":
                if self.unit(u).active == "failed":
                    self.units[u].active = "inactive"
            else:
                raise AssertionError(f"the fake does not know systemctl {verb}")
        return 0, "", ""

    def start(self, name: str, again: bool) -> tuple[int, str]:
        """Start (or restart) a unit; a target starts what it Wants= that is not running."""
        unit = self.units.setdefault(name, Unit())
        if unit.active == "active" and not again:
            return 0, ""
        unit.loaded = unit.loaded if unit.loaded is not None else self.unit_file(name)
        if name.endswith(".target"):
            wants = [line[6:] for line in unit.loaded.splitlines() if line.startswith("Wants=")]
            for want in wants:
                code, err = self.start(want, again=False)
                if code:
                    return code, err
        elif name == DOWNLOAD and ("download-hangs" in self.faults or "download-slow" in self.faults):
            self.looks = 0
            unit.active = "activating"
            unit.journal.append("kubernetes-download: downloading (12 MB of 20 MB)")
            return 0, ""
        elif name == KUBELET and "kubelet-fails" in self.faults:
            unit.active = "failed"
            unit.journal.append("kubelet: error: failed to run Kubelet (kubefab fake fault)")
            return 1, (f"Job for {KUBELET} failed because the control process exited with error code.\n"
                       f"See \"systemctl status {KUBELET}\" for details.\n")
        elif name == ETCD and "etcd-fails" in self.faults:
            unit.active = "failed"
            unit.journal.append("etcd: cannot access data directory: permission denied (kubefab fake fault)")
            return 1, f"Job for {ETCD} failed because the control process exited with error code.\n"
        elif name == DOWNLOAD and not self.download():
            unit.active = "failed"
            return 1, (f"Job for {DOWNLOAD} failed because the control process exited with "
                       f"error code.\nSee \"systemctl status {DOWNLOAD}\" for details.\n")
        unit.active, unit.starts = "active", unit.starts + 1
        stamp = self.files.get(stamp_path(self.cluster.inv.kubernetes.install_dir))
        unit.ran, unit.release = unit.loaded, stamp.content.strip() if stamp else None
        unit.journal.append(f"Started {name}.")
        self.cluster.history.append((self.host.name, f"start {name}"))
        self.cluster.timeline.append((self.host.name, f"start {name}"))
        db = self.files.get(f"{ETCD_DATA}/member/snap/db")
        if name == ETCD and db:  # the restored data: the apiserver's objects as they were
            self.cluster.api.nodes = json.loads(db.content)["nodes"]
        if name == APISERVER and "healthz" in self.faults:
            unit.journal.append("E0101 etcd: client: etcd cluster is unavailable or misconfigured")
        return 0, ""

    # -- converge's scripts: the systemctl commands they run, in order -------------------
    def reload(self, reload: str, *units: str) -> tuple[int, str, str]:
        """scripts/reload.sh: enable, then daemon-reload when asked or when a unit needs it."""
        missing = [u for u in units if self.unit_file(u) is None]
        if missing:  # systemctl enable's own words (not start's)
            return 1, "", f"Failed to enable unit: Unit file {missing[0]} does not exist.\n"
        if units:
            code, out, err = self.systemctl(["enable", "--quiet", "--no-reload", *units], True)
            if code:
                return code, out, err
        if reload == "yes" or any(self.needs_reload(u) for u in units):
            return self.systemctl(["daemon-reload"], True)
        return 0, "", ""

    def needs_reload(self, name: str) -> bool:
        """NeedDaemonReload: systemd loaded the unit from a file that has changed since."""
        unit = self.units.get(name)
        return unit is not None and unit.loaded is not None and self.unit_file(name) != unit.loaded

    def activate(self, verb: str, folder: str, clear: str, lock: str, mine: str, *units: str) -> tuple[int, str, str]:
        """scripts/activate.sh: nothing when LOCK_DIR's lock is not `mine` (exit 4, the
        holder); else systemctl VERB the units, then their marks removed."""
        if lock:
            holder = self.files.get(f"{lock}/holder")
            holder = holder.content.split("\n")[0] if holder else ""
            if holder != mine:
                return 4, (holder or "nobody: the lock was removed") + "\n", \
                    "the kubefab lock on this host is not this run's: nothing started\n"
        self.log.append(Call("systemctl", ("systemctl", verb, *units), True))
        code, out, err = self.systemctl([verb, "--", *units], True)
        if not code:
            for unit in clear.split("\n") if clear else ():
                self.files.pop(f"{folder}/{unit}", None)
        return code, out, err

    def run_download(self, unit: str, state: str = "") -> tuple[int, str, str]:
        """scripts/run-download.sh: forgotten if it failed (as `state` says, else as it is),
        restarted without waiting (started if it never ran)."""
        if (state or self.unit(unit).active) == "failed":
            self.systemctl(["reset-failed", unit], True)
        return self.systemctl(["restart", "--no-block", unit], True)

    def show(self, name: str) -> tuple[int, str, str]:
        if name == DOWNLOAD and "download-slow" in self.faults and self.unit(name).active == "activating":
            self.looks += 1
            master = self.cluster[self.cluster.inv.master.name]
            if master.unit(APISERVER).active == "active" or self.looks >= 5:
                self.units[DOWNLOAD].active = "active" if self.download() else "failed"
                self.cluster.timeline.append((self.host.name, "downloaded"))
        state = self.unit(name).active
        hanging = [m for m in self.cluster.machines.values() if "download-hangs" in m.faults]
        if name == DOWNLOAD and "interrupt-download" in self.faults and \
                all(m.unit(DOWNLOAD).active == "activating" for m in hanging):
            self.faults.discard("interrupt-download")
            signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)
        return 0, state + "\n", ""

    def finish_download(self) -> None:
        """A download that was still running ends (after fab gave up, say)."""
        self.faults.discard("download-hangs")
        unit = self.units[DOWNLOAD]
        unit.active = "active" if self.download() else "failed"

    def download(self) -> bool:
        """kubernetes-download: the release the env file names (v1.0) or the manifest's
        binaries (modern), stamp written last."""
        if ENV_FILE not in self.files and DOWNLOAD_MANIFEST in self.files:
            return self.download_binaries()
        env = dict(line.split("=", 1) for line in self.files[ENV_FILE].content.splitlines()
                   if "=" in line and not line.startswith("#"))
        env = {k: v.strip("'") for k, v in env.items()}
        log, stamp = self.units[DOWNLOAD].journal, stamp_path(env["KUBE_INSTALL_DIR"])
        if stamp in self.files and self.files[stamp].content.strip() == env["KUBE_RELEASE_STAMP"]:
            log.append(f"kubernetes-download: {env['KUBE_VERSION']} is installed already")
            return True
        if "download" in self.faults:
            log.append(f"curl: (22) The requested URL returned error: 404")
            log.append(f"kubernetes-download: error: downloading {env['KUBE_RELEASE_TARBALL']} failed; "
                       f"keeping the binaries in {env['KUBE_INSTALL_DIR']}")
            return False
        self.files[f"{env['KUBE_BIN_DIR']}/kubectl"] = FakeFile(f"#!kubectl {env['KUBE_RELEASE_STAMP']}\n", 0o755)
        self.files[stamp] = FakeFile(env["KUBE_RELEASE_STAMP"] + "\n")
        log.append(f"kubernetes-download: installed {env['KUBE_VERSION']} in {env['KUBE_INSTALL_DIR']}")
        return True

    def download_binaries(self) -> bool:
        """The modern profile's kubernetes-download: each binary the manifest's `get`
        rows name, in their folder (a fake file naming the stamp), then the stamp."""
        rows = [line.split("\t") for line in self.files[DOWNLOAD_MANIFEST].content.splitlines()]
        value = next(r[1] for r in rows if r[0] == "stamp")
        stamp, log = stamp_path(next(r[1] for r in rows if r[0] == "state")), self.units[DOWNLOAD].journal
        if stamp in self.files and self.files[stamp].content.strip() == value:
            log.append("kubernetes-download: this release is installed already")
            return True
        if "download" in self.faults:
            log.append("kubernetes-download: error: downloading failed (curl exit 22); keeping the binaries in place")
            return False
        for r in (r for r in rows if r[0] == "get"):
            for binary in r[5].split(","):
                self.files[f"{r[4]}/{binary}"] = FakeFile(f"#!{binary} {value}\n", 0o755)
        self.files[stamp] = FakeFile(value + "\n")
        log.append("kubernetes-download: installed")
        return True

    def unit_file(self, name: str) -> str | None:
        f = self.files.get(f"{UNIT_DIR}/{name}")
        return f.content if f else None

    # -- kubefab's scripts, in Python ------------------------------------------------------
    def probe(self, stamp, lock, healthz, loopback, files, units, owed="", stage="",
              cluster="", curl="", urls="") -> tuple[int, str, str]:
        if "probe" in self.faults:
            return 1, "", "sudo: a password is required\n"
        out, paths = [], [p for p in files.split("\n") if p in self.files]
        b64 = lambda text: base64.b64encode(text.encode()).decode()  # noqa: E731
        for path in sorted(self.files):  # files, never dot files, directly in OWED_DIR
            name = path[len(owed) + 1:] if owed and path.startswith(owed + "/") else ""
            if name and "/" not in name and not name.startswith("."):
                out.append(f"owed\t{name}\t{b64(self.files[path].content)}")
        staged = {p[len(stage) + 1:].split("/")[0] for p in (*self.files, *self.dirs)
                  if stage and p.startswith(stage + "/")}
        out += [f"stage\t{name}" for name in sorted(staged, key=lambda n: (n.startswith("."), n))]  # *, then .[!.]*
        out += [f"sum\t{p}\t{hashlib.sha256(self.files[p].content.encode()).hexdigest()}" for p in paths]
        out += [f"stat {p} {self.files[p].mode:o} {self.files[p].owner} {self.files[p].group}" for p in paths]
        for i, name in enumerate(units.split("\n") if units else []):
            unit, text = self.unit(name), self.unit_file(name)
            enabled = unit.enabled if unit.reported is None else unit.reported
            state = "enabled" if enabled else "disabled" if text is not None else ""
            reload = "yes" if self.needs_reload(name) else "no"
            load = "loaded" if text is not None or unit.loaded is not None else "not-found"
            out += ["unit\t"] if i else []
            out += [f"unit\tId={name}", f"unit\tLoadState={load}", f"unit\tActiveState={unit.active}",
                    f"unit\tUnitFileState={state}", f"unit\tNeedDaemonReload={reload}"]  # systemd's order
        for kind, path in (("stamp", stamp), ("lock", f"{lock}/holder"), ("cluster", cluster)):
            if path and path in self.files:
                out.append(f"{kind}\t{b64(self.files[path].content)}")
        for kind, check in (("healthz", healthz), ("loopback", loopback)):
            if check:
                _, said, err = self.curl(check.split("\n"), polled=False)
                out.append(f"{kind}\t{b64(said + err)}")  # the probe keeps curl's 2>&1
        for url in urls.split("\n") if curl and urls else ():
            code, body, _ = self.curl([*curl.split("\n"), url], polled=False)
            if code == 0:
                out.append(f"list\t{url}\t{b64(body)}")
        return 0, "".join(line + "\n" for line in out), ""

    # kubefab.remote.lease's scripts: LOCK_DIR/holder and /expires, by this host's clock
    def now(self) -> int:
        return int(self.cluster.clock)

    def held(self, lock) -> tuple[str, int | None] | None:
        """(holder, seconds its lease has left or None) when locked, else None."""
        if not self.is_dir(lock):
            return None
        holder = self.files.get(f"{lock}/holder")
        expires = self.files.get(f"{lock}/expires")
        left = int(expires.content) - self.now() if expires and expires.content.strip().isdigit() else None
        return (holder.content.split("\n")[0] if holder else ""), left

    def put_lock(self, lock, holder, lease_seconds) -> None:
        self.dirs.add(lock)
        self.files[f"{lock}/holder"] = FakeFile(holder + "\n")
        self.files[f"{lock}/expires"] = FakeFile(f"{self.now() + int(lease_seconds)}\n")

    def owe(self, folder, why, *units) -> tuple[int, str, str]:
        self.dirs.add(folder)
        for unit in units:
            self.files[f"{folder}/{unit}"] = FakeFile(why + "\n")
        return 0, "", ""

    def drop_lock(self, lock) -> None:
        self.drop(lock)

    def lease(self, verb, lock, *args) -> tuple[int, str, str]:
        """scripts/lease.sh: take, renew or release, holding flock on LOCK_DIR.flock (a
        file it makes beside the lock, which stays)."""
        self.dirs.add(lock.rsplit("/", 1)[0])
        self.files.setdefault(f"{lock}.flock", FakeFile(""))
        verbs = {"take": self.lock, "renew": self.renew, "release": self.unlock}
        if verb not in verbs:
            return 2, "", f"lease: unknown verb {verb}\n"
        return verbs[verb](lock, *args)

    def lock(self, lock, holder, lease_seconds, stage, stale="") -> tuple[int, str, str]:
        held, out = self.held(lock), ""
        if held and held[0] != holder:
            left = "" if held[1] is None else str(held[1])
            if (held[1] is None or held[1] > 0) and not (stale and held[0] == stale):
                return 3, f"{left}\t{held[0]}\n", ""
            out = f"{left}\t{held[0]}\n"
        self.drop_lock(lock)
        self.put_lock(lock, holder, lease_seconds)
        self.files[f"{lock}/lease"] = FakeFile(f"{lease_seconds}\n")  # install extends the lease by it
        self.drop(stage)
        for name in {p.split("/")[2] for p in (*self.files, *self.dirs) if p.startswith("/tmp/.kubefab-")}:
            if self.is_dir(f"/tmp/{name}"):  # folders only, as older kubefabs staged in
                self.drop(f"/tmp/{name}")
        return 0, out, ""

    def renew(self, lock, holder, lease_seconds) -> tuple[int, str, str]:
        held = self.held(lock)
        if held and held[0] == holder:
            self.put_lock(lock, holder, lease_seconds)
            return 0, "", ""
        left = "" if not held or held[1] is None else str(held[1])
        return 3, f"{left}\t{held[0] if held else 'nobody: the lock was removed'}\n", ""

    def unlock(self, lock, holder, force) -> tuple[int, str, str]:
        held = self.held(lock)
        if holder:
            if held and held[0] == holder:
                self.drop_lock(lock)
            return 0, "", ""
        if not held:
            return 0, "none\t\t\n", ""
        left = "" if held[1] is None else str(held[1])
        if force != "force" and (held[1] is None or held[1] > 0):
            return 3, f"held\t{left}\t{held[0]}\n", ""
        self.drop_lock(lock)
        return 0, f"removed\t{left}\t{held[0]}\n", ""

    def install(self, backup, keep, manifest, run, lock, mine, *args, stdin=b"") -> tuple[int, str, str]:
        """transport.INSTALL: nothing when LOCK_DIR's lock is not `mine` (exit 4, the
        holder); else its lease extended by LOCK_DIR/lease seconds, and tar writes stdin's
        files as their temp names (in their folders' staging folders: every file it can; a
        folder that is a file, a read-only or full disk fails its own, and tar exits 2 at
        the end, the trap removing the staging folders: nothing changed); then each file's
        previous version becomes the newest of `keep` numbered backups (a secret's root's,
        0600), each listed in the run's manifest, and only then are they all renamed over
        their targets, the staging folders removed with whatever an earlier killed run left
        there. A SIGKILL ("sigkill-upload") leaves the temps; "full-disk": the second
        file's backup copy fails, nothing lands."""
        if lock:
            self.files.setdefault(f"{lock}.flock", FakeFile(""))
            holder = self.files.get(f"{lock}/holder")
            holder = holder.content.split("\n")[0] if holder else ""
            if holder != mine:
                return 4, (holder or "nobody: the lock was removed") + "\n", \
                    "the kubefab lock on this host is not this run's: nothing written\n"
            length = self.files.get(f"{lock}/lease", FakeFile("")).content.strip()
            if length.isdigit():  # the lease extended by the length its take wrote
                self.files[f"{lock}/expires"] = FakeFile(f"{self.now() + int(length)}\n")
        with tarfile.open(fileobj=io.BytesIO(stdin)) as tar:
            members = [(m.name, m.mode, tar.extractfile(m).read().decode()) for m in tar.getmembers()]
        errors = []
        for temp, mode, content in members:
            folder = temp.rsplit("/", 1)[0]
            blocked = next((d for d in [folder, *parents(folder)] if d in self.files), None)
            if blocked:
                errors.append(f"tar: {temp}: Cannot open: Not a directory\n")
            elif "read-only" in self.faults and parents(folder)[0] == UNIT_DIR:  # GNU tar: the staging folder
                errors.append(f"tar: {folder}: Cannot mkdir: Read-only file system\n"
                              f"tar: {temp}: Cannot open: No such file or directory\n")
            elif "disk-full" in self.faults:
                errors.append(f"tar: {temp}: Cannot write: No space left on device\n")
            else:
                self.files[temp] = FakeFile(content, mode)
        if "sigkill-upload" in self.faults:
            raise Dropped("the root shell was killed while the upload ran")
        staging = {parents(temp)[0] + "/" for temp, _, _ in members}

        def unstage():  # the staging folders, with what an earlier killed run left there
            for path in [p for p in self.files if p.startswith(tuple(staging))]:
                del self.files[path]
        if errors:
            unstage()
            return 2, "", "".join(errors) + "tar: Exiting with failure status due to previous errors\n"
        try:
            if not self.files.get(manifest, FakeFile("")).content.startswith(f"run\t{run}\n"):
                self.files[manifest] = FakeFile(f"run\t{run}\n", 0o600)
            files = [args[i:i + 6] for i in range(0, len(args), 6)]
            for i, (dst, mode, owner, group, secret, restarts) in enumerate(files):
                if i and "full-disk" in self.faults and dst in self.files:  # the disk filled
                    return 1, "", f"cp: error writing '{backup}{dst}.1': No space left on device\n"
                if dst in self.files:
                    self.backup(backup + dst, int(keep), self.files[dst], secret)
                    was = self.files[dst]
                    line = f"replaced\t{dst}\t{was.mode:o}\t{was.owner}\t{was.group}\t{secret}\t{restarts}\n"
                else:
                    line = f"created\t{dst}\t\t\t\t{secret}\t{restarts}\n"
                self.files[manifest].content += line
            for dst, mode, owner, group, secret, restarts in files:
                written = self.files.pop(temp_name(dst))
                self.files[dst] = FakeFile(written.content, written.mode, owner, group)
                self.writes += 1
            if "killed" in self.faults:
                raise Killed(self.host.name)
            return 0, "", ""
        finally:
            unstage()

    def backup(self, base: str, keep: int, was: FakeFile, secret: str) -> None:
        """base.1 the newest, up to base.KEEP; older ones (and an unnumbered one) removed."""
        self.files.pop(base, None)
        for n in sorted((int(p[len(base) + 1:]) for p in self.files
                         if p.startswith(base + ".") and p[len(base) + 1:].isdigit()), reverse=True):
            old = self.files.pop(f"{base}.{n}")
            if n + 1 <= keep:
                self.files[f"{base}.{n + 1}"] = old
        # a secret's copy: cp as root under umask 077 (root's, at most rwx------)
        self.files[f"{base}.1"] = FakeFile(was.content, was.mode & 0o700, "root", "root") if secret \
            else FakeFile(**vars(was))

    # kubefab.backups' scripts: each listed file against its newest backup; backups put back
    def compare_backups(self, backup, *paths) -> tuple[int, str, str]:
        def state(p):
            copy = self.files.get(f"{backup}{p}.1")
            return "nobackup" if copy is None else "same" if p in self.files and \
                self.files[p].content == copy.content else "differs"
        return 0, "".join(f"{state(p)}\t{p}\n" for p in paths), ""

    def restore(self, backup, last, finished, *args) -> tuple[int, str, str]:
        for i in range(0, len(args), 4):
            dst, mode, owner, group = args[i:i + 4]
            if "read-only" in self.faults:
                return 1, "", f"cp: cannot create regular file '{dst}': Read-only file system\n"
            copy = self.files.get(f"{backup}{dst}.1")
            if copy is None:
                return 1, "", f"cp: cannot stat '{backup}{dst}.1': No such file or directory\n"
            self.files[dst] = FakeFile(copy.content, int(mode, 8), owner, group)
        if last not in self.files:
            return 1, "", f"mv: cannot stat '{last}': No such file or directory\n"
        self.files[finished] = self.files.pop(last)
        return 0, "", ""

    # kubefab.footprint's scripts: paths listed and removed whole (a folder is every file
    # under it); units stopped and disabled; systemd forgets a unit whose file is gone
    def list_paths(self, *paths) -> tuple[int, str, str]:
        out = []
        for p in paths:
            under = [f for f in self.files if f.startswith(p + "/")]
            out += [f"file\t{p}\n"] if p in self.files else [f"folder\t{p}\t{len(under)}\n"] if self.is_dir(p) else []
        return 0, "".join(out), ""

    def remove(self, keep, empty, units, *paths) -> tuple[int, str, str]:
        """scripts/remove.sh: units stopped and disabled, paths removed whole, then each
        EMPTY folder and each folder left empty up to a KEEP one; on a read-only file
        system units stop but stay enabled, and every path stays."""
        keep, units, stuck = keep.split("\n"), [u for u in units.split("\n") if u], "read-only" in self.faults
        for u in units:
            if u in self.units or self.unit_file(u) is not None:  # else: not loaded, nothing to stop
                self.units.setdefault(u, Unit()).active = "inactive"
                self.units[u].enabled = self.units[u].enabled and stuck
        out, bad = [], 0
        for p in [p for p in paths if self.exists(p)]:
            if stuck:
                out.append(f"failed\t{p}\n")
                bad = 1
            else:
                self.drop(p)
                out.append(f"removed\t{p}\n")
        for p in [*paths, *(e for e in empty.split("\n") if e)]:
            if not stuck and self.is_dir(p) and self.is_empty(p):  # an EMPTY folder (or a path that stayed)
                self.rmdir(p)
                out.append(f"removed\t{p}/\n")
            d = p.rsplit("/", 1)[0]
            while d and self.is_dir(d) and d not in keep and not stuck and self.is_empty(d):
                self.rmdir(d)
                out.append(f"removed\t{d}/\n")
                d = d.rsplit("/", 1)[0]
        for name, unit in list(self.units.items()):  # daemon-reload: a unit whose file is gone is forgotten
            unit.loaded = self.unit_file(name)
            if unit.loaded is None and unit.active in ("inactive", "failed") and name in units:
                del self.units[name]
        for u in units:
            state = self.unit(u).active
            if state not in ("inactive", "failed", "unknown", ""):
                out.append(f"running\t{u}\t{state}\n")
                bad = 1
        return bad, "".join(out), ""

    def package(self, program, package, mode="") -> tuple[int, str, str]:
        """package.sh: a program there or not; installed as apt-get puts it (/usr/sbin/PACKAGE)."""
        f = self.files.get(program)
        if f is not None and f.mode & 0o111:
            return 0, "present\n", ""
        if mode != "install":
            return 0, "missing\n", ""
        if "no-package" in self.faults:
            return 1, "", f"E: Unable to locate package {package}\napt-get install {package} failed\n"
        self.files[f"/usr/sbin/{package}"] = FakeFile("#!/bin/sh\n", 0o755)
        if program not in self.files:
            return 1, "", f"{package} installed, and {program} is still missing\n"
        return 0, "installed\n", ""

    def forget(self, state, lock) -> tuple[int, str, str]:
        if not self.is_dir(lock) and f"{lock}.flock" in self.files:
            self.drop(f"{lock}.flock")
        if self.is_dir(state) and self.is_empty(state):
            self.rmdir(state)
        return 0, "", ""

    def remove_under(self, folder: str) -> None:
        for path in [p for p in self.files if p.startswith(folder + "/")]:
            del self.files[path]

    # folders: those in self.dirs and every file's and folder's parents
    def is_dir(self, path: str) -> bool:
        return path in self.dirs or not self.is_empty(path)

    def is_empty(self, folder: str) -> bool:
        return not any(p.startswith(folder + "/") for p in (*self.files, *self.dirs))

    def exists(self, path: str) -> bool:
        return path in self.files or self.is_dir(path)

    def drop(self, path: str) -> None:
        """rm -rf: the path and whatever is under it; its folder stays."""
        self.files.pop(path, None)
        self.remove_under(path)
        self.dirs.difference_update({d for d in self.dirs if d == path or d.startswith(path + "/")})
        if path.rsplit("/", 1)[0]:
            self.dirs.add(path.rsplit("/", 1)[0])

    def rmdir(self, folder: str) -> None:
        """An empty folder removed; its own folder stays."""
        self.dirs.discard(folder)
        if folder.rsplit("/", 1)[0]:
            self.dirs.add(folder.rsplit("/", 1)[0])

    def move(self, src: str, dst: str) -> None:
        """mv SRC DST (DST absent): a file or a folder with all under it; SRC's folder stays."""
        for p in [p for p in self.files if p == src or p.startswith(src + "/")]:
            self.files[dst + p[len(src):]] = self.files.pop(p)
        for d in [d for d in self.dirs if d == src or d.startswith(src + "/")]:
            self.dirs.discard(d)
            self.dirs.add(dst + d[len(src):])
        self.dirs.add(src.rsplit("/", 1)[0])

    def fetch(self, path) -> tuple[int, str, str]:
        if path not in self.files:
            return 1, "", f"sha256sum: {path}: No such file or directory\n"
        data = self.files[path].content.encode()  # base64 wraps its lines at 76 characters
        return 0, f"{hashlib.sha256(data).hexdigest()}\n{base64.encodebytes(data).decode()}", ""

    def put(self, path, digest, stdin=b"") -> tuple[int, str, str]:
        self.dirs.add(path.rsplit("/", 1)[0])
        if hashlib.sha256(stdin).hexdigest() != digest:
            return 1, "", f"{path}: the copy's sha256 differs\n"
        self.files[path] = FakeFile(stdin.decode(errors="replace"), 0o600)
        return 0, "", ""

    def swap(self, data, aside, new) -> tuple[int, str, str]:
        if self.exists(aside):
            return 1, "", f"{aside} exists already\n"
        if not self.exists(new):
            return 1, "", f"{new}: no restored data dir\n"
        if self.exists(data):
            self.move(data, aside)
        self.move(new, data)
        return 0, "", ""

    def etcd_tool(self, argv: list[str], sudo: bool) -> tuple[int, str, str]:
        """etcdctl and etcdutl on the master (see the module's doc)."""
        binary, name = argv[0], argv[0].rsplit("/", 1)[-1]
        if binary not in self.files:
            return 1, "", f"sudo: {binary}: command not found\n"
        if not sudo:
            return 1, "", "Error: open /var/lib/kubernetes/apiserver-etcd-client.key: permission denied\n"
        words = [a for a in argv[1:] if not a.startswith("--")]
        flags = dict(a[2:].split("=", 1) for a in argv[1:] if a.startswith("--") and "=" in a)
        if words == ["version"]:
            return 0, f"{name} version: {self.files[binary].content.split()[-1]}\nAPI version: 3.4\n", ""
        if words == ["endpoint", "health"]:
            if self.unit(ETCD).active != "active":
                return 1, "", f"{flags['endpoints']} is unhealthy: failed to commit proposal: context deadline exceeded\n"
            return 0, f"{flags['endpoints']} is healthy: successfully committed proposal: took = 2ms\n", ""
        verb, path = words[1], words[2]
        if verb == "save":
            if self.unit(ETCD).active != "active":
                return 1, "", "Error: context deadline exceeded\n"
            self.files[path] = FakeFile(json.dumps({"nodes": self.cluster.api.nodes}), 0o600)
            return 0, f"Snapshot saved at {path}\n", ""
        try:
            content = self.files[path].content
            nodes = json.loads(content)["nodes"]
        except (KeyError, ValueError):
            return 1, "", "Error: invalid database\n"
        if verb == "status":
            status = {"hash": zlib.crc32(content.encode()), "revision": 40 + len(nodes), "totalKey": len(nodes),
                      "totalSize": 20480}
            return 0, json.dumps(status) + "\n", ""
        assert verb == "restore" and flags["name"] == self.host.name, argv
        if "etcd-restore-fails" in self.faults:
            return 1, "", "Error: write /var/lib/etcd.restored/member/snap/db: no space left on device\n"
        if any(p.startswith(flags["data-dir"] + "/") for p in self.files):
            return 1, "", f"Error: data-dir {flags['data-dir']!r} exists\n"
        self.files[f"{flags['data-dir']}/member/snap/db"] = FakeFile(content, 0o600)
        return 0, "", ""

    # kubefab.ops.preflight's script: what the host offers, read below ROOT (here /)
    def sys_file(self, path: str) -> str | None:
        f = self.files.get(path)
        return f.content if f else self.system.get(path)

    def preflight(self, root, tls, *items, stdin=b"") -> tuple[int, str, str]:
        out = []
        for item in items:
            kind, *w = item.split("\t")
            out.append("\t".join((kind, *self.offers(kind, *w))))
        return 0, "".join(f"{line}\n" for line in out), ""

    def offers(self, kind: str, *w: str) -> tuple[str, ...]:
        """preflight.sh's answer for one item (its words after the kind)."""
        read = lambda p: (self.sys_file(p) or "").rstrip("\n")  # noqa: E731 - $(cat p)
        if kind == "hostname":
            return (read("/proc/sys/kernel/hostname"),)
        if kind == "disk":  # as tests/unit/host_stubs/df says it
            return w[0], "102400" if "disk-low" in self.faults else "52428800"
        if kind == "time":
            return (str(self.now()),)
        if kind == "cgroup":
            return ("v2" if self.sys_file("/sys/fs/cgroup/cgroup.controllers") is not None else "v1",)
        if kind == "swap":
            return (str(len([x for x in read("/proc/swaps").split("\n")[1:] if x.strip()])),)
        if kind == "module":
            name, path, pattern = w[0], "/" + w[1], w[2] if len(w) > 2 else ""
            text = self.sys_file(path)
            if text is not None and (not pattern or re.search(rf"(?<![\w]){re.escape(pattern)}(?![\w])", text)):
                return name, "loaded"
            release, state = read("/proc/sys/kernel/osrelease"), "missing"
            for index in ("modules.dep", "modules.builtin"):
                text = self.sys_file(f"/lib/modules/{release}/{index}") if release else None
                if text and re.search(rf"(^|/){re.escape(name)}\.ko", text, re.M):
                    state = "loadable"
            return name, state
        if kind == "sysctl":
            text = self.sys_file("/proc/sys/" + w[0].replace(".", "/"))
            return w[0], "missing" if text is None else text.rstrip("\n"), "ro" if "proc-sys-ro" in self.faults \
                else ("rw" if text is not None else "ro")
        if kind == "port":
            want = f",{w[2]},"
            taken = any(f.split()[3:4] == ["0A"] and (f",{f.split()[1]}," in want or
                                                      f",*:{f.split()[1].split(':')[1]}," in want)
                        for t in ("/proc/net/tcp", "/proc/net/tcp6")
                        for f in (self.sys_file(t) or "").split("\n")[1:] if len(f.split()) > 3)
            state = "free" if not taken else "ours" if self.unit(w[1]).active == "active" else "taken"
            return w[0], state, w[1]
        if kind == "binary":
            paths = [f"{d}/{w[0]}" for d in ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")]
            found = any(self.files[p].mode & 0o111 if p in self.files else p in self.system for p in paths)
            return w[0], "found" if found else "missing"
        if kind == "etcd":
            body = json.dumps({"etcdserver": self.cluster.etcd_version, "etcdcluster": "3.5.0"})
            return w[0], base64.b64encode(body.encode()).decode()
        raise AssertionError(f"preflight.sh has no item {kind}")

    # kubefab.ops.admin's script: the binding applied as the super-admin (its kubeconfig on stdin)
    def apply_as(self, kubectl, manifest, stdin=b"") -> tuple[int, str, str]:
        if kubectl not in self.files:
            return 127, "", f"kubefab-apply-as: 1: {kubectl}: not found\n"
        return self.cluster.api.apply_as(self, manifest, stdin)

    def replace_secrets(self, *kubectl) -> tuple[int, str, str]:
        """scripts/replace-secrets.sh: every Secret got and replaced, through kubectl."""
        code, out, err = self.execute([*kubectl, "get", "secrets", "--all-namespaces", "-o", "json"], True, None)
        if code:
            return code, "", err
        if '"items": []' in out:
            return 0, "no Secrets\n", ""
        return self.execute([*kubectl, "replace", "--validate=false", "-f", "-"], True, (out + "\n").encode())

    def read(self, *paths) -> tuple[int, str, str]:
        out = "".join(("+" + self.files[p].content if p in self.files else "-") + "\0" for p in paths)
        return 0, out, ""


def parents(path: str) -> list[str]:
    """/a/b/c -> ["/a/b", "/a"]"""
    out = []
    while "/" in path.rstrip("/") and (path := path.rsplit("/", 1)[0]):
        out.append(path)
    return out


class FakeConnection:
    """One host's Connection, as kubefab's Fleet uses it; its `clock` is the cluster's.
    The twins of the scripts that wait are its own (look, wait-unit): they sleep on the
    clock without holding the cluster's lock, so the other hosts go on meanwhile."""
    SCRIPTS = ("look", "wait-unit", "batch")

    def __init__(self, machine: Machine):
        self.machine, self.host, self.connected = machine, machine.host, False
        self.clock = machine.cluster.time

    def open(self) -> "FakeConnection":
        where = f"{self.host.ssh.user}@{self.host.address}:{self.host.ssh.port}"
        if "connect" in self.machine.faults:
            unreachable = OSError(errno.EHOSTUNREACH, "No route to host")
            raise RemoteError(f"ssh {where}: {reasons.of_connect(unreachable, self.host.address, self.host.ssh.port)}")
        if "interrupt-connect" in self.machine.faults:
            self.machine.faults.discard("interrupt-connect")
            signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)
        if "host-key" in self.machine.faults:
            raise HostKeyError(f"host key of {self.host.name} ({self.host.address}) is not in known_hosts")
        self.connected = True
        return self

    def close(self) -> None:
        self.connected = False

    def run(self, argv, *, sudo=False, stdin=None, check=True, timeout=300, cancel=None) -> Result:
        if not self.connected:
            raise RemoteError(f"{argv[0]}: not connected to {self.host.name}")
        if cancel is not None and cancel.is_set():
            raise Interrupted()
        with self.machine.cluster.lock:
            self.machine.round_trips += 1
        if script.named(argv) == "batch":
            code, out, err = self.batch(list(argv), sudo, stdin)
        else:
            code, out, err = self.one(list(argv), sudo, stdin)
        return checked(Result(command_line(argv, sudo), code, out, err, self.host.ssh.user), argv, check)

    def one(self, argv, sudo, stdin=None) -> tuple[int, str, str]:
        if "start-slow" in self.machine.faults and self.starts_units(argv):
            time.sleep(SLOW_START)  # the other hosts' commands go on meanwhile
        if script.named(argv) == "look":
            return self.look(argv, sudo)
        if script.named(argv) == "wait-unit":
            return self.wait_unit(argv, sudo)
        return self.execute(argv, sudo, stdin)

    @staticmethod
    def starts_units(argv) -> bool:
        """A start or restart of units other than the download (systemctl, activate.sh)."""
        verb, units = (argv[4], argv[9:]) if script.named(argv) == "activate" else \
            (argv[1], argv[2:]) if argv[:1] == ["systemctl"] and len(argv) > 1 else ("", [])
        return verb in ("start", "restart") and bool(set(units) - {DOWNLOAD})

    def batch(self, argv, sudo, stdin=None) -> tuple[int, str, str]:
        """scripts/batch.sh: each part (NAME COUNT TEXT ARG...) as its own script, in
        order, a mark after each; the first that fails ends it."""
        args, out, err = argv[4:], "", ""
        if not sudo:
            return 1, "", "Permission denied"
        while args:
            name, count, text = args[0], int(args[1]), args[2]
            code, said, why = self.one(["sh", "-c", text, f"{script.PREFIX}{name}", *args[3:3 + count]], sudo, stdin)
            out, err, args = out + said + f"{script.MARK}{name} {code}\n", err + why, args[3 + count:]
            if code:
                return code, out, err
        return 0, out, err

    def execute(self, argv, sudo, stdin=None) -> tuple[int, str, str]:
        with self.machine.cluster.lock:
            try:
                return self.machine.execute(argv, sudo, stdin)
            except Dropped as e:
                raise RemoteError(f"{argv[0]}: lost the connection ({e})") from None

    def look(self, argv, sudo) -> tuple[int, str, str]:
        """steps.LOOK as a host runs it: its command again and again, PAUSE seconds apart,
        each logged; the other hosts' commands go on meanwhile."""
        tries, pause, want, command = int(argv[4]), float(argv[5]), set(argv[7].split("|")), argv[8:]
        with self.machine.cluster.lock:
            self.machine.log.append(Call("wait", tuple(argv), sudo))
        if not sudo:
            return 1, "", "Permission denied"
        for i in range(tries):
            code, out, err = self.execute(command, True)
            nap(self.clock, LOOK_TAKES)  # a command takes a moment, even when it answers at once
            said = (out + err).strip()
            if said in want or f"exit {code}" in want or i == tries - 1:
                return 0, f"{code}\n{said}\n", ""
            nap(self.clock, pause)

    def wait_unit(self, argv, sudo) -> tuple[int, str, str]:
        """scripts/wait-unit.sh: the unit's state until it is one of DONE, looked at again
        each time the unit would log a line (here: every second of the cluster's clock)."""
        unit, seconds, done = argv[4], float(argv[5]), set(argv[6].split("|"))
        with self.machine.cluster.lock:
            self.machine.log.append(Call("wait", tuple(argv), sudo))
        if not sudo:
            return 1, "", "Permission denied"
        end = self.clock.monotonic() + seconds
        while True:
            _, state, _ = self.execute(["systemctl", "show", "--property=ActiveState", "--value", unit], True)
            state = state.strip()
            if state in done or self.clock.monotonic() >= end:
                return 0, state + "\n", ""
            nap(self.clock, 1.0)


class Counting:
    """A cluster's connect, counting each host's commands (a batch is one): what a run's
    round trips to a host are."""

    def __init__(self, cluster: "FakeCluster"):
        self.cluster, self.trips = cluster, collections.Counter()

    def __call__(self, host):
        cxn, trips = self.cluster.connect(host), self.trips
        run = cxn.run

        def counted(argv, **kwargs):
            trips[host.name] += 1
            return run(argv, **kwargs)
        cxn.run = counted
        return cxn


class FakeClock(wait.Clock):
    """The hosts' time for the waits: it moves only when someone sleeps on it, at once,
    so a test of a 15-minute bound takes no time. The lease's epoch clock is apart
    (FakeCluster.clock)."""

    def __init__(self):
        self.now = 1000.0
        self._lock = threading.Lock()

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float, cancel=None) -> None:
        if cancel is not None and cancel.is_set():
            raise Interrupted()
        with self._lock:
            self.now += seconds
        time.sleep(0.001)  # the other threads' turn


def nap(clock, seconds: float) -> None:
    """A host's sleep between looks, on the cluster's clock (a test may replace it)."""
    clock.sleep(seconds)


class FakeCluster:
    def __init__(self, inv: Inventory):
        self.inv = inv
        self.machines = {h.name: Machine(h, self) for h in inv.hosts}
        self.api = Apiserver(self, inv.master.name)
        self.lock = threading.RLock()  # one command at a time, over all machines
        # the hosts' wall clock (seconds, leases): kubefab's when the cluster is made (preflight
        # compares the two), then still, unless a test ages them
        self.clock = int(time.time())
        self.etcd_version = "3.6.6"  # what an external etcd's /version says (preflight)
        for m in self.machines.values():
            m.system = healthy_system(m.host)
        self.time = FakeClock()  # the time waits keep: moves when they sleep
        self.history: list[tuple[str, str]] = []  # (host, what) of unit starts, cordons, drains: one order
        # (host, what) of unit starts, slow downloads ending, /healthz polls that said ok: one order
        self.timeline: list[tuple[str, str]] = []

    def connect(self, host: Host) -> FakeConnection:
        return FakeConnection(self.machines[host.name])

    def __getitem__(self, name: str) -> Machine:
        return self.machines[name]

    def kubelet_ready(self, name: str) -> bool:
        m = self.machines.get(name)
        return bool(m) and m.unit(KUBELET).active == "active" and "not-ready" not in m.faults


def healthy_system(host: Host) -> dict[str, str]:
    """A host that passes every preflight check: cgroup v2, no swap, overlay and
    br_netfilter there, forwarding on, nothing listening, the binaries installed."""
    tcp = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
    return {"/proc/sys/kernel/hostname": f"{host.name}\n", "/sys/fs/cgroup/cgroup.controllers": "cpu memory pids\n",
            "/proc/swaps": "Filename\tType\tSize\tUsed\tPriority\n", "/proc/filesystems": "nodev\toverlay\n",
            "/proc/sys/net/bridge/bridge-nf-call-iptables": "1\n", "/proc/sys/net/ipv4/ip_forward": "1\n",
            "/proc/net/tcp": tcp, "/proc/net/tcp6": tcp,
            **{f"/usr/bin/{b}": "elf" for b in ("bash", "curl", "tar", "sha256sum", "mount", "nsenter")},
            **{f"/usr/sbin/{b}": "elf" for b in ("ip", "iptables")}}


def recap(out: str) -> dict[str, tuple[str, str]]:
    """host -> (changed/unchanged/failed, the rest of its line), from kubefab's RECAP."""
    rows = out.rsplit("\nRECAP\n", 1)[1].splitlines()  # the last run's
    row = re.compile(r"  (\S+)\s+(changed|unchanged|failed|pending)\s*(.*)")
    return {m[1]: (m[2], m[3]) for m in map(row.fullmatch, rows) if m}


def host_run(cxn, inv: Inventory, timeout: float = 120):
    """A HostRun outside an operation, for tests of one host step: an operation's few
    parts it uses (the inventory, the timeout, a cancel event, notes)."""
    from types import SimpleNamespace
    from kubefab.ops.host import HostRun
    op = SimpleNamespace(inv=inv, opts=SimpleNamespace(timeout=timeout), fleet=SimpleNamespace(cancel=threading.Event()),
                         run_record="test run", notes=[])
    op.note = lambda host, what: op.notes.append((host, what))
    return HostRun(cxn, op)

"""kubefab etcd.snapshot: a verified snapshot of the etcd kubefab runs on the master.

On the master: `etcdctl snapshot save` into a root-only folder (ETCD_SNAPSHOTS), its
`snapshot status` read (hash, revision, keys); the file comes back over the connection,
checked by sha256, is written here 0600, and the master's copy is removed. The shape is
every operation's: one step, whose plan looks (etcd running, which etcdctl) and says what
its apply does."""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from kubefab.profiles.modern import etcd as ctl
from kubefab.layout import ETCD, ETCD_SNAPSHOTS
from kubefab.model import Inventory
from kubefab.profiles.modern.units import etcd_url
from kubefab.ops.host import HostRun
from kubefab.ops.operation import Operation, Options, Step
from kubefab.report import program
from kubefab.remote import hostfiles
from kubefab.remote.transport import Connect, Connection, RemoteError


@dataclass(frozen=True)
class EtcdFacts:
    active: str  # the etcd unit's state
    version: tuple[int, int, int] | None  # the master's etcdctl, None when it has none
    offline: bool = True  # what reads snapshots for that version is there (etcdutl from 3.5)


def gather(cxn: Connection, inv: Inventory) -> EtcdFacts:
    """Whether kubefab's etcd runs on the master, and which etcdctl is there."""
    state = cxn.run(["systemctl", "is-active", ETCD], check=False).stdout.strip() or "unknown"
    r = cxn.run(ctl.version_argv(inv), sudo=True, check=False)
    version = ctl.parse_version(r.stdout) if r.ok else None
    tool = ctl.offline_tool(inv, version) if version else ""
    offline = not tool or tool == ctl.etcdctl(inv) or cxn.run([tool, "version"], sudo=True, check=False).ok
    return EtcdFacts(state, version, offline)


def missing(inv: Inventory, f: EtcdFacts) -> str | None:
    """Why the master cannot take or read a snapshot now, or None."""
    if f.version is None:
        return f"no etcdctl at {ctl.etcdctl(inv)}; run {program()} deploy first"
    if not f.offline:
        v = ".".join(map(str, f.version))
        return (f"etcd {v} reads and restores snapshots with etcdutl, and there is none at "
                f"{ctl.offline_tool(inv, f.version)}: put the etcd release's etcdutl there")
    return None


def stamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def default_out(inv: Inventory, when: str) -> Path:
    """Where the snapshot lands without --out: the cluster's name and the time, here."""
    return Path(f"{inv.cluster}-etcd-{when}.db")


def write_private(path: Path, data: bytes) -> None:
    """data into path, 0600 from the start, renamed over it whole."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass(frozen=True)
class SnapshotPlan:
    remote: str  # the master's copy, removed once here
    out: Path
    tool: str = ""  # what reads its status
    why_not: str = ""

    @property
    def changes(self) -> bool:
        return not self.why_not


class Snapshot(Operation):
    task = "etcd.snapshot"
    takes_hosts = False

    def __init__(self, inv: Inventory, opts: Options, out: Path | None = None, connect: Connect | None = None):
        super().__init__(inv, list(inv.masters), opts, connect)  # several: the first whose member runs
        self.when = stamp()
        self.out = out or default_out(inv, self.when)
        self.status: ctl.Status | None = None
        self.given_out = out

    def arguments(self) -> list[str]:
        return ["--out", str(self.given_out)] if self.given_out else []

    def steps(self) -> list[Step]:
        return [Save(self)]


class Save(Step):
    """etcd running and an etcdctl on the master, then the snapshot saved, verified,
    copied here and removed there."""

    def plan(self) -> dict:
        op = self.op
        self.plans = {}
        found = op.each(lambda h: gather(h.cxn, op.inv))
        for name, f in sorted(found.items(), key=lambda item: [m.name for m in op.inv.masters].index(item[0])):
            why = missing(op.inv, f) or (None if f.active == "active" else
                                         f"{ETCD} is {f.active}: nothing to snapshot ({program()} status)")
            plan = SnapshotPlan(f"{ETCD_SNAPSHOTS}/{op.inv.cluster}-{op.when}.db", op.out,
                                ctl.offline_tool(op.inv, f.version) if f.version else "", why or "")
            if not why:  # from one member: the first whose etcd runs
                self.plans = {name: plan}
                break
            self.plans.setdefault(name, plan)
        for name, p in self.plans.items():
            if not p.changes:
                op.fleet.failed[name] = p.why_not
        for m in op.inv.masters:  # the other masters have nothing to do
            if m.name not in self.plans and m.name not in op.fleet.failed:
                self.plans[m.name] = SnapshotPlan("", op.out, "", "")
        would = "would: " if op.opts.dry_run else ""
        return {name: [f"{would}etcdctl snapshot save {p.remote} (from {etcd_url(op.inv, op.inv.host(name))}), verify it "
                       f"({p.tool.rsplit('/', 1)[-1]} snapshot status), copy it to {p.out} (0600), remove the "
                       f"master's copy"] for name, p in self.plans.items() if p.changes and p.remote}

    def summary(self, host, lines) -> str:
        return f"snapshot to {self.plans[host].out}"

    def apply(self, plan) -> None:
        op = self.op

        def take(h: HostRun):
            p = self.plans[h.name]
            h.cxn.run(["install", "-d", "-m", "0700", ETCD_SNAPSHOTS], sudo=True)
            try:
                r = h.cxn.run(ctl.save_argv(op.inv, p.remote, h.host), sudo=True, check=False)
                if not r.ok:
                    raise RemoteError(f"etcdctl snapshot save failed: {r.why()}")
                op.status = verified(h.cxn, p.tool, p.remote)
                data = hostfiles.fetch(h.cxn, p.remote)
            finally:
                h.cxn.run(["rm", "-f", "--", p.remote], sudo=True, check=False)
            write_private(p.out, data)
            h.note(f"snapshot {p.out} ({len(data)} bytes, 0600): {op.status.says()}")
        op.each(take, [h for h in op.fleet.ok() if self.plans[h.name].changes and self.plans[h.name].remote])


def verified(cxn: Connection, tool: str, path: str) -> ctl.Status:
    """`snapshot status` of a file on the host: what it holds, or why it is no snapshot."""
    r = cxn.run(ctl.status_argv(tool, path), sudo=True, check=False)
    if not r.ok:
        raise RemoteError(f"{path} is no etcd snapshot ({tool.rsplit('/', 1)[-1]} snapshot status: {r.why()})")
    try:
        return ctl.parse_status(r.stdout)
    except ValueError as e:
        raise RemoteError(f"{path}: {e}") from None

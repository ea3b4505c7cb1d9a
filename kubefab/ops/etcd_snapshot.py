"""fab etcd.snapshot: a verified snapshot of the etcd kubefab runs on the master.

On the master: `etcdctl snapshot save` into a root-only folder (ETCD_SNAPSHOTS), its
`snapshot status` read (hash, revision, keys); the file comes back over the connection,
checked by sha256, is written here 0600, and the master's copy is removed. The shape is
every operation's: facts (etcd running, which etcdctl) -> plan -> show -> (dry run stops)
-> lock -> apply -> recap."""
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
from kubefab.ops.operation import Operation, Options
from kubefab.report import say
from kubefab.remote import hostfiles
from kubefab.remote.transport import Connect, Connection, RemoteError


@dataclass(frozen=True)
class EtcdFacts:
    active: str  # the etcd unit's state
    version: tuple[int, int, int] | None  # the master's etcdctl, None when it has none
    offline: bool = True  # what reads snapshots for that version is there (etcdutl from 3.5)


def look(cxn: Connection, inv: Inventory) -> EtcdFacts:
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
        return f"no etcdctl at {ctl.etcdctl(inv)}; run fab deploy first"
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

    def __init__(self, inv: Inventory, opts: Options, out: Path | None = None, connect: Connect | None = None):
        super().__init__(inv, [inv.master], opts, connect)
        self.when = stamp()
        self.out = out or default_out(inv, self.when)
        self.status: ctl.Status | None = None
        self.given_out = out

    def rerun(self, failing: list[str]) -> str:
        return "fab etcd.snapshot" + (f" --out {self.given_out}" if self.given_out else "")

    def gather(self) -> dict:
        return self.fleet.each(lambda cxn: look(cxn, self.inv))

    def plan(self, facts: dict) -> dict[str, SnapshotPlan]:
        plans = {}
        for name, f in facts.items():
            why = missing(self.inv, f) or (None if f.active == "active" else
                                           f"{ETCD} is {f.active}: nothing to snapshot (fab status)")
            plans[name] = SnapshotPlan(f"{ETCD_SNAPSHOTS}/{self.inv.cluster}-{self.when}.db", self.out,
                                       ctl.offline_tool(self.inv, f.version) if f.version else "", why or "")
            if why:
                self.fleet.failed[name] = why
        return plans

    def show(self, plans: dict) -> None:
        for name, plan in plans.items():
            if plan.changes:
                what = (f"etcdctl snapshot save {plan.remote} (from {etcd_url(self.inv)}), "
                        f"verify it ({plan.tool.rsplit('/', 1)[-1]} snapshot status), copy it to {plan.out} "
                        f"(0600), remove the master's copy")
                say(name, ("would: " if self.opts.dry_run else "") + what)
                self.pending[name].append(f"snapshot to {plan.out}")

    def apply(self, plans: dict) -> None:
        def take(cxn):
            plan = plans[cxn.host.name]
            cxn.run(["install", "-d", "-m", "0700", ETCD_SNAPSHOTS], sudo=True)
            try:
                r = cxn.run(ctl.save_argv(self.inv, plan.remote), sudo=True, check=False)
                if not r.ok:
                    raise RemoteError(f"etcdctl snapshot save failed: {r.why()}")
                self.status = verified(cxn, plan.tool, plan.remote)
                data = hostfiles.fetch(cxn, plan.remote)
            finally:
                cxn.run(["rm", "-f", "--", plan.remote], sudo=True, check=False)
            write_private(plan.out, data)
            self.note(cxn.host.name, f"snapshot {plan.out} ({len(data)} bytes, 0600): {self.status.says()}")
        self.fleet.each(take, [h for h in self.fleet.ok() if plans[h.name].changes])


def verified(cxn: Connection, tool: str, path: str) -> ctl.Status:
    """`snapshot status` of a file on the host: what it holds, or why it is no snapshot."""
    r = cxn.run(ctl.status_argv(tool, path), sudo=True, check=False)
    if not r.ok:
        raise RemoteError(f"{path} is no etcd snapshot ({tool.rsplit('/', 1)[-1]} snapshot status: {r.why()})")
    try:
        return ctl.parse_status(r.stdout)
    except ValueError as e:
        raise RemoteError(f"{path}: {e}") from None

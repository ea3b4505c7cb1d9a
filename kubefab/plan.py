"""Plan: compare what a host should have (rendered files, units, release) with its facts
and keep only the steps needed. Pure: facts in, steps out; an empty plan is a no-op."""
from __future__ import annotations

import difflib
import hashlib
from dataclasses import dataclass

from .facts import HostFacts
from .layout import DOWNLOAD, ONESHOTS, UNIT_DIR
from .model import Host


@dataclass(frozen=True)
class Write:
    file: object  # render.File
    action: str  # "create", "update", or "set mode/owner"


@dataclass(frozen=True)
class HostPlan:
    host: Host
    writes: tuple[Write, ...] = ()
    daemon_reload: bool = False
    download: bool = False
    enable: tuple[str, ...] = ()
    restart: tuple[str, ...] = ()  # active units whose files or binaries changed
    start: str | None = None  # the target, when it or one of its units is not active

    @property
    def changes(self) -> bool:
        return bool(self.writes or self.daemon_reload or self.download or self.enable
                     or self.restart or self.start)

    def steps(self) -> list[str]:
        """The plan as lines a person reads; the no-op says why."""
        if not self.changes:
            return ["no changes: files, units and release already as wanted"]
        out = [f"{w.action} {w.file.path}" for w in self.writes]
        if self.daemon_reload:
            out.append("systemctl daemon-reload")
        if self.enable:
            out.append("systemctl enable " + " ".join(self.enable))
        if self.download:
            out.append(f"run {DOWNLOAD} (installed release differs)")
        out += [f"restart {u}" for u in self.restart]
        if self.start:
            out.append(f"start {self.start}")
        return out


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def plan_host(host: Host, wanted: dict, facts: HostFacts, *, units: tuple[str, ...],
              target: str, stamp: str) -> HostPlan:
    """wanted: {path: File}; units: the host's services in start order (no target)."""
    writes = []
    for path, f in wanted.items():
        have = facts.files.get(path)
        if have is None:
            writes.append(Write(f, "create"))
        elif have.sha256 != digest(f.content):
            writes.append(Write(f, "update"))
        elif (have.mode, have.owner, have.group) != (f.mode, f.owner, f.group):
            writes.append(Write(f, "set mode/owner"))

    unit_facts = [facts.units.get(u) for u in (*units, target)]
    download = facts.stamp != stamp
    changed = {u for w in writes if w.action != "set mode/owner" for u in w.file.restarts}
    if download:
        changed |= set(units)
    restart = tuple(u for u in units if u in changed and u not in ONESHOTS
                    and facts.units.get(u) and facts.units[u].is_active)
    inactive = any(uf is None or not uf.is_active for uf in unit_facts)
    return HostPlan(
        host=host,
        writes=tuple(writes),
        daemon_reload=any(w.file.path.startswith(UNIT_DIR + "/") for w in writes)
        or any(uf and uf.needs_reload for uf in unit_facts),
        download=download,
        enable=tuple(u for u, uf in zip((*units, target), unit_facts)
                     if uf is None or uf.enabled != "enabled"),
        restart=restart,
        start=target if inactive else None,
    )


def diff(write: Write, old: str | None) -> str:
    """A unified diff for one write; a secret only says that it changed."""
    f = write.file
    if f.secret:
        return f"secret {'created' if write.action == 'create' else 'changed'}: {f.path} (content not shown)\n"
    if write.action == "set mode/owner":
        return f"{f.path}: mode/owner -> {f.mode:04o} {f.owner}:{f.group}\n"
    lines = difflib.unified_diff(
        (old or "").splitlines(keepends=True), f.content.splitlines(keepends=True),
        fromfile="/dev/null" if old is None else f"{f.path} (on host)",
        tofile=f"{f.path} (wanted)")
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)

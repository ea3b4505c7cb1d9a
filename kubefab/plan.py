"""Plan: compare what a host should have (rendered files, units, release) with its facts
and keep only the steps needed. Pure: facts in, steps out; an empty plan is a no-op."""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field, replace

from kubefab import drift
from kubefab.drift import DIFFERS, MISSING, UNKNOWN, digest  # noqa: F401 (digest: re-exported)
from kubefab.facts import HostFacts
from kubefab.layout import DOWNLOAD, ONESHOTS, STAGE_DIR, UNIT_DIR
from kubefab.model import Host

SET = "set mode/owner"  # a write that changes no content: restarts nothing


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
    download_was: str = ""  # the download unit's ActiveState the probe saw ("": not known)
    enable: tuple[str, ...] = ()
    restart: tuple[str, ...] = ()  # active units whose inputs changed, in this run or one that stopped
    why: dict[str, str] = field(default_factory=dict)  # unit -> why it restarts, when no write of ours says
    start: tuple[str, ...] = ()  # the target, then the units wanted running that are not
    owe: tuple[str, ...] = ()  # restarts this plan's changes owe: recorded on the host before any write
    marks: tuple[str, ...] = ()  # units with a mark under OWED_DIR now: cleared once restarted or started
    leftovers: tuple[str, ...] = ()  # a killed run's uploads under STAGE_DIR: taking the lock removes them
    retire: tuple[str, ...] = ()  # kubefab's units the host's role has not: stopped and disabled first

    @property
    def changes(self) -> bool:
        return bool(self.writes or self.daemon_reload or self.download or self.enable
                     or self.restart or self.start or self.leftovers or self.retire)

    def steps(self) -> list[str]:
        """The plan as lines a person reads; the no-op says why."""
        if not self.changes:
            return ["no changes: files, units and release already as wanted"]
        role = "the master" if self.host.is_master else "a node"
        out = [f"stop and disable {u} ({role} does not run it)" for u in self.retire]
        out += [f"{w.action} {w.file.path}" for w in self.writes]
        if self.daemon_reload:
            out.append("systemctl daemon-reload")
        if self.enable:
            out.append("systemctl enable " + " ".join(self.enable))
        if self.download:
            out.append(f"run {DOWNLOAD} (installed release differs)")
        out += [f"restart {u}" + (f" ({self.why[u]})" if u in self.why else "") for u in self.restart]
        if self.start:
            out.append("systemctl start " + " ".join(self.start))
        out += [f"remove leftover {STAGE_DIR}/{entry}" for entry in self.leftovers]
        return out

    def summary(self) -> str:
        """The plan in one recap line: the writes counted, the rest as in steps()."""
        lines = self.steps()
        if self.writes:  # steps() lists them after the units it stops
            at = len(self.retire)
            lines = [*lines[:at], f"write {len(self.writes)} files", *lines[at + len(self.writes):]]
        return "; ".join(lines)


def plan_host(host: Host, wanted: dict, facts: HostFacts, *, units: tuple[str, ...],
              target: str, stamp: str, node_missing: str | None = None) -> HostPlan:
    """wanted: {path: File}; units: the host's services in start order (no target);
    node_missing: drift.missing_node()'s answer for this host."""
    d = drift.host_drift(wanted, facts, units=units, target=target, stamp=stamp, node_missing=node_missing)
    # UNKNOWN: the content comes from a certificate the real run issues (a dry run's plan)
    writes = tuple(Write(wanted[p], "create" if MISSING in ds else "update" if DIFFERS in ds or UNKNOWN in ds else SET)
                   for p, ds in d.files.items() if ds)
    changed = {u for w in writes if w.action != SET for u in w.file.restarts}
    if d.release:
        changed |= set(units)
    changed -= set(ONESHOTS)  # they run once; a changed one is re-run by the target's start
    restart = tuple(u for u in units if (u in changed or u in d.owed) and u not in d.inactive)
    return HostPlan(
        host=host,
        writes=writes,
        daemon_reload=d.reload or any(rewrites_loaded_unit(w.file.path, facts) for w in writes)
        or any(held(u, facts) for u in d.disabled),
        download=bool(d.release),
        download_was=facts.units[DOWNLOAD].active if d.release and DOWNLOAD in facts.units else "",
        enable=tuple(d.disabled),
        restart=restart,
        why={u: why for u, why in d.owed.items() if u in restart and u not in changed},
        start=(target, *(u for u in units if u in d.inactive)) if d.inactive else (),
        owe=tuple(u for u in units if u in changed),
        marks=tuple(u for u in units if u in facts.owed),
        leftovers=tuple(facts.leftovers),
        retire=tuple(d.strays),
    )


def rewrites_loaded_unit(path: str, facts: HostFacts) -> bool:
    """Whether putting `path` in place leaves systemd wanting a reload, by its own rule
    (NeedDaemonReload): a unit file of a unit systemd holds (the probe's LoadState) gets
    a new mtime, content or mode changed alike (a new file is put in place). A unit it
    does not hold (a new one: not-found) is read from disk when first used, as systemd
    retries a unit not found once its unit folders change: no reload for it."""
    return path.startswith(UNIT_DIR + "/") and held(path[len(UNIT_DIR) + 1:], facts)


def held(unit: str, facts: HostFacts) -> bool:
    """systemd holds `unit` (loaded, or still running though a reload found its file
    gone: not-found, active): a change to its file, or enabling it, is seen only after a
    reload (systemd keeps a held unit's UnitFileState until then, and does not read a
    running unit's new file on demand). A unit the probe did not ask about: held, as before."""
    fact = facts.units.get(unit)
    return fact is None or fact.loaded or fact.is_active


def diff(write: Write, old: str | None) -> str:
    """A unified diff for one write; a secret only says that it changed."""
    f = write.file
    if f.content is None:
        return f"{f.path}: its new content comes from what the real run issues in the local pki (not known before)\n"
    if write.action == SET:  # content as wanted, a secret's too: say what changes
        return f"{f.path}: mode/owner -> {f.mode:04o} {f.owner}:{f.group}\n"
    if f.secret:
        return f"secret {'created' if write.action == 'create' else 'changed'}: {f.path} (content not shown)\n"
    lines = difflib.unified_diff(
        (old or "").splitlines(keepends=True), f.content.splitlines(keepends=True),
        fromfile="/dev/null" if old is None else f"{f.path} (on host)",
        tofile=f"{f.path} (wanted)")
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def names_master(inv, f, host: Host | None = None) -> bool:
    """A file that points its host at the master: it holds the master's URL (a kubeconfig's
    server, the register script's, a v1.0 kubelet's --api-servers), or the URL the host's
    clients reach the masters at (several masters: its load balancer's, or the endpoint)."""
    urls = {inv.secure_master_url, inv.master_url, *((inv.node_server_url(host),) if host else ())}
    return f.content is not None and any(url in f.content for url in urls)


def split_master_files(inv, p: HostPlan):
    """A node's plan as (what it writes at once, what it writes once the master answered:
    the files that name the master, with their units' enabling and daemon-reload; None
    when there are none). Both write; restarts and starts stay the whole plan's. Each
    reloads systemd only where the whole plan does (rewrites_loaded_unit's rule): a fresh
    node's new unit files need none."""
    later = tuple(w for w in p.writes if w.action != SET and names_master(inv, w.file, p.host))
    if not later:
        return p, None
    units = {w.file.path.rsplit("/", 1)[1] for w in later if w.file.path.startswith(UNIT_DIR + "/")}
    first = replace(p, writes=tuple(w for w in p.writes if w not in later),
                    enable=tuple(u for u in p.enable if u not in units))
    return first, HostPlan(p.host, writes=later, daemon_reload=p.daemon_reload and bool(units),
                           enable=tuple(u for u in p.enable if u in units))

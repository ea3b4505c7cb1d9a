"""kubefab secrets.rotate-key: a new secretbox key for the Secrets at rest, as its steps
(the stages of kubefab.keyrotation): the master probed; the cluster's identity checked
(its keys may be one stage behind the local PKI's: a rotation stopped midway); then, each
only if still to do, every Secret rewritten with secretbox when the master's aescbc key
is about to go; the master's encryption config brought to the local keys; a new key
added; made first; every Secret rewritten; the old key dropped, and with it an older
cluster's read-only aescbc key (nothing is left that only it reads). Each stage writes the
local PKI first, then the master's encryption config and the cluster's record together,
restarts the apiserver and waits for /readyz: a run stopped anywhere is finished by the
next one, and no key ever exists only on a host. The v1.0 profile has no encryption at
rest: refused."""
from __future__ import annotations

import base64
import os
from dataclasses import replace

from kubefab import identity, keyrotation, plan as planning, render
from kubefab.files import File
from kubefab.layout import APISERVER, CLUSTER_FILE
from kubefab.model import Inventory
from kubefab.ops.guard import Keys
from kubefab.ops.host import HostRun
from kubefab.ops.operation import Operation, Options, Step
from kubefab.ops.steps import Probe
from kubefab.profiles.modern import atrest
from kubefab.remote.script import HostScript
from kubefab.remote.transport import Connect
from kubefab.report import program, say

REPLACE = HostScript("replace-secrets", what="rewriting the Secrets")
PROBE_KEY = base64.b64encode(b"\0" * 32).decode()  # a stand-in key: which files the keys are in


class RotateKey(Operation):
    task = "secrets.rotate-key"
    takes_hosts = False

    def __init__(self, inv: Inventory, opts: Options, connect: Connect | None = None):
        super().__init__(inv, list(inv.masters), opts, connect)  # every master's apiserver reads the keys
        self.keys = Keys(inv)
        self.local = atrest.secretbox_keys(self.keys.pki) if self.keys.pki else ()  # secretbox's, in order
        self.aescbc = self.keys.pki.encryption_key if self.keys.pki else None  # an older cluster's, read only
        self.aescbc_planned = bool(self.aescbc)  # the run's drop takes it too
        self.todo: list[str] = []

    def steps(self) -> list[Step]:
        return [Probe(self, lambda h: self.files(self.local, self.aescbc) if self.local else {}), Check(self),
                *(Stage(self, stage) for stage in keyrotation.ORDER)]

    def files(self, keys, aescbc: str | None) -> dict[str, File]:
        """The master's files the keys are in (its encryption config), and the cluster's
        record naming them."""
        with_keys = atrest.with_keys(self.keys.pki, keys, aescbc)
        other = atrest.with_keys(with_keys, (("probe", PROBE_KEY),), None)
        mine, theirs = (render.render_host(self.inv, self.master, k) for k in (with_keys, other))
        out = {p: f for p, f in mine.items() if f.content != theirs[p].content}
        return {**out, CLUSTER_FILE: File(CLUSTER_FILE, identity.of(self.inv, with_keys).text(), 0o600)}

    def save(self, keys, keep_aescbc: bool = True) -> None:
        """The local PKI's keys, in order: before any host has them. The aescbc key goes
        only once every Secret was rewritten (the host still has it until the next sync)."""
        folder = self.keys.pki.dir
        atrest.write_keys(folder, keys)
        self.local = tuple(keys)
        say(None, f"pki: {identity.shown(folder / atrest.SECRETBOX)} now holds " + ", ".join(n for n, _ in keys))
        if not keep_aescbc and atrest.drop_aescbc(folder):
            self.aescbc = None
            say(None, f"pki: {identity.shown(folder / atrest.ENCRYPTION)} (the older aescbc key) removed: every "
                      f"Secret is written with secretbox now")

    def sync(self, h: HostRun) -> None:
        """The master's encryption config and record as the local keys, the apiserver
        restarted and ready (/readyz) before anything asks it again. Several masters
        (issue 21): every master, one at a time, before the next stage (the docs' "restart
        all kube-apiserver processes"), and a stage not finished on all is resumed."""
        files = self.files(self.local, self.aescbc)
        h.write(planning.HostPlan(h.host, writes=tuple(planning.Write(f, "update") for f in files.values()),
                                  owe=(APISERVER,)))
        h.activate((APISERVER,), healthy=h.wait_healthy, marks={APISERVER})
        h.note("encryption keys now " + ", ".join(name for name, _ in self.local)
               + (f" (and aescbc's {atrest.AESCBC_NAME}, read only)" if self.aescbc else ""))


class Check(Step):
    """Refused before any change: no key to rotate (the v1.0 profile), the master did not
    answer, the cluster is another one (kubefab.identity), or its keys are not the local
    PKI's (neither the same nor one stage apart). Then the stages still to do."""

    def plan(self) -> dict:
        op = self.op
        why = self.refusal()
        if why:
            op.fail(None, f"not touched: {why}")
            return {None: [f"refused: {why}"]}
        op.todo = keyrotation.stages(op.local, self.on_master(), self.resuming(), self.aescbc_leaves())
        if not op.todo:
            return {None: ["nothing to do: the master's keys are the local PKI's"]}
        return {}

    def has_work(self, plan) -> bool:
        return False

    def refusal(self) -> str | None:
        op, master = self.op, self.op.master.name
        if not op.local:
            lacking = any(atrest.SECRETBOX in line for line in op.keys.problems)
            return (f"no encryption key in {identity.shown(op.keys.pki.dir)}: copy the cluster's pki folder here "
                    f"(or `{program()} pki.import`)" if lacking else
                    f"{op.task}: the {op.inv.profile.name} profile does not encrypt Secrets at rest")
        down = [m.name for m in op.inv.masters if m.name in op.fleet.failed]
        if down:  # every apiserver must read what the others write
            return f"the master {down[0]} did not answer ({op.fleet.failed[down[0]]})"
        found = identity.record_of(op.facts, master)
        if found is None:
            return None if self.on_master() else (f"the cluster has no record of its keys: run `{program()} "
                                                  f"deploy` first (it records them), then {op.task}")
        recorded, wanted = found[1], identity.of(op.inv, op.keys.pki)
        if not keyrotation.related([fp for _, fp in recorded.keys], [fp for _, fp in wanted.keys]):
            return identity.differences(recorded, wanted, op.inv.path.name, identity.shown(op.keys.pki.dir))[0]
        lines = identity.differences(recorded, replace(wanted, keys=recorded.keys), op.inv.path.name,
                                     identity.shown(op.keys.pki.dir))
        return lines[0] if lines else None

    def on_master(self) -> bool:
        """Every master's encryption config holds the local keys."""
        files = self.op.files(self.op.local, self.op.aescbc)
        return all(self.op.facts[m.name].files.get(p) and
                   self.op.facts[m.name].files[p].sha256 == planning.digest(x.content)
                   for m in self.op.inv.masters for p, x in files.items() if p != CLUSTER_FILE)

    def aescbc_leaves(self) -> bool:
        """The cluster's record names an aescbc key and the local PKI holds none."""
        found = identity.record_of(self.op.facts, self.op.master.name)
        return bool(found) and not self.op.aescbc and any(name.startswith("aescbc/") for name, _ in found[1].keys)

    def resuming(self) -> bool:
        found = identity.record_of(self.op.facts, self.op.master.name)
        return bool(found) and found[1].keys != identity.of(self.op.inv, self.op.keys.pki).keys


class Stage(Step):
    """One stage of kubefab.keyrotation, on the master, if still to do."""

    def __init__(self, op: RotateKey, stage: str):
        super().__init__(op)
        self.stage = stage

    def plan(self) -> dict:
        op = self.op
        if self.stage not in op.todo:
            return {}
        return {op.master.name: [("would: " if op.opts.dry_run else "") + self.says()]}

    def summary(self, host, lines) -> str:
        return self.says()

    def says(self) -> str:
        """The stage's line; the drop names the aescbc key it also drops (as planned)."""
        if self.stage == keyrotation.DROP and self.op.aescbc_planned:
            return "the old key and the older aescbc key dropped; apiserver restarted"
        return keyrotation.SAYS[self.stage]

    def apply(self, plan) -> None:
        """The Secrets rewritten on the master kubectl runs on; a change of keys saved here
        first, then synced to every master in turn (each apiserver ready before the next)."""
        op = self.op
        if self.stage not in op.todo or any(m.name in op.fleet.failed for m in op.inv.masters):
            return
        if self.stage in (keyrotation.SAVE, keyrotation.REWRITE):
            op.each(self.rewrite, [op.master])
            return
        keys = op.local
        if self.stage == keyrotation.ADD:
            op.save([*keys, (keyrotation.next_name(keys), base64.b64encode(os.urandom(32)).decode())])
        elif self.stage == keyrotation.FIRST:
            op.save([keys[1], keys[0]])
        elif self.stage == keyrotation.DROP:
            op.save(keys[:1], keep_aescbc=False)
        for m in op.inv.masters:
            if m.name not in op.fleet.failed:
                op.each(op.sync, [m])

    def rewrite(self, h: HostRun) -> None:
        op = self.op
        h.guard()
        out = REPLACE.run(h.cxn, *op.inv.profile.kubectl(), timeout=op.opts.timeout + 60).stdout
        replaced = [line for line in out.splitlines() if line.strip()]
        h.note("rewrote " + ("no Secrets (there are none)" if replaced == ["no Secrets"] else
                             f"{len(replaced)} Secrets with " + ("secretbox" if self.stage == keyrotation.SAVE
                                                                  else "the new key")))

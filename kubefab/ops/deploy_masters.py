"""Deploy's masters, one at a time (issue 21): each master writes its files and runs its
download at once, then waits for its turn; in its turn it joins etcd if its member is not
running (kubefab.ops.members: through a master whose member answers), restarts or starts
its units in the profile's order and waits until its apiserver is healthy; only then is
it the next master's turn. The masters whose member does not run yet go first (a fresh
cluster in inventory order: the first bootstraps etcd; a growing one: the new masters
join and serve before the running ones restart with new certificates), so the API never
goes down for a restart while another master could serve. A restart of a member that
would lose quorum (kubefab.quorum: another master already down) is refused for that master
in one line. The first master healthy opens the nodes' gate; none healthy fails it."""
from __future__ import annotations

import threading

from kubefab import identity, quorum
from kubefab.layout import ETCD
from kubefab.ops import members
from kubefab.ops.operation import Step
from kubefab.remote import wait
from kubefab.remote.transport import RemoteError
from kubefab.report import program


class Turns:
    def __init__(self, op, masters, plans: dict, gate):
        self.op, self.plans, self.gate = op, plans, gate
        etcd_up = lambda m: op.facts.get(m.name) is not None and _active(op.facts[m.name], ETCD)  # noqa: E731
        self.joining = {m.name for m in masters if op.inv.kubernetes.managed_etcd and not etcd_up(m)}
        # the masters whose member does not run first, each group in inventory order
        self.order = sorted(masters, key=lambda m: m.name not in self.joining)
        self.done = {m.name: threading.Event() for m in self.order}
        self.healthy: set[str] = set()
        self._left = len(self.order)
        self._lock = threading.Lock()
        if not self.order:
            gate.fail()

    @property
    def any_healthy(self) -> bool:
        return bool(self.healthy)

    def master_path(self, h, p, converge) -> None:
        """Write at once, then in its turn: join, (re)start, healthy."""
        op = self.op
        try:
            if p is not None:
                converge.write(h, p)
            self.wait_turn(h)
            if h.name in self.joining and len(op.inv.masters) > 1:
                self.join(h)
            if p is None:
                op.apiserver.wait_healthy(h, changed=False, answered=lambda: self.answered(h))
            else:
                self.keep_quorum(h, p)
                converge.activate(h, p, answered=lambda: self.answered(h))
            self.answered(h)
        finally:
            self.end_turn(h)

    def answered(self, h) -> None:
        """Its apiserver answers healthy: the nodes' gate opens (the profile's objects and
        the restarts after the apiserver's go on meanwhile; the next master's turn still
        waits for the whole of this one)."""
        self.healthy.add(h.name)
        self.gate.open()

    def wait_turn(self, h) -> None:
        before = self.order[:self.order.index(h.host)] if h.host in self.order else []
        if not before:
            return

        def turn_of(ended: threading.Event):
            def came(seconds: float) -> bool | None:
                h.guard()  # a lost lock or Ctrl-C ends the wait within half a second
                return True if ended.wait(seconds) else None
            return came

        with self.op.fleet.idle():
            for m in before:
                wait.until(turn_of(self.done[m.name]), what=f"{m.name}'s turn", timeout=None, slice=0.5)

    def end_turn(self, h) -> None:
        if h.name in self.done:
            self.done[h.name].set()
        with self._lock:
            self._left -= 1
            if self._left <= 0 and not self.healthy:
                self.gate.fail()

    def join(self, h) -> None:
        """Through the first other master whose member lists the cluster; none answering:
        the first master bootstraps (its rendered environment file), any other fails."""
        op = self.op
        for m in op.inv.masters:
            if m == h.host or m.name in op.fleet.failed or m.name not in op.fleet.connections:
                continue
            via = op.on(op.fleet.connections[m.name])
            try:
                members.members(via)
            except (RemoteError, ValueError):
                continue
            members.join(h, via)
            return
        if h.host != op.inv.master:
            raise RemoteError("no etcd member answers on another master to join through; deploy the first "
                              f"master ({op.inv.master.name}) first")

    def keep_quorum(self, h, p) -> None:
        """A restart of this master's member while others are down: refused when quorum
        would not stay."""
        if ETCD not in p.restart or len(self.op.inv.masters) == 1:
            return
        up = [m for m in self.op.inv.masters if m.name not in self.op.fleet.failed
              and self.op.facts.get(m.name) is not None and _active(self.op.facts[m.name], ETCD)]
        why = quorum.refusal(len(self.op.inv.masters), len(up), down=1, what=f"restarting {ETCD} on {h.name}")
        if why:
            raise RemoteError(why)


def _active(facts, unit: str) -> bool:
    u = facts.units.get(unit)
    return bool(u and u.active == "active")


class KeepQuorum(Step):
    """A running cluster (it has a record) whose masters are down beyond what etcd
    tolerates has no quorum: nothing that needs the API can change. Refused in one line
    before any change, saying what to do."""

    def plan(self) -> dict:
        op, inv = self.op, self.op.inv
        if len(inv.masters) == 1 or not inv.kubernetes.managed_etcd or op.refused:
            return {}
        down = [m.name for m in inv.masters if m.name in op.fleet.failed]
        if len(down) <= quorum.tolerates(len(inv.masters)) or identity.record_of(op.facts, op.master.name) is None:
            return {}
        line = (f"etcd has lost quorum: {len(inv.masters) - len(down)} of {len(inv.masters)} masters answer "
                f"({', '.join(down)} down), {quorum.quorum(len(inv.masters))} needed; kubefab changes nothing until "
                f"a majority is up: start them, then run {program()} deploy again")
        op.refused = line
        op.fail(None, f"not touched: {line}")
        return {None: [f"refused: {line}"]}

    def has_work(self, plan) -> bool:
        return False

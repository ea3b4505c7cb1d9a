"""A fleet: one connection per host for a whole run, work fanned out, at most `parallel`
hosts at work at once (a host waiting for another one does not count).

Like Fabric's ThreadingGroup, every host finishes before anyone judges; a host that
fails keeps its reason and is left out of later steps, the others go on."""
from __future__ import annotations

import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor, wait as all_done
from contextlib import contextmanager

from kubefab.model import Host
from kubefab.remote import wait
from kubefab.remote.ssh import ssh
from kubefab.remote.transport import Connect, Interrupted, RemoteError


UNBOUNDED = 100_000  # the pool's threads: as many as hosts at work at once, each() inside each() too


class Gate:
    """One host's go-ahead for the others in the same Fleet.each (the master's apiserver
    for the nodes): opened or failed once, by the host whose path it is. The waiters keep
    no clock of their own: the opener's every step is bounded, and whatever stops it must
    fail the gate (a guess of how long it may take would stop nodes of a master that
    comes up after all)."""

    def __init__(self, what: str):
        self.what = what  # what the waiters wait for, in the operator's words
        self._done = threading.Event()
        self._ok = False

    def open(self) -> None:
        self._ok = True
        self._done.set()

    def fail(self) -> None:
        self._done.set()  # after open(): no change, the waiters went on

    @property
    def decided(self) -> bool:
        """Opened or failed: wait() returns at once."""
        return self._done.is_set()

    def wait(self, cancel: threading.Event | None = None, progress=None) -> bool:
        """Until the gate opens (True) or fails (False); Interrupted on Ctrl-C (checked
        first: a master stopped by Ctrl-C fails the gate). progress(text) every 5 s."""
        wait.until(lambda seconds: True if self._done.wait(seconds) else None, what=self.what, timeout=None,
                   progress=progress, cancel=cancel, slice=0.5)
        return self._ok


class Slots:
    """`n` slots for hosts at work, handed out in the order asked for (a host back from a
    wait first); one given back goes straight to the next in line, else it stays free."""

    def __init__(self, n: int):
        self._free = n
        self._line: deque[threading.Event] = deque()
        self._lock = threading.Lock()

    def line_up(self, first: bool = False) -> threading.Event:
        """A place in line (its head when `first`): the event is set once it holds a slot
        (at once if one is free)."""
        turn = threading.Event()
        with self._lock:
            if self._free:
                self._free -= 1
                turn.set()
            elif first:
                self._line.appendleft(turn)
            else:
                self._line.append(turn)
        return turn

    def give_back(self) -> None:
        with self._lock:
            if self._line:
                self._line.popleft().set()
            else:
                self._free += 1


class Fleet:
    def __init__(self, hosts: list[Host], *, parallel: int = 10, accept_new: bool = False,
                 timeout: float | None = None, connect: Connect | None = None):
        """connect: host -> its connection (default: SSH for this run, kubefab.remote.reach,
        with accept_new; timeout: every host's connect timeout, else its ssh.connect_timeout)."""
        self.hosts = list(hosts)
        self.parallel = max(1, parallel)
        self.cancel = threading.Event()
        self.connect = connect or ssh(accept_new=accept_new, timeout=timeout, cancel=self.cancel)
        self.connections = {h.name: self.connect(h) for h in hosts}
        self.failed: dict[str, str] = {}  # host name -> reason
        self.errors: dict[str, Exception] = {}  # host name -> what failed it
        self._mine = threading.local()  # a worker thread's Slots during each(), for idle()
        # one pool for the run's every each(): a thread made for a host's connection works its
        # later steps too (made anew per step, each start waited for the GIL behind the busy
        # ones: 0.17 s to start 20 probes on a loaded lab). Unbounded: a thread is made only
        # when none is idle, so an each() inside a step never waits for a free one.
        self._pool = ThreadPoolExecutor(max_workers=UNBOUNDED, thread_name_prefix="fleet")

    def ok(self, hosts=None) -> list[Host]:
        """The hosts (all when None; an empty list is no host) that have not failed."""
        return [h for h in self._among(hosts) if h.name not in self.failed]

    def _among(self, hosts) -> list[Host]:
        return list(self.hosts if hosts is None else hosts)

    def open(self, then=None) -> dict[str, object]:
        """Every host's connection; then(cxn), when given, on each host right after its own
        connection opens, in its thread (no host waits for the slowest connection): its
        answers by host name."""
        return self.each(lambda r: (r.open(), then(r) if then else None)[1])

    def close(self) -> None:
        self._pool.shutdown(wait=False)  # its threads are idle: they end at once
        for r in self.connections.values():
            r.close()
        getattr(self.connect, "close", lambda: None)()  # the run's bastions

    def __enter__(self):
        self.open()
        return self

    def __exit__(self, *exc):
        self.close()

    def each(self, fn, hosts=None, *, even_failed=False) -> dict[str, object]:
        """fn(cxn) on every healthy host (of `hosts`: all when None, none when empty;
        failed ones too with even_failed), in parallel. Returns the values of those that
        succeeded; failures land in self.failed with their reason (a host's first reason
        is kept). One thread per host, at most `parallel` of them at work: work starts in
        the order of `hosts`, and a host waiting for another inside idle() (a node at a
        Gate) lends its slot to the next in line, so that waiters never starve the hosts
        they wait for (--parallel 1 included) nor those still to start; back from its
        wait, it goes first."""
        todo = self._among(hosts) if even_failed else self.ok(hosts)
        if not todo:
            return {}
        results: dict[str, object] = {}
        slots = Slots(self.parallel)
        turns = [slots.line_up() for _ in todo]  # here, in order: the first hosts go first

        def one(host: Host, turn: threading.Event):
            turn.wait()
            self._mine.slots = slots
            try:
                if self.cancel.is_set():
                    raise Interrupted()
                return fn(self.connections[host.name])
            finally:
                self._mine.slots = None
                slots.give_back()

        futures = {h.name: self._pool.submit(one, h, turn) for h, turn in zip(todo, turns)}  # slots bound the work
        try:
            for name, future in futures.items():
                try:
                    results[name] = future.result()
                except Interrupted:
                    self.failed.setdefault(name, "interrupted (Ctrl-C) before this step")
                except RemoteError as e:
                    self._fail(name, str(e), e)
                except Exception as e:  # a bug must not hide the other hosts' results
                    self._fail(name, f"{type(e).__name__}: {e}", e)
        except KeyboardInterrupt:
            self.cancel.set()
            getattr(self.connect, "interrupt", lambda: None)()  # connections being made: closed now
            for future in futures.values():  # not begun: never will; running steps finish: they are atomic
                future.cancel()
            all_done(futures.values())
            for name, future in futures.items():
                if name not in results and name not in self.failed:
                    if future.done() and not future.cancelled() and future.exception() is None:
                        results[name] = future.result()
                    else:
                        self.failed.setdefault(name, "interrupted (Ctrl-C)")
            raise Interrupted() from None
        except BaseException:  # not an Exception (SystemExit, a test's kill): every host
            all_done(futures.values())  # takes its step first, as for any other failure
            raise
        return results

    @contextmanager
    def idle(self):
        """Around a wait for another host (a Gate), inside an each() step: this host's slot
        goes to the next in line meanwhile, and it takes the head of the line again before
        it goes on (its work is half done: it finishes before a host not yet begun starts).
        Anywhere else (no slot held): nothing."""
        slots = getattr(self._mine, "slots", None)
        if slots is None:
            yield
            return
        slots.give_back()
        self._mine.slots = None  # an idle() inside this one has no slot to give
        try:
            yield
        finally:
            slots.line_up(first=True).wait()
            self._mine.slots = slots

    def _fail(self, name: str, why: str, error: Exception) -> None:
        self.failed.setdefault(name, why)
        self.errors.setdefault(name, error)

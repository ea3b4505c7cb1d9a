"""Connections begun before the run needs them. A task that has read the inventory and
checked its flags starts its hosts' connections (`HeadStart`, a Fleet's `connect`) and
goes on with what it does before the run (the operation's imports, the PKI read, every
host's files rendered) while the handshakes go on, at most `parallel` at once as the
Fleet would (--parallel bounds the load on the hosts, a bastion and this machine); the run's Fleet then takes each
connection as it is, open or still opening. A host it did not start is connected as
ever; one it started that the run never takes is closed with the run's connections."""
from __future__ import annotations

import threading

from kubefab.model import Host
from kubefab.remote.transport import Connect, Connection


class Started:
    """One host's connection being opened in the background: open() waits for it (its
    error raised there, as the connection's own open() would) and is the connection after."""

    def __init__(self, cxn: Connection, slots: threading.Semaphore):
        self.cxn, self.host, self._slots = cxn, cxn.host, slots
        self._done, self._error = threading.Event(), None
        threading.Thread(target=self._open, name=f"connect-{self.host.name}", daemon=True).start()

    def _open(self) -> None:
        try:
            with self._slots:
                self.cxn.open()
        except BaseException as e:  # noqa: BLE001: raised again in open(), in the run's thread
            self._error = e
        finally:
            self._done.set()

    def open(self) -> Connection:
        self._done.wait()
        if self._error is not None:
            raise self._error
        return self.cxn


class HeadStart:
    """connect(host) for a Fleet: the connection begun when this was made, for the hosts
    given then; any other host's made by `connect` then. interrupt() and close() are the
    inner connect's (Ctrl-C closes what is being connected), close() also closing the
    connections no Fleet took."""

    def __init__(self, hosts: list[Host], connect: Connect, parallel: int):
        self.connect = connect
        slots = threading.Semaphore(max(1, parallel))
        self.started = {h.name: Started(connect(h), slots) for h in hosts}
        self.taken: set[str] = set()

    def __call__(self, host: Host) -> Connection:
        started = self.started.get(host.name)
        if started is None or host.name in self.taken or started.host != host:
            return self.connect(host)
        self.taken.add(host.name)
        return _Taken(started)

    def interrupt(self) -> None:
        getattr(self.connect, "interrupt", lambda: None)()

    def close(self) -> None:
        for name, started in self.started.items():
            if name not in self.taken:
                started._done.wait()  # an interrupt() ended it soon
                started.cxn.close()
        getattr(self.connect, "close", lambda: None)()


class _Taken:
    """The connection a Fleet holds: the started one, its open() awaiting the handshake."""

    def __init__(self, started: Started):
        self._started = started

    def open(self):
        self._started.open()
        return self

    def __getattr__(self, name):
        return getattr(self._started.cxn, name)

"""The one module that runs commands over SSH (with kubefab.remote.reach, which makes
the connections, and the Fabric and paramiko modules under them).

A `Remote` is one host's connection for a whole run: reached as kubefab.remote.reach
says (host keys verified, bastions, ssh_config), commands given as argv and quoted by
construction, root work through sudo: once per connection, for a root shell that
runs the run's root commands one after another (kubefab.remote.ssh.rootshell), or,
for a root command asked while that shell is busy, in a session of its own. sudo runs
as `sudo -n` (NOPASSWD), or, for a login whose sudo asks a password (the inventory
names its source), as `sudo -S -k -p ''` with the password as the first line of the
stdin: sudo reads exactly that line (byte by byte, up to the newline) and the shell
(or the command) gets the rest. `-k` makes sudo ask every time, so that the line is
always sudo's, never the command's; a login whose sudo asks nothing (checked once,
when the connection opens) is sent no password. The password never travels in a
command line, so no process list, journal or log on the host or here shows it.
"""
from __future__ import annotations

import socket
import threading
from contextlib import contextmanager

import paramiko

from kubefab import reasons
from kubefab.model import Host
from kubefab.remote.ssh.reach import Reach
from kubefab.remote.ssh.rootshell import CANCEL_EVERY, Cancelled, RootShell, ShellGone
from kubefab.remote.ssh.tcp import no_delay
from kubefab.remote.transport import Connect, HostKeyError, Interrupted, RemoteError, Result, checked, command_line

__all__ = ["HostKeyError", "Remote", "RemoteError", "Result", "ssh"]

NO_PASSWORD, PASSWORD = "n", "S"  # how this login's sudo runs: sudo -n, or sudo -S with the password
# sessions open at once on one connection: sshd refuses one past its MaxSessions (10 by
# default), so a command beyond these waits for one to end
CHANNELS_AT_ONCE = 8
# a root command's stdin the root shell takes (as base64): measured on a lab node, 256 KiB
# cost 6.3 ms there against 9.4 in a session of its own, each KiB 0.016 ms against 0.01
SHELL_STDIN_AT_MOST = 512 * 1024


class Remote:
    """One host, one SSH connection, reused for every command of a run."""

    def __init__(self, host: Host, *, accept_new: bool = False, timeout: float | None = None,
                 reach: Reach | None = None):
        """reach: the run's (shared known_hosts, ssh_config, bastions); a Remote made alone
        has its own. timeout: its connect timeout (default: ssh.connect_timeout)."""
        self.host = host
        self.reach = reach or Reach(accept_new=accept_new)
        self.endpoint = self.reach.endpoint(host, timeout)
        self.cxn = self.reach.connection(self.endpoint)
        self.sudo = NO_PASSWORD
        self._sudo_lock = threading.Lock()
        self._sessions = threading.BoundedSemaphore(CHANNELS_AT_ONCE)
        self._shell: RootShell | None = None  # root commands go through it, one at a time
        self._shell_free = threading.Lock()
        self._shell_drop = threading.Lock()  # close() and a failing command may both drop it

    def open(self) -> "Remote":
        self.reach.open(self.endpoint, self.cxn, progress=lambda text: self.reach.tell(self.host.name, text))
        no_delay(self.cxn)
        if self.host.ssh.sudo_password:
            self.sudo = self._sudo_mode()
        return self

    def _sudo_mode(self) -> str:
        """Whether this login's sudo asks a password (one round trip; two when it does:
        the password is checked before any work). Its own sessions, never the root shell:
        a refused password must end sudo, not leave it reading the shell's lines."""
        if self._exec(["true"], True, None, 300, None).ok:
            return NO_PASSWORD
        self.sudo = PASSWORD
        r = self._exec(["true"], True, None, 300, None)
        if not r.ok:
            source = self.host.ssh.sudo_password_source or "the inventory"
            raise RemoteError(f"sudo on {self.host.name} refused the password from {source} for "
                              f"{self.endpoint.user}: {reasons.last_lines(r.stderr, r.exit_code)}")
        return PASSWORD

    def keys(self) -> list[str]:
        return self.reach.keys(self.endpoint)

    def close(self) -> None:
        self._drop_shell()
        self.cxn.close()

    # -- commands ------------------------------------------------------------------
    def run(self, argv: list[str], *, sudo: bool = False, stdin: bytes | None = None,
            check: bool = True, timeout: float | None = 300, cancel: threading.Event | None = None) -> Result:
        """Run argv on the host (as root with sudo=True); no shell parses our values.
        A root command goes through the connection's root shell (rootshell.py), or, while
        another command holds it, through its own session as any other command does.
        With `cancel`: abandoned (the channel closed) within CANCEL_EVERY of it being set."""
        if sudo and len(stdin or b"") <= SHELL_STDIN_AT_MOST and self._shell_free.acquire(blocking=False):
            try:
                result = self._in_shell(argv, stdin, timeout, cancel)
            finally:
                self._shell_free.release()
        else:
            result = self._exec(argv, sudo, stdin, timeout, cancel)
        return checked(result, argv, check)

    def _transport(self, argv: list[str]):
        transport = self.cxn.client.get_transport()
        if transport is None or not transport.is_active():
            raise RemoteError(f"{argv[0]}: not connected to {self.host.name}")
        return transport

    def _in_shell(self, argv: list[str], stdin: bytes | None, timeout: float | None,
                  cancel: threading.Event | None) -> Result:
        """argv in the root shell, opened first if there is none (it keeps one of the
        connection's sessions while it is open). Interrupted, a timeout, or a shell that
        ended: the shell is closed (its command left to the host) and the next root
        command opens another."""
        asks = self.sudo == PASSWORD
        command = command_line(argv, True, password=asks)
        transport = self._transport(argv)
        if self._shell is not None and self._shell.ended():
            self._drop_shell()  # it ended between commands: this one gets a new shell
        try:
            if self._shell is None:
                self._take_session(cancel)
                try:
                    self._shell = RootShell.open(transport, command_line(["sh", "-s"], True, password=asks),
                                                 self.host.ssh.sudo_password if asks else None)
                except BaseException:
                    self._sessions.release()
                    raise
            code, stdout, stderr = self._shell.run(argv, stdin, cancel, timeout)
        except ShellGone as gone:
            self._drop_shell()
            if gone.started or gone.code is None:
                raise RemoteError(f"{argv[0]}: lost the connection (the root shell ended)") from None
            code, stdout, stderr = gone.code, gone.stdout, gone.stderr  # sudo refused, as a command's own sudo does
        except Cancelled:
            self._drop_shell()
            raise Interrupted() from None
        except (OSError, socket.timeout, paramiko.SSHException, EOFError) as e:
            self._drop_shell()
            raise RemoteError(f"{argv[0]}: lost the connection ({e or type(e).__name__})") from None
        return Result(command, code, stdout.decode(errors="replace"), stderr.decode(errors="replace"),
                      self.endpoint.user)

    def _drop_shell(self) -> None:
        with self._shell_drop:
            shell, self._shell = self._shell, None
        if shell is not None:
            shell.close()
            self._sessions.release()

    def _exec(self, argv: list[str], sudo: bool, stdin: bytes | None, timeout: float | None,
              cancel: threading.Event | None) -> Result:
        """argv in a session of its own (sudo in it, for root)."""
        asks = sudo and self.sudo == PASSWORD
        command = command_line(argv, sudo, password=asks)
        if asks:  # sudo's line first; the command reads what follows
            stdin = self.host.ssh.sudo_password.encode() + b"\n" + (stdin or b"")
        transport = self._transport(argv)
        with self._session(cancel):
            try:
                chan = transport.open_session()
                chan.settimeout(timeout)
                chan.exec_command(command)
                if stdin:
                    chan.sendall(stdin)
                chan.shutdown_write()
                if cancel is not None:
                    _wait(chan, cancel, timeout)
                stdout, stderr = _drain(chan)
                code = chan.recv_exit_status()
            except (OSError, socket.timeout, paramiko.SSHException, EOFError) as e:
                raise RemoteError(f"{argv[0]}: lost the connection ({e or type(e).__name__})") from None
        return Result(command, code, stdout.decode(errors="replace"), stderr.decode(errors="replace"),
                      self.endpoint.user)

    def _take_session(self, cancel: threading.Event | None) -> None:
        """One of the connection's CHANNELS_AT_ONCE sessions (Interrupted while waiting
        for it, when `cancel` is set)."""
        while not self._sessions.acquire(timeout=CANCEL_EVERY):
            if cancel is not None and cancel.is_set():
                raise Interrupted()

    @contextmanager
    def _session(self, cancel: threading.Event | None):
        """One of the connection's CHANNELS_AT_ONCE sessions, for one command (Interrupted
        while waiting for it, when `cancel` is set)."""
        self._take_session(cancel)
        try:
            yield
        finally:
            self._sessions.release()


def _wait(chan, cancel: threading.Event, timeout: float | None) -> None:
    """Until the command ends (its exit status is in), the run is cancelled (Interrupted:
    the channel is closed, the command left to the host) or `timeout` passes. Only this
    process looks, every CANCEL_EVERY: the host's command runs undisturbed."""
    waited = 0.0
    while not chan.exit_status_ready():
        if cancel.wait(CANCEL_EVERY):
            chan.close()
            raise Interrupted()
        waited += CANCEL_EVERY
        if timeout is not None and waited >= timeout:
            return  # the reads below time out as before


def _drain(chan) -> tuple[bytes, bytes]:
    # Our commands print little on stderr, so reading stdout first cannot stall on a
    # full stderr window.
    return chan.makefile("rb").read(), chan.makefile_stderr("rb").read()


class Connections(Reach):
    """A Fleet's `connect`: host -> its Remote, each made through this one Reach."""

    def __call__(self, host: Host) -> Remote:
        return Remote(host, reach=self)


def ssh(*, accept_new: bool = False, timeout: float | None = None, cancel: threading.Event | None = None,
        say=None) -> Connect:
    """A Fleet's `connect`: one SSH Remote per host, sharing one Reach (reach.py); say: as Reach's."""
    return Connections(accept_new=accept_new, timeout=timeout, cancel=cancel, say=say)

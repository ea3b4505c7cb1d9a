"""One root shell per connection: `sudo -n -- sh -s` (or sudo -S with the password as its
first line) opened once, then every root command of the run written to it, each run by
the shell as its own child, instead of a new SSH session and a new sudo per command
(each paid the host a session, PAM and sudo: about 6-7 ms of CPU).

What the shell is sent per command (argv quoted by construction, as for sudo):

    { (exec ARGV) </dev/null; printf '%s %d\\n' TOKEN "$?"; printf '%s\\n' TOKEN >&2; }

`exec` in a subshell: the program found on PATH as sudo finds it (never a builtin), and
nothing it does (cd, umask, traps, exit) touches the shell; its environment is the one
sudo gave the shell (dash's own PWD unset first). Its stdin is /dev/null, or its bytes
as a base64 here-doc through `base64 -d` (the tar stream has NULs, which a here-doc
cannot hold). The braces make the shell read the whole command, here-doc included,
before running any of it: a kubefab killed mid-send leaves a syntax error, not a
command run on half its data. When the connection ends under a command (Ctrl-C closes
the channel, a killed kubefab drops the TCP connection), the command is left to the host
as an exec session's was: no SIGHUP (no terminal), SIGPIPE at its next write (install.sh's
trap cleans up), and the shell, at EOF, ends after it.

TOKEN is random per shell, so output cannot fake it: the bytes before it on each stream
are the command's, exactly (no newline added or taken), and stdout's carries the exit
code. Both streams are read as they come (select on the channel), so a command that
fills one while the other waits cannot stall the channel's window.
"""
from __future__ import annotations

import base64
import secrets
import select
import shlex
import socket
import time
import threading

CANCEL_EVERY = 0.25  # seconds between looks at the cancel event while a command runs
CHUNK = 1 << 16


class ShellGone(Exception):
    """The shell's channel ended before the command's end came. `started`: the shell had
    said it was ready (else sudo itself refused: `code`, `stdout`, `stderr` are sudo's)."""

    def __init__(self, started: bool, code: int | None, stdout: bytes, stderr: bytes):
        super().__init__("the root shell ended")
        self.started, self.code, self.stdout, self.stderr = started, code, stdout, stderr


class Cancelled(Exception):
    """The run's cancel was set while a command ran in the shell."""


class RootShell:
    def __init__(self, chan, token: str):
        self.chan, self.token = chan, token
        self.started = False  # its ready line seen: sudo let it in
        self._fd = chan.fileno()  # readable while either stream has data, or at EOF

    @classmethod
    def open(cls, transport, opener: str, password: str | None = None) -> "RootShell":
        """Opened on `transport` with the command line `opener` (sudo ... -- sh -s); with
        `password`, its first stdin line (sudo reads it, the shell what follows)."""
        chan = transport.open_session()
        try:
            chan.exec_command(opener)
            shell = cls(chan, secrets.token_hex(16))
            first = f"unset PWD OLDPWD; printf '%s.\\n' {shell.token}\n".encode()
            chan.sendall((password.encode() + b"\n" if password is not None else b"") + first)
        except BaseException:
            chan.close()
            raise
        return shell

    def ended(self) -> bool:
        """Whether its channel ended while it waited for a command (sshd or the shell gone)."""
        return bool(self.chan.closed or self.chan.eof_received)

    def close(self) -> None:
        self.chan.close()

    def command(self, argv: list[str], stdin: bytes | None) -> bytes:
        """What the shell is sent to run argv once, its stdin from `stdin`."""
        run, token = f"(exec {shlex.join(argv)})", self.token
        ends = f"printf '%s %d\\n' {token} \"$?\"; printf '%s\\n' {token} >&2"
        if not stdin:
            return f"{{ {run} </dev/null; {ends}; }}\n".encode()
        end_of_data = f"{token}."  # a line base64 never writes (its alphabet has no '.')
        data = base64.encodebytes(stdin).decode("ascii")
        return f"{{ base64 -d <<'{end_of_data}' | {run}\n{data}{end_of_data}\n{ends}; }}\n".encode()

    def run(self, argv: list[str], stdin: bytes | None, cancel: threading.Event | None,
            timeout: float | None) -> tuple[int, bytes, bytes]:
        """argv run once: (exit code, stdout, stderr). Cancelled when `cancel` is set, a
        socket.timeout after `timeout` seconds, ShellGone when the channel ends first:
        the shell is then of no further use (the caller closes it)."""
        self.chan.sendall(self.command(argv, stdin))
        return self._collect(cancel, None if timeout is None else time.monotonic() + timeout)

    def _collect(self, cancel, deadline) -> tuple[int, bytes, bytes]:
        out, err = bytearray(), bytearray()
        code, err_end = None, -1
        out_mark, err_mark = f"{self.token} ".encode(), f"{self.token}\n".encode()
        while True:
            select.select([self._fd], [], [], CANCEL_EVERY)
            got = False
            while self.chan.recv_ready():
                out += self.chan.recv(CHUNK)
                got = True
            while self.chan.recv_stderr_ready():
                err += self.chan.recv_stderr(CHUNK)
                got = True
            if not self.started:
                ready = f"{self.token}.\n".encode()
                if out.startswith(ready):
                    del out[:len(ready)]
                    self.started = True
            if self.started and code is None:
                at = out.find(out_mark)
                line_end = out.find(b"\n", at) if at >= 0 else -1
                if line_end >= 0:
                    code = int(out[at + len(out_mark):line_end])
                    del out[at:]
            if err_end < 0 and self.started:
                err_end = err.find(err_mark)
            if code is not None and err_end >= 0:
                return code, bytes(out), bytes(err[:err_end])
            if cancel is not None and cancel.is_set():  # heard even while output streams in
                raise Cancelled()
            if deadline is not None and time.monotonic() >= deadline:
                raise socket.timeout("timed out")
            if not got and (self.chan.eof_received or self.chan.closed):
                raise ShellGone(self.started, self._exit_status(), bytes(out), bytes(err))

    def _exit_status(self) -> int | None:
        """The shell's exit status once the channel ended (sudo's, when it refused), or
        None when the host sent none within a second (the connection is gone)."""
        deadline = time.monotonic() + 1
        while not self.chan.exit_status_ready() and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.chan.recv_exit_status() if self.chan.exit_status_ready() else None

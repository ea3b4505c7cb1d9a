"""Why something failed on a host, in one line naming the cause.

A failed command's stderr often ends with the cause after lines of noise, and a failed
SSH connection surfaces as `[Errno None] Unable to connect to port 22`. These pure
functions turn both into what an operator acts on: connection refused at host:port,
authentication failed with key X, sudo asks for a password, read-only file system,
no space left. Never the script text: only what the command printed."""
from __future__ import annotations

import errno
import re
import socket
from pathlib import Path

# sudo's own words when it cannot run as root without a prompt (`sudo -n`)
_SUDO_PASSWORD = ("sudo: a password is required", "sudo: no tty present",
                  "sudo: a terminal is required")
_SUDO_MISSING = re.compile(r"(^|\W)sudo: (command )?not found", re.M)
_NOT_SUDOER = re.compile(r"(\S+) is not in the sudoers file|user (\S+) may not run sudo", re.I)
# the path a failing tool names before the error text: 'x', "x", `x' or bare x
_PATH_BEFORE = r"[`'\"]?(/[^\s'\"`:]*)[`'\"]?:\s*(?:\w[\w ]*:\s*)?"
_BY_ERRNO = (("Read-only file system", "read-only file system"),
             ("No space left on device", "no space left on device"),
             ("Disk quota exceeded", "disk quota exceeded"),
             ("Permission denied", "permission denied"))
_LAST_LINES = 3


def from_output(text: str, user: str = "") -> str | None:
    """A known cause in what a command printed (its stderr first), or None."""
    who = f" for {user}" if user else ""
    if any(s in text for s in _SUDO_PASSWORD):
        return (f"sudo asks for a password{who}; name it in the inventory (ssh.sudo_password_env or "
                "ssh.sudo_password_file), give --ask-sudo-password, or make that sudo NOPASSWD")
    m = _NOT_SUDOER.search(text)
    if m:
        return f"{m[1] or m[2]} may not use sudo; kubefab works as root through the login's sudo"
    if _SUDO_MISSING.search(text):
        return "sudo is not installed on the host; kubefab works as root through the login's sudo"
    for needle, says in _BY_ERRNO:
        if needle in text:
            m = re.search(_PATH_BEFORE + re.escape(needle), text)
            return f"{says}: {_target(m[1], text)}" if m else says
    return None


def _target(path: str, text: str = "") -> str:
    """The file the operator knows for the temp name kubefab writes it under (install's
    staging folder beside it, or put-back's temp name beside it). A staging folder tar
    could not make (a read-only folder: its next line names the file it was for): that
    file, the first one named."""
    if path.endswith("/.kubefab-new"):
        m = re.search(re.escape(path) + r"/([^\s'\"`:/]+)", text)
        return path[:-len(".kubefab-new")] + m[1] if m else path[:-len("/.kubefab-new")]
    m = re.fullmatch(r"(.*/)\.kubefab-new/([^/]+)", path) or re.fullmatch(r"(.*/)\.(.+)\.kubefab-new", path)
    return m[1] + m[2] if m else path


def last_lines(text: str, exit_code: int) -> str:
    """The fallback: a command's last few lines, folded into one (dash's `sh: 12: `
    prefixes dropped: a line number in a script the operator never sees)."""
    lines = [re.sub(r"^(sh|kubefab-[a-z-]+): \d+: ", "", line).strip() for line in text.strip().splitlines()]
    lines = [line for line in lines if line]
    return " | ".join(lines[-_LAST_LINES:]) or f"exit code {exit_code}"


def of_command(stderr: str, stdout: str, exit_code: int, user: str = "") -> str:
    """One line saying why a command failed."""
    return (from_output(stderr, user) or from_output(stdout, user)
            or last_lines(stderr if stderr.strip() else stdout, exit_code))


def of_connect(error: BaseException, address: str, port: int) -> str:
    """Why a TCP connection to address:port failed: refused, timed out, no route, ..."""
    where = f"{address}:{port}"
    inner = getattr(error, "errors", None)  # paramiko's NoValidConnectionsError: one per address
    if isinstance(inner, dict) and inner:
        error = next(iter(inner.values()))
    if isinstance(error, socket.gaierror):
        return f"cannot resolve {address} ({error.strerror or error})"
    if isinstance(error, (socket.timeout, TimeoutError)):
        return f"connection to {where} timed out"
    code = getattr(error, "errno", None)
    says = {errno.ECONNREFUSED: f"connection refused at {where} (is sshd running there?)",
            errno.EHOSTUNREACH: f"no route to host {where}",
            errno.ENETUNREACH: f"network unreachable for {where}",
            errno.ETIMEDOUT: f"connection to {where} timed out",
            errno.ECONNRESET: f"connection reset by {where}"}.get(code)
    if says:
        return says
    text = getattr(error, "strerror", None) or str(error) or type(error).__name__
    return f"cannot connect to {where}: {text}"


DEFAULT_KEYS = ("id_rsa", "id_ecdsa", "id_ed25519", "id_dsa")  # what paramiko looks for


def keys_tried(identity: Path | None, home: Path | None = None) -> list[str]:
    """The key files an SSH login offers: the inventory's ssh.identity, else the
    default ones in ~/.ssh that exist (as paramiko's look_for_keys)."""
    if identity:
        return [str(identity)]
    ssh_dir = (home or Path.home()) / ".ssh"
    return [str(ssh_dir / name) for name in DEFAULT_KEYS if (ssh_dir / name).is_file()]


def of_auth(user: str, keys: list[str], agent: bool = True) -> str:
    """Why a login failed, naming the keys it offered."""
    if keys:
        offered = f"key {keys[0]}" if len(keys) == 1 else f"keys {', '.join(keys)}"
    else:
        offered = "no key file (none set as ssh.identity, none in ~/.ssh)"
    also = " or the ssh-agent's" if agent else ""
    return (f"authentication failed for {user} with {offered}{also}; is its public key in "
            f"~{user}/.ssh/authorized_keys on the host?")

"""What every task needs: the inventory, the hosts it names, errors without tracebacks.

A task imports what it runs when it runs (the inventory, the PKI, the operations, SSH):
`kubefab --list` and `--help` build the task tree from the task modules alone."""
from __future__ import annotations

import getpass
import os
import sys
from contextlib import contextmanager
from dataclasses import replace
from typing import TYPE_CHECKING

from invoke.exceptions import Exit

from kubefab import report

from . import flags
from kubefab.model import SUDO, Host, Inventory
from kubefab.remote.transport import Interrupted, RemoteError

if TYPE_CHECKING:
    from kubefab import pki
    from kubefab.ops.operation import Options

ACCEPT_NEW_HELP = "record unknown SSH host keys (as OpenSSH's accept-new); a changed key is still refused"
INVENTORY_HELP = "the inventory file (default: $KUBEFAB_INVENTORY, else kubefab.inventory, hosts.yaml)"
HOSTS_HELP = "only these hosts, comma-separated (default: all)"
WAIT_LOCK_HELP = "wait for another run's cluster lock instead of refusing"
PARALLEL_HELP = "how many hosts to work on at once (default: kubefab.parallel, 10)"
TIMEOUT_HELP = "seconds to wait for the apiserver to be healthy and nodes Ready (default: kubefab.timeout, 120)"
ASK_SUDO_HELP = ("ask once for the SSH user's sudo password (else: ssh.sudo_password_env or "
                 "ssh.sudo_password_file in the inventory, or sudo without one)")


CONNECTS = (SUDO,)  # what a task that connects but renders no file needs: the sudo passwords


def inventory(c, given: str | None = None, *, secrets=True, ask_sudo_password: bool = False) -> Inventory:
    """--inventory, else KUBEFAB_INVENTORY, else the configured kubefab.inventory. The
    secrets it names are read only as `secrets` says (kubefab.inventory.load): all for
    the tasks that write files to hosts, CONNECTS for those that only connect, none for
    local ones. A sudo password asked for (--ask-sudo-password, Invoke's
    --prompt-for-sudo-password or its sudo.password setting) is every host's."""
    from kubefab.inventory import InventoryError, inventory_path, load
    configured = c.config.get("kubefab", {}).get("inventory")
    if configured is not None and not isinstance(configured, str):
        raise Exit(f"error: kubefab.inventory {configured!r} (fabric.yaml or FABRIC_KUBEFAB_INVENTORY): "
                   "wants a path", code=2)
    path = given or inventory_path(os.environ, configured)
    try:
        inv = load(path, secrets=secrets)
    except InventoryError as e:
        raise Exit(f"error: {e}", code=2)
    password = c.config.get("sudo", {}).get("password") or (_ask_sudo_password(inv) if ask_sudo_password else None)
    if password and ("\n" in password or "\r" in password):  # sudo -S reads up to the first of either
        raise Exit("error: the sudo password asked for has a line break; sudo would read only its first line",
                   code=2)
    if password:
        hosts = tuple(replace(h, ssh=replace(h.ssh, sudo_password=password, sudo_password_source="the prompt"))
                      for h in inv.hosts)
        inv = replace(inv, hosts=hosts)
    return inv


def _ask_sudo_password(inv: Inventory) -> str:
    users = ", ".join(sorted({h.ssh.user for h in inv.hosts}))
    if not sys.stdin.isatty():
        raise Exit("error: --ask-sudo-password needs a terminal; name the password's source in the inventory "
                   "instead (ssh.sudo_password_env or ssh.sudo_password_file)", code=2)
    try:
        password = getpass.getpass(f"sudo password for {users} on {inv.cluster}'s hosts: ")
    except (EOFError, KeyboardInterrupt):
        raise Exit("interrupted (Ctrl-C)", code=130) from None
    if not password:
        raise Exit("error: --ask-sudo-password: no password given", code=2)
    return password


def cluster_pki(inv: Inventory) -> pki.Pki | None:
    """The cluster's CA and certificates (None without tls), made or renewed in
    kubernetes.pki_dir as needed; what changed goes to stderr, never key material."""
    from kubefab import pki
    try:
        made = pki.ensure(inv)
    except pki.PkiError as e:
        raise Exit(f"error: {e}", code=2)
    for what in made.changes if made else ():
        print(f"pki: {what}", file=sys.stderr)
    return made


def select(inv: Inventory, given: str | None, flag: str = "hosts") -> list[Host]:
    """The hosts named by --hosts a,b (every host when the flag is not given)."""
    asked = flags.names(flag, given)
    if asked is None:
        return list(inv.hosts)
    known = {h.name for h in inv.hosts}
    unknown = [n for n in asked if n not in known]
    if unknown:
        raise Exit(f"error: --{flag}: {', '.join(unknown)} not in {inv.path}; "
                   f"known hosts: {', '.join(sorted(known))}", code=2)
    return [h for h in inv.hosts if h.name in asked]


def parallel_setting(c, given) -> int:
    """--parallel, else the configured kubefab.parallel, checked alike."""
    return flags.whole("parallel", given, flags.setting(c, "parallel", "hosts", whole=True), "hosts")


def timeout_setting(c, given) -> float:
    """--timeout, else the configured kubefab.timeout, checked alike."""
    return float(flags.positive("timeout", given, flags.setting(c, "timeout", "seconds"), "seconds"))


def options(c, task: str, *, dry_run=False, parallel=None, timeout=None, accept_new=False, wait_lock=False,
            json=False) -> Options:
    """The flags every operation shares, checked (one line, exit 2) before anything runs.
    Invoke's run.dry (fab's --dry, -R) makes a dry run too."""
    from kubefab.ops.operation import Options
    dry_run = dry_run or bool(c.config.get("run", {}).get("dry"))
    opts = Options(dry_run=dry_run, parallel=parallel_setting(c, parallel),
                   timeout=timeout_setting(c, timeout), accept_new=accept_new, wait_lock=wait_lock,
                   json=json, invocation=invocation(task))
    if json:
        report.progress_to_stderr()
    return opts


def invocation(task: str, argv=None) -> tuple[str, ...]:
    """The operator's command for `task` as typed: the program (report.program) and this
    task's words, up to the next task on the same line; () when the task is not there (a
    test, or kubefab called from Python): the re-run hint then says what it can."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if task not in argv:
        return ()
    start = argv.index(task)
    tasks = set(flags.task_names())
    end = next((i for i in range(start + 1, len(argv)) if argv[i] in tasks and not argv[i - 1].startswith("-")),
               len(argv))
    return (report.program(), *argv[start:end])


def head_start(hosts: list[Host], opts: Options):
    """The hosts' SSH connections, begun now (kubefab.remote.headstart): the operation's
    `connect`, for `run` after what the task still does before it runs."""
    from kubefab.remote.headstart import HeadStart
    from kubefab.remote.ssh import ssh
    return HeadStart(hosts, ssh(accept_new=opts.accept_new), opts.parallel)


def run(make, connect=None) -> None:
    """Build an operation (make() -> Operation) and run it; its exit code is the task's.
    connect: the connections a head start began (closed when no operation was made)."""
    from kubefab import pki
    try:
        operation = make()
    except BaseException as e:
        if connect is not None:
            connect.interrupt()
            connect.close()
        if isinstance(e, pki.PkiError):
            raise Exit(f"error: {e}", code=2) from None
        raise
    code = operation.run()
    if code:
        raise Exit(code=code)


@contextmanager
def reported():
    """Turn a host fault into a one-line error and a non-zero exit; Ctrl-C (even while
    connecting) into one line and exit 130, as an operation's run does."""
    try:
        yield
    except RemoteError as e:
        raise Exit(f"error: {e}", code=1)
    except (Interrupted, KeyboardInterrupt):
        raise Exit("interrupted (Ctrl-C)", code=130) from None

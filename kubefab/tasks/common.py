"""What every task needs: the inventory, the hosts it names, errors without tracebacks.

A task imports what it runs when it runs (the inventory, the PKI, the operations, SSH):
`kubefab --list` and `--help` build the task tree from the task modules alone."""
from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from typing import TYPE_CHECKING

from invoke.exceptions import Exit

from kubefab import report

from . import flags
from kubefab.model import Host, Inventory
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


def inventory(c, given: str | None = None) -> Inventory:
    """--inventory, else KUBEFAB_INVENTORY, else the configured kubefab.inventory."""
    from kubefab.inventory import InventoryError, inventory_path, load
    path = given or inventory_path(os.environ, c.config.get("kubefab", {}).get("inventory"))
    try:
        return load(path)
    except InventoryError as e:
        raise Exit(f"error: {e}", code=2)


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
    """--parallel, checked, or the configured kubefab.parallel."""
    return flags.whole("parallel", given, c.config.kubefab.parallel, "hosts")


def timeout_setting(c, given) -> float:
    """--timeout, checked, or the configured kubefab.timeout."""
    return float(flags.positive("timeout", given, c.config.kubefab.timeout, "seconds"))


def options(c, task: str, *, dry_run=False, parallel=None, timeout=None, accept_new=False, wait_lock=False,
            json=False) -> Options:
    """The flags every operation shares, checked (one line, exit 2) before anything runs."""
    from kubefab.ops.operation import Options
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


def run(make) -> None:
    """Build an operation (make() -> Operation) and run it; its exit code is the task's."""
    from kubefab import pki
    try:
        operation = make()
    except pki.PkiError as e:
        raise Exit(f"error: {e}", code=2)
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

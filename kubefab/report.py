"""What the operator reads: lines prefixed with their host, and a recap per host."""
from __future__ import annotations

import os
import shlex
import sys
import threading

_lock = threading.Lock()
_progress = {"stream": None}  # where say() writes by default; None: stdout


def progress_to_stderr() -> None:
    """Keep stdout for a machine-readable result (--json): progress goes to stderr."""
    _progress["stream"] = sys.stderr


def say(host: str | None, text: str, stream=None) -> None:
    """Print text, each line prefixed with `[host] ` (threads never interleave lines).
    Once the reader is gone (`kubefab deploy | head`), the run goes on, saying nothing."""
    stream = stream or _progress["stream"] or sys.stdout
    prefix = f"[{host}] " if host else ""
    with _lock:
        try:
            for line in text.rstrip("\n").splitlines() or [""]:
                stream.write(f"{prefix}{line}\n")
            stream.flush()
        except BrokenPipeError:
            _progress["stream"] = open(os.devnull, "w")


def outcome(hosts, changed: dict[str, list[str]], failed: dict[str, str], task: str,
            pending: dict[str, list[str]] | None = None, rerun: str | None = None) -> dict:
    """The recap as data, for --json: per host its result (as the recap says it), what
    changed, would change (a dry run) or why it failed, and the command that re-runs the
    failed hosts (`rerun`; by default `kubefab <task> --hosts <failed>`)."""
    def row(name):
        if name in failed:
            return {"result": "failed", "reason": failed[name], "changes": list(changed.get(name, ()))}
        if pending is not None and pending.get(name):
            return {"result": "pending", "pending": list(pending[name])}
        if changed.get(name):
            return {"result": "changed", "changes": list(changed[name])}
        return {"result": "unchanged"}
    failing = [h for h in hosts if h in failed]
    return {"task": task, "ok": not failing, "hosts": {name: row(name) for name in hosts},
            "rerun": (rerun or _rerun(task, failing)) if failing else None}


def program() -> str:
    """The command the operator runs kubefab as: `fab` with the repo's fabfile, else `kubefab`
    (the installed command, and what a hint says when kubefab runs inside another program)."""
    return "fab" if os.path.basename(sys.argv[0] or "") == "fab" else "kubefab"


def rerun_hint(invocation, task: str, hosts: list[str] | None) -> str:
    """The operator's command again, for the failed `hosts` (None: the task takes no
    --hosts): the same program and flags (so a --dry-run stays one), --hosts replaced,
    nothing added."""
    words = list(invocation) or [program(), task]
    if hosts is not None:
        words = [*without(words, ("--hosts", "-H")), "--hosts", ",".join(hosts)]
    return shlex.join(words)


def without(words, flags) -> list[str]:
    """A command's words without `flags` (each with its value: `--f v` or `--f=v`)."""
    out, skip = [], False
    for w in words:
        if skip:
            skip = False
        elif w in flags:
            skip = True
        elif not w.startswith(tuple(f"{f}=" for f in flags)):
            out.append(w)
    return out


def _rerun(task: str, failing: list[str]) -> str:
    return rerun_hint((), task, failing)


def recap(hosts, changed: dict[str, list[str]], failed: dict[str, str], task: str,
          stream=None, pending: dict[str, list[str]] | None = None, rerun: str | None = None) -> str:
    """One line per host: changed / unchanged / failed, and why (a failed host also says
    what it changed before); a dry run (`pending` given) says pending and what a run
    would do instead of changed. Then how to re-run the failed hosts alone. Returns the
    text it printed."""
    width = max((len(h) for h in hosts), default=0)
    lines = ["", "RECAP"]
    for name in hosts:
        if name in failed:
            done = f" (changed before that: {'; '.join(changed[name])})" if changed.get(name) else ""
            lines.append(f"  {name:<{width}}  failed     {failed[name]}{done}")
        elif pending is not None and pending.get(name):
            lines.append(f"  {name:<{width}}  pending    {'; '.join(pending[name])}")
        elif changed.get(name):
            lines.append(f"  {name:<{width}}  changed    {'; '.join(changed[name])}")
        else:
            lines.append(f"  {name:<{width}}  unchanged")
    if failed:
        command = rerun or _rerun(task, [h for h in hosts if h in failed])
        lines.append(f"Re-run just the failed hosts: {command}" if " --hosts " in command else f"Re-run: {command}")
    text = "\n".join(lines)
    say(None, text, stream)
    return text

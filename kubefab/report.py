"""What the operator reads: lines prefixed with their host, and a recap per host."""
from __future__ import annotations

import sys
import threading

_lock = threading.Lock()
_progress = {"stream": None}  # where say() writes by default; None: stdout


def progress_to_stderr() -> None:
    """Keep stdout for a machine-readable result (--json): progress goes to stderr."""
    _progress["stream"] = sys.stderr


def say(host: str | None, text: str, stream=None) -> None:
    """Print text, each line prefixed with `[host] ` (threads never interleave lines)."""
    stream = stream or _progress["stream"] or sys.stdout
    prefix = f"[{host}] " if host else ""
    with _lock:
        for line in text.rstrip("\n").splitlines() or [""]:
            stream.write(f"{prefix}{line}\n")
        stream.flush()


def outcome(hosts, changed: dict[str, list[str]], failed: dict[str, str], task: str) -> dict:
    """The recap as data, for --json: per host its result, what changed or why it failed,
    and the command that re-runs the failed hosts."""
    rows = {name: ({"result": "failed", "reason": failed[name]} if name in failed else
                   {"result": "changed", "changes": list(changed[name])} if changed.get(name) else
                   {"result": "unchanged"}) for name in hosts}
    failing = [h for h in hosts if h in failed]
    return {"task": task, "ok": not failing, "hosts": rows,
            "rerun": f"fab {task} --hosts {','.join(failing)}" if failing else None}


def recap(hosts, changed: dict[str, list[str]], failed: dict[str, str], task: str,
          stream=None) -> str:
    """One line per host: changed / unchanged / failed, and why; then how to re-run the
    failed hosts alone. Returns the text it printed."""
    width = max((len(h) for h in hosts), default=0)
    lines = ["", "RECAP"]
    for name in hosts:
        if name in failed:
            lines.append(f"  {name:<{width}}  failed     {failed[name]}")
        elif changed.get(name):
            lines.append(f"  {name:<{width}}  changed    {'; '.join(changed[name])}")
        else:
            lines.append(f"  {name:<{width}}  unchanged")
    if failed:
        lines.append(f"Re-run just the failed hosts: fab {task} --hosts {','.join(h for h in hosts if h in failed)}")
    text = "\n".join(lines)
    say(None, text, stream)
    return text

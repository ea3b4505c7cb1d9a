"""What the operator reads: lines prefixed with their host, and a recap per host."""
from __future__ import annotations

import sys
import threading

_lock = threading.Lock()


def say(host: str | None, text: str, stream=None) -> None:
    """Print text, each line prefixed with `[host] ` (threads never interleave lines)."""
    stream = stream or sys.stdout
    prefix = f"[{host}] " if host else ""
    with _lock:
        for line in text.rstrip("\n").splitlines() or [""]:
            stream.write(f"{prefix}{line}\n")
        stream.flush()


def recap(hosts, changed: dict[str, list[str]], failed: dict[str, str], task: str,
          stream=None, pending: dict[str, list[str]] | None = None) -> str:
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
        lines.append(f"Re-run just the failed hosts: fab {task} --hosts {','.join(h for h in hosts if h in failed)}")
    text = "\n".join(lines)
    say(None, text, stream)
    return text

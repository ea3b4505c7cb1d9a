"""--trace: every remote command of a run (Remote.run, which host scripts and files use
too): host, start, duration, what; then where the run's time went, per kind of command,
and the master's commands in order."""
from __future__ import annotations

import time
from contextlib import contextmanager
from pathlib import Path

from kubefab.remote.ssh import Remote


class Trace:
    def __init__(self):
        self.calls: list[tuple[str, float, float, str]] = []
        self.start = time.perf_counter()

    @contextmanager
    def recording(self):
        original = Remote.run

        def run(remote, argv, **kwargs):
            began = time.perf_counter()
            try:
                return original(remote, argv, **kwargs)
            finally:
                self.calls.append((remote.host.name, began - self.start, time.perf_counter() - began,
                                   kind(argv)))
        Remote.run = run
        try:
            yield self
        finally:
            Remote.run = original

    def report(self, master: str) -> str:
        """Per kind: how many, the first start and last end (s into the run), the summed
        time; then the master's commands in order."""
        kinds: dict[str, list] = {}
        for host, began, took, what in self.calls:
            kinds.setdefault(what, []).append((began, began + took, took))
        lines = [f"{'command':<40} {'n':>4} {'first':>7} {'last end':>8} {'sum':>7}"]
        for what, spans in sorted(kinds.items(), key=lambda kv: min(s[0] for s in kv[1])):
            lines.append(f"{what:<40} {len(spans):>4} {min(s[0] for s in spans):>7.2f} "
                         f"{max(s[1] for s in spans):>8.2f} {sum(s[2] for s in spans):>7.2f}")
        lines.append(f"{master}:")
        lines += [f"  {began:7.2f} {took:6.2f} {what}" for host, began, took, what in self.calls if host == master]
        return "\n".join(lines)


def kind(argv: list[str]) -> str:
    """A command's kind: a host script by its name ($0: kubefab-<name>, what follows it
    for a batch of scripts), else the program and its first word that is no option
    (kubectl: its verb)."""
    if argv[:2] == ["sh", "-c"]:
        name = argv[3] if len(argv) > 3 else "sh -c"
        return f"{name} {' '.join(a for a in argv[4:5] if ' ' not in a and '/' not in a)}".strip()[:40]
    words = [Path(argv[0]).name] + [a for a in argv[1:] if not a.startswith("-")]
    if words[0] == "kubectl":
        verbs = [w for w in words[1:] if w in ("get", "label", "annotate", "patch", "create", "apply", "auth")]
        return " ".join(words[:1] + verbs[:1])
    return " ".join(words[:2])[:40]

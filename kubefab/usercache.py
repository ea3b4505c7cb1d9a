"""The user's cache folder for kubefab ($XDG_CACHE_HOME/kubefab, else ~/.cache/kubefab):
what a run may keep to spare the next one work, never what it needs. A folder is the
user's own (0700); where it cannot be made or is not the user's, there is no cache."""
from __future__ import annotations

import os
from pathlib import Path


def folder(name: str) -> Path | None:
    """$XDG_CACHE_HOME/kubefab/<name>, made 0700 if missing; None where it cannot be."""
    path = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "kubefab" / name
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        if path.stat().st_uid != os.getuid() or not os.access(path, os.W_OK):
            return None
    except (OSError, RuntimeError):  # no home, a read-only one
        return None
    return path

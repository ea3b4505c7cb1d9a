"""Where a task writes (`--out`), checked before anything is made: one line naming the
flag and what is wrong, exit 2. A folder given with --out may be made, never its
parents (a typo must not grow a tree); kubefab's own defaults (build/rendered,
~/.kube) are made whole. A write that fails later is one line too (`writing`)."""
from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

from invoke.exceptions import Exit


def refuse(flag: str, path, why: str):
    raise Exit(f"error: --{flag} {path}: {why}", code=2)


def folder(flag: str, given: str | None, default: str) -> Path:
    """The folder to write into: --out (made if missing, its parent must exist), else
    `default` (made with its parents)."""
    path = Path(given if given is not None else default).expanduser()
    if path.exists() and not path.is_dir():
        refuse(flag, path, "is a file, not a folder; name a folder (it is made if missing)")
    if not path.exists():
        parent = path.parent
        if given is not None and not parent.is_dir():
            refuse(flag, path, f"no folder {parent}; make it first (kubefab makes only the last folder)")
        with writing(flag, path):
            path.mkdir(parents=given is None, exist_ok=True)
    if not os.access(path, os.W_OK | os.X_OK):
        refuse(flag, path, "not writable for you")
    return path


def file(flag: str, given: str | None, default: str, make_parents: bool = False) -> Path:
    """A file to write: its folder must exist (with `make_parents`, for kubefab's own
    default, it is made); never a folder itself."""
    path = Path(given if given is not None else default).expanduser()
    if path.is_dir():
        refuse(flag, path, "is a folder; name the file to write")
    parent = path.parent
    if not parent.is_dir():
        if given is not None or not make_parents:
            refuse(flag, path, f"no folder {parent}; make it first, or name a file in an existing folder")
        with writing(flag, path):
            parent.mkdir(parents=True, mode=0o700)
    if not os.access(parent, os.W_OK | os.X_OK) or path.exists() and not os.access(path, os.W_OK):
        refuse(flag, path, "not writable for you")
    return path


@contextmanager
def writing(flag: str, path):
    """An OSError while writing under --out `path`, as one line."""
    try:
        yield
    except OSError as e:
        where = e.filename or path
        refuse(flag, path, f"cannot write {where}: {e.strerror or e}")

"""Secrets an inventory names by reference, never inline: an environment variable
(`<what>_env: NAME`) or a private file (`<what>_file: PATH`, mode 0600). The registry
token and the sudo password are read this way, only by the tasks that use them
(`read=False`: the keys are checked, the secret is not looked at). A secret's value
never appears in a message. Pure: imports neither fabric nor invoke."""
from __future__ import annotations

import shlex
import stat
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import NoReturn

from kubefab import validate as v
from kubefab.yamldoc import Section


def reference(section: Section, stem: str, paths: Callable, environ: Mapping[str, str], what: str,
              read: bool = True, required: bool = True) -> tuple[str | None, str]:
    """(the secret, where it comes from) from `<stem>_env` or `<stem>_file` in
    `section`: exactly one of them (or neither when not `required`: (None, "")). The
    secret is None when not `read`."""
    env_key, file_key = f"{stem}_env", f"{stem}_file"
    given = [key for key in (env_key, file_key) if key in section]
    if len(given) > 1 or required and not given:
        both = ", not both" if given else ""
        section.fail(f"set exactly one of {env_key}: VARIABLE or {file_key}: PATH{both}", given[-1] if given else None)
    if not given:
        return None, ""
    if given == [env_key]:
        name = section.get(env_key, v.env_name)
        source = f"environment variable {name}"
        if not read:
            return None, source
        secret = environ.get(name, "")
        if not secret.strip():
            state = "is empty" if name in environ else "is not set"
            section.fail(f"environment variable {name} {state}; export {name}=<{what}>", env_key)
        return _one_line(section, env_key, secret, what, source), source
    path = section.get(file_key, paths)
    source = f"file {path}"
    if not read:
        return None, source
    return _one_line(section, file_key, private_file(section, file_key, path, what), what, source), source


def _one_line(section: Section, key: str, secret: str, what: str, source: str) -> str:
    if "\n" in secret or "\r" in secret:
        section.fail(f"the {what} in {source} spans more than one line; keep it on one", key)
    return secret


def private_file(section: Section, key: str, path: Path, what: str) -> str:
    """The file's text without its last line break; it must be private (no group or other access)."""
    def fail(problem: str) -> NoReturn:
        section.fail(problem, key)

    quoted = shlex.quote(str(path))
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        fail(f"{path} does not exist; write the {what} into it, then chmod 600 {quoted}")
    except OSError as e:
        fail(f"cannot read {path}: {e.strerror}")
    if not stat.S_ISREG(mode):
        fail(f"{path} is not a regular file; point {key} at the file holding the {what}")
    if mode & 0o077:
        fail(f"{path} is readable or writable by group or others (mode {mode & 0o777:o}); run chmod 600 {quoted}")
    try:
        secret = path.read_text(encoding="utf-8").rstrip("\r\n")
    except UnicodeDecodeError:  # its text would show part of the secret
        fail(f"{path} is not UTF-8 text")
    except OSError as e:
        fail(f"cannot read {path}: {e.strerror}")
    if not secret.strip():
        fail(f"{path} is empty; write the {what} into it")
    return secret

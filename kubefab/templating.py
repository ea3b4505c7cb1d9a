"""The Jinja environment every profile renders with: StrictUndefined (a missing value
is an error, not an empty flag), trailing newlines kept, and filters that quote by
construction for where a value lands (a unit's command line, an environment file, a
shell script, JSON/YAML). Each profile's own templates come first; the ones both share
(the targets, the register-node unit and script) are in kubefab/templates. Pure, but
for the compiled templates it keeps in the user's cache folder: compiling them took a
run 20-60 ms, about a tenth of a no-op deploy from the command line."""
from __future__ import annotations

import functools
import json
import re
import shlex
from typing import TYPE_CHECKING

from kubefab import usercache

if TYPE_CHECKING:
    import jinja2


@functools.cache
def environment(profile_package: str) -> jinja2.Environment:
    """The environment for `profile_package` (e.g. "kubefab.profiles.modern"). Jinja is
    imported here, when a file is first rendered: loading an inventory does not need it,
    and a deploy renders once its connections are begun."""
    import jinja2
    loader = jinja2.ChoiceLoader([jinja2.PackageLoader(profile_package, "templates"),
                                  jinja2.PackageLoader("kubefab", "templates")])
    env = jinja2.Environment(loader=loader, undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                             trim_blocks=True, lstrip_blocks=True, autoescape=False, bytecode_cache=_cache())
    env.filters.update(json=_json, sh=shlex.quote, sdarg=unit_arg, envval=_env_value, plainurl=_plain_url,
                       execstart=_exec_start)
    return env


def _cache() -> jinja2.BytecodeCache | None:
    """Compiled templates in the user's cache (kubefab.usercache: templates/), keyed by
    each template's source and Jinja's version; None where it cannot be made."""
    import jinja2
    folder = usercache.folder("templates")
    return jinja2.FileSystemBytecodeCache(str(folder)) if folder else None


def _json(value, indent: int | None = 2) -> str:
    return json.dumps(value, indent=indent)


def unit_arg(value) -> str:
    """One word on a unit's command line: specifiers and variables escaped."""
    s = str(value)
    if not s or re.search(r"[\s\"'\\;]|[\x00-\x1f\x7f]", s):
        raise ValueError(f"{s!r} cannot be one word on a systemd command line")
    return s.replace("%", "%%").replace("$", "$$")


def _exec_start(argv) -> str:
    """A command line over continuation lines, one `--flag` (and its words) per line."""
    lines = [unit_arg(argv[0])]
    for word in argv[1:]:
        if word.startswith("--"):
            lines.append("    " + unit_arg(word))
        else:
            lines[-1] += " " + unit_arg(word)
    return " \\\n".join(lines)


def _env_value(value) -> str:
    """A value in an EnvironmentFile= that systemd and sh read alike."""
    s = str(value)
    if re.fullmatch(r"[A-Za-z0-9_@%+=:,./~-]*", s):
        return s
    if "'" in s or re.search(r"[\x00-\x1f\x7f]", s):
        raise ValueError(f"{s!r} cannot go into an environment file (quote or control character)")
    return f"'{s}'"


def _plain_url(value) -> str:
    """A URL placed into a shell command inside a unit: letters, digits, :/.-[] only."""
    s = str(value)
    if not re.fullmatch(r"https?://[A-Za-z0-9.:/\[\]-]+", s):
        raise ValueError(f"{s!r} is not a plain http(s) URL")
    return s

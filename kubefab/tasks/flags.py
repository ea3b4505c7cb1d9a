"""Flags are checked before anything runs: a bad value is one line naming the flag and
exit 2, as a bad inventory is, never a traceback."""
from __future__ import annotations

import invoke
from invoke.exceptions import Exit
from invoke.parser import Argument

NUMBERS = ("parallel", "timeout")  # whole-number flags; 0 or absent: the configured default


class _Bad(str):
    """A value Invoke could not read as a number, kept for the task to refuse."""


class _Number(Argument):
    def set_value(self, value, cast: bool = True) -> None:
        try:
            super().set_value(value, cast)
        except ValueError:  # Invoke would let it escape as a traceback
            self.raw_value, self._value = value, _Bad(value)


class Task(invoke.Task):
    """kubefab's tasks: number flags that fail in one line, and no automatic short flags
    (`-h` is help, never `--hosts`)."""

    def __init__(self, body, **kwargs):
        kwargs.setdefault("auto_shortflags", False)
        super().__init__(body, **kwargs)

    def get_arguments(self, ignore_unknown_help=None):
        return [_Number(names=a.names, kind=int, default=a.default, help=a.help,
                        attr_name=a.attr_name, optional=a.optional, positional=a.positional)
                if a.name in NUMBERS else a for a in super().get_arguments(ignore_unknown_help)]


def task(*args, **kwargs):
    return invoke.task(*args, klass=Task, **kwargs)


def refuse(flag: str, value, why: str):
    raise Exit(f"error: --{flag} {value!r}: {why}", code=2)


def positive(flag: str, value, default, unit: str):
    """A flag's number: the configured default when not given, else a number > 0."""
    if value is None:
        return default
    try:
        number = float(value)
    except ValueError:
        refuse(flag, str(value), f"not a number of {unit}")
    if number <= 0 or number != number or number == float("inf"):
        refuse(flag, str(value), f"wants a number of {unit} above 0")
    return number


def setting(c, name: str, unit: str, whole: bool = False):
    """The configured kubefab.<name> (fabric.yaml, FABRIC_KUBEFAB_<NAME>), checked as
    its flag is: one line naming the setting, exit 2."""
    value = c.config.kubefab[name]
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value < float("inf") \
        and (not whole or value == int(value))
    if not ok:
        kind = "a whole number" if whole else "a number"
        raise Exit(f"error: kubefab.{name} {value!r} (fabric.yaml or FABRIC_KUBEFAB_{name.upper()}): "
                   f"wants {kind} of {unit} above 0", code=2)
    return value


def whole(flag: str, value, default, unit: str) -> int:
    number = positive(flag, value, default, unit)
    if number != int(number):
        refuse(flag, str(value), f"wants a whole number of {unit}")
    return int(number)


def names(flag: str, value: str | None) -> list[str] | None:
    """`--hosts a,b` as names; None when the flag is not given (every host)."""
    if value is None:
        return None
    listed = [n.strip() for n in value.split(",")]
    if not any(listed) or not all(listed):
        refuse(flag, value, "wants host names separated by commas, e.g. azure-prd-02,ded-prd-01")
    return listed


def task_names() -> list[str]:
    """Every task's dotted name, for telling tasks from flag values on a command line."""
    from kubefab.tasks import ns  # the tree imports this module: asked for late
    return list(ns.task_names)

"""Command-line flags as the real programs parse them (spf13/pflag through cobra).

pflag rules reproduced: `--flag=value`, `--flag value`, `--bool-flag` (no value),
`--bool-flag=true|false` (a bool flag never takes the next argument: `--b false`
leaves `false` as a positional argument), `-v=3`/`-v 3` shorthands, `--` ends the
flags, `_` in a flag name is read as `-` (kube's WordSepNormalizeFunc). Errors are
cobra's: `Error: unknown flag: --x` on stderr, exit 1 (`FlagError`).

Per program a table of the flags it accepts, each with the version it was added in
and (if so) removed in: [added, removed). The ranges are kept accurate to what we
know; where unsure (marked `~`) the range is the wider one, so a stand-in never
rejects a flag the real program of that version accepted.
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

from . import flags_modern
from .flag_tables import CLOUD_PROVIDERS, TABLES, Flag  # noqa: F401 (CLOUD_PROVIDERS: re-exported)

class FlagError(Exception):
    """A command line the real program refuses; str() is the text after `Error: `."""


_BOOL = {"1": True, "t": True, "T": True, "TRUE": True, "true": True, "True": True,
         "0": False, "f": False, "F": False, "FALSE": False, "false": False, "False": False}


def flags_for(program: str, version: tuple[int, ...]) -> dict[str, Flag]:
    if version[:2] >= (1, 35):  # today's Kubernetes: its own tables
        return flags_modern.flags_for(program, version)
    return {f.name: f for f in TABLES[program] if f.present(version)}


@dataclass
class Parsed:
    values: dict[str, object]
    explicit: set[str] = field(default_factory=set)
    args: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def __getitem__(self, name: str):
        return self.values.get(name)

    def given(self, name: str) -> bool:
        return name in self.explicit


def _display(flag: Flag) -> str:
    return f"-{flag.short}, --{flag.name}" if flag.short else f"--{flag.name}"


_DURATION = re.compile(r"^[-+]?((\d+(\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h))+$")
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str) -> float:
    """Go's time.ParseDuration, in seconds."""
    if text in ("0", "+0", "-0"):
        return 0.0
    if not _DURATION.match(text):
        raise ValueError(f'time: invalid duration "{text}"')
    sign = -1.0 if text.startswith("-") else 1.0
    total = sum(float(n) * _UNITS[u] for n, _, _, u in re.findall(r"((\d+(\.\d*)?|\.\d+))(ns|us|µs|ms|s|m|h)", text))
    return sign * total


def convert(flag: Flag, raw: str):
    """The value pflag would store, or ValueError with pflag's reason."""
    k = flag.kind
    if k == "bool":
        if raw not in _BOOL:
            raise ValueError(f'strconv.ParseBool: parsing "{raw}": invalid syntax')
        return _BOOL[raw]
    if k == "int":
        try:
            return int(raw, 0) if not re.fullmatch(r"[-+]?0\d+", raw) else int(raw, 8)
        except ValueError:
            raise ValueError(f'strconv.ParseInt: parsing "{raw}": invalid syntax') from None
    if k == "float":
        try:
            return float(raw)
        except ValueError:
            raise ValueError(f'strconv.ParseFloat: parsing "{raw}": invalid syntax') from None
    if k == "duration":
        parse_duration(raw)
        return raw
    if k == "ip":
        try:
            ipaddress.ip_address(raw.strip())
        except ValueError:
            raise ValueError(f'failed to parse IP: "{raw}"') from None
        return raw.strip()
    if k == "list":
        return [x for x in raw.split(",")] if raw else []
    if k == "map":
        out = {}
        for item in raw.split(","):
            if not item.strip():
                continue
            key, sep, value = item.partition("=")
            if not sep:
                raise ValueError("malformed pair, expect string=string")
            out[key.strip()] = value.strip()
        return out
    return raw


def _default(flag: Flag):
    if flag.kind == "list":
        return flag.default.split(",") if isinstance(flag.default, str) else list(flag.default or [])
    if flag.kind == "map":
        return dict(flag.default or {})
    return flag.default


def parse(program: str, version: tuple[int, ...], argv: list[str]) -> Parsed:
    """argv (without the program name) -> Parsed; FlagError like cobra's."""
    table = flags_for(program, version)
    shorts = {f.short: f for f in table.values() if f.short}
    values = {name: _default(f) for name, f in table.items()}
    out = Parsed(values)
    multi = {}  # list/map flags accumulate over repeats, as pflag's do

    def store(flag: Flag, raw: str):
        try:
            value = convert(flag, raw)
        except ValueError as e:
            raise FlagError(f'invalid argument "{raw}" for "{_display(flag)}" flag: {e}') from None
        if flag.kind in ("list", "map") and flag.name in multi:
            value = (multi[flag.name] + value) if flag.kind == "list" else {**multi[flag.name], **value}
        if flag.kind in ("list", "map"):
            multi[flag.name] = value
        values[flag.name] = value
        out.explicit.add(flag.name)
        if flag.deprecated and version[:2] >= flag.deprecated:
            out.warnings.append(f"Flag --{flag.name} has been deprecated, {flag.deprecation}")

    i = 0
    while i < len(argv):
        arg = argv[i]
        i += 1
        if arg == "--":
            out.args.extend(argv[i:])
            break
        if arg.startswith("--") and len(arg) > 2:
            body = arg[2:]
            if body.startswith("-") or body.startswith("="):
                raise FlagError(f"bad flag syntax: {arg}")
            name, has_value, raw = body.partition("=")
            flag = table.get(name.replace("_", "-"))
            if flag is None:
                raise FlagError(f"unknown flag: --{name}")
            if has_value:
                store(flag, raw)
            elif flag.kind == "bool":
                store(flag, "true")
            elif flag.kind == "version":
                store(flag, "true")
            elif i < len(argv):
                store(flag, argv[i])
                i += 1
            else:
                raise FlagError(f"flag needs an argument: --{name}")
        elif arg.startswith("-") and len(arg) > 1:
            rest = arg[1:]
            while rest:
                c, rest = rest[0], rest[1:]
                flag = shorts.get(c)
                if flag is None:
                    raise FlagError(f"unknown shorthand flag: '{c}' in {arg}")
                if rest.startswith("="):
                    store(flag, rest[1:])
                    rest = ""
                elif flag.kind == "bool":
                    store(flag, "true")
                elif rest:
                    store(flag, rest)
                    rest = ""
                elif i < len(argv):
                    store(flag, argv[i])
                    i += 1
                else:
                    raise FlagError(f"flag needs an argument: '{c}' in -{c}")
        else:
            out.args.append(arg)
    return out


def usage(program: str, version: tuple[int, ...]) -> str:
    lines = [f"Usage:\n  {program} [flags]\n\nFlags:"]
    for f in sorted(flags_for(program, version).values(), key=lambda f: f.name):
        kind = "" if f.kind in ("bool", "version") else f" {f.kind}"
        short = f"-{f.short}, " if f.short else "    "
        lines.append(f"      {short}--{f.name}{kind}")
    return "\n".join(lines) + "\n"

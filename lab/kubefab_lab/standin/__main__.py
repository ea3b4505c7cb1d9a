"""Entry point: dispatch on the program name (basename of argv[0]; or, hyperkube
style, the first argument when argv[0] is not a program name)."""
from __future__ import annotations

import os
import sys

from . import PROGRAMS, common, flags


def run(program: str, argv: list[str]) -> int:
    cfg = common.load_config()
    common.set_program(program, 0, cfg.version)
    common.install_signal_handlers()
    if program == "kube-apiserver" and "apiserver-exits" in cfg.faults:
        common.fatal("kubefab stand-in fault apiserver-exits: kube-apiserver exits at once")
    try:
        fl = flags.parse(program, cfg.v, argv)
    except flags.FlagError as e:
        return _refuse_flags(program, cfg.v, e)
    if fl["help"]:
        sys.stdout.write(f"{program} {cfg.version} (kubefab stand-in)\n\n" + flags.usage(program, cfg.v))
        return 0
    if fl["version"] not in (None, "false", False):
        if fl["version"] == "raw":
            import json

            from .documents import version_info

            sys.stdout.write(json.dumps(version_info(cfg.version), indent=2) + "\n")
        else:
            sys.stdout.write(f"Kubernetes {cfg.version}\n")
        return 0
    common.set_program(program, fl["v"] or 0, cfg.version)
    for w in fl.warnings:
        sys.stderr.write(w + "\n")
    if fl.args:
        if cfg.v >= (1, 20):  # ~ cobra's NoArgs check on the server commands
            common.error_exit([f'"{program}" does not take any arguments, got {_go_quote(fl.args)}'])
        common.warning(f"ignoring arguments that are not flags: {' '.join(fl.args)}")
    if fl["logtostderr"] is False:
        common.warning("--logtostderr=false: the stand-in logs to stderr anyway")
    common.info(f"{program} {cfg.version} (kubefab stand-in) flags: {' '.join(argv)}")
    if program == "kube-apiserver":
        from .apiserver import main
        return main(cfg, fl)
    from . import components
    if program == "kubelet":
        return components.kubelet(cfg, fl)
    if program == "kube-proxy":
        return components.proxy(cfg, fl)
    return components.controller(cfg, fl, program)


def _refuse_flags(program: str, v, e: flags.FlagError) -> int:
    """How the real program says no to its command line. Before 1.35: old cobra's two
    lines. From 1.35 (component-base cli.Run): cobra parses the flags and the usage
    text comes first, then `Error: ...`; the kubelet parses its own flags (cobra's
    parsing disabled), so its error is logged: `"command failed" err="failed to parse
    kubelet flag: unknown flag: --x"`. Exit 1 either way."""
    if v[:2] < (1, 35):
        sys.stderr.write(f"Error: {e}\n")
        sys.stderr.write(f"Run '{program} --help' for usage.\n")
    elif program == "kubelet":
        common.command_failed(f"failed to parse kubelet flag: {e}")
    else:
        sys.stderr.write(flags.usage(program, v) + f"\nError: {e}\n")
    return 1


def _go_quote(args: list[str]) -> str:
    return "[" + " ".join('"' + a.replace('"', '\\"') + '"' for a in args) + "]"


def main() -> int:
    name = os.path.basename(sys.argv[0])
    argv = sys.argv[1:]
    if name not in PROGRAMS and argv and argv[0] in PROGRAMS:
        name, argv = argv[0], argv[1:]
    if name not in PROGRAMS:
        sys.stderr.write(f"kubefab stand-in: unknown program {name!r}; one of {', '.join(PROGRAMS)}\n")
        return 2
    try:
        return run(name, argv) or 0
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())

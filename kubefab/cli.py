"""The `kubefab` command: Invoke's Program with kubefab's task tree, reading the same
settings as `fab` does with the repo's fabfile (fabric.yaml files, FABRIC_* variables).

What Invoke's own command line offers for its `c.run` and that kubefab never uses is
left out (`--dry`, `--echo`, `--hide`, `--pty`, `--warn-only`, `--command-timeout`);
`--prompt-for-sudo-password` stays: kubefab's sudo takes it. A mistyped
flag or task is one line naming the closest one, exit 2; a closed pipe (`| head`) ends
quietly."""
from __future__ import annotations

import difflib
import os
import re
import sys

from invoke import Config, Program
from invoke.exceptions import Exit, ParseError

from kubefab.tasks import add_plugins, ns

UNUSED_CORE = {"dry", "echo", "hide", "pty", "warn-only", "command-timeout"}


class KubefabConfig(Config):
    prefix = "fabric"  # ~/.fabric.yaml, /etc/fabric.yaml, ./fabric.yaml, FABRIC_KUBEFAB_PARALLEL=...

    def load_shell_env(self) -> None:
        """FABRIC_* variables, refused in one line when one is not of its setting's kind."""
        try:
            super().load_shell_env()
        except ValueError:
            name = next((n for n in sorted(os.environ) if n.startswith(f"{self.prefix.upper()}_")
                         and not _castable(self, n)), f"a {self.prefix.upper()}_* variable")
            raise Exit(f"error: {name}={os.environ.get(name, '')!r}: not a value of that setting's kind "
                       f"(a number for kubefab.parallel and kubefab.timeout); fix or unset it", code=2) from None


def _castable(config: Config, name: str) -> bool:
    """Whether FABRIC_A_B's value reads as the kind of setting a.b's default."""
    node = config
    for part in name.split("_")[1:]:
        try:
            node = node[part.lower()]
        except (KeyError, TypeError):
            return True  # no such setting: not what failed
    if isinstance(node, bool) or not isinstance(node, (int, float)):
        return True
    try:
        type(node)(os.environ[name])
        return True
    except ValueError:
        return False


class Kubefab(Program):
    def run(self, argv=None, exit: bool = True) -> None:
        words = (sys.argv if argv is None else argv.split() if isinstance(argv, str) else argv)[1:]
        add_plugins(self.namespace, words)  # the tasks of those this command line may name
        super().run(argv, exit)

    def print_version(self) -> None:
        self.version = installed_version()  # asked of the installed package only here: its imports cost every run
        super().print_version()

    def core_args(self):
        kept = [a for a in super().core_args() if a.name not in UNUSED_CORE]
        for a in kept:
            if a.name == "prompt-for-sudo-password":
                a.help = "Ask once for the sudo password of every host (as each task's --ask-sudo-password)."
        return kept

    def update_config(self, merge: bool = True) -> None:
        # A fixed task tree has no project folder of its own: the operator's is the current one.
        self.config.set_project_location(os.getcwd())
        self.config.load_project(merge=False)
        super().update_config(merge)

    def parse_core_args(self) -> None:
        super().parse_core_args()
        for name in UNUSED_CORE:  # Invoke's update_config reads every core flag: absent here, unset
            self.args[name] = _unset(name)

    def parse_core(self, argv):
        with _closest(self):
            super().parse_core(argv)

    def parse_tasks(self):
        with _closest(self):
            super().parse_tasks()

    def parse_cleanup(self):
        with _closest(self):
            super().parse_cleanup()


def _unset(name: str):
    from invoke.parser import Argument
    return Argument(names=(name,), kind=bool, default=False)


class _closest:
    """Invoke's "No idea what '--dryrun' is!" as one line naming the closest flag or task, exit 2."""

    def __init__(self, program: Program):
        self.program = program

    def __enter__(self):
        return self

    def __exit__(self, kind, error, tb):
        if not isinstance(error, ParseError):
            return False
        raise Exit(f"error: {_said(self.program, error)}", code=2) from None


def _said(program: Program, error: ParseError) -> str:
    m = re.fullmatch(r"No idea what '(.*)' is!", str(error))
    if not m:
        return str(error)
    token, context = m[1], getattr(error, "context", None)
    task = getattr(context, "name", None)
    if token.startswith("-"):
        known = list(context.flags) if context is not None else []
        where = f"{task} has no flag {token}" if task else f"no option {token}"
        helper = f"{program.binary} --help {task}" if task else f"{program.binary} --help"
    else:
        known = list((getattr(program, "collection", None) or ns).task_names)
        where, helper = f"no task {token}", f"{program.binary} --list"
    close = difflib.get_close_matches(token, known, n=1, cutoff=0.6)
    return f"{where}; did you mean {close[0]}? ({helper} lists them)" if close else f"{where} ({helper} lists them)"


def installed_version() -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("kubefab")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


program = Kubefab(namespace=ns, name="kubefab", binary="kubefab", config_class=KubefabConfig)


def main() -> None:
    try:
        program.run()
    except BrokenPipeError:  # the reader left (`kubefab --list | head -1`): nothing more to say
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except OSError:
            pass
        sys.exit(141)  # as a shell reports a command ended by SIGPIPE

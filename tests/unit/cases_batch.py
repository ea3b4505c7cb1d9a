"""Cases of batch.sh (kubefab.remote.script.together): several host scripts in one round
trip, each run as itself with its own arguments, a mark after each on stdout, the first
that fails ending the batch; the batch's stdin goes to the part that reads it."""
from kubefab.layout import LAST_RUN, OWED_DIR, UNIT_DIR
from kubefab.remote.script import MARK, HostScript

from cases_install import install, listed
from script_cases import Case, F, Host, U, lines

A = f"{UNIT_DIR}/a.service"
CONF = "/etc/kubernetes/a.conf"
UNIT = Host({A: F("A\n")})


def batch(name: str, parts: list[tuple[str, tuple]], before: Host, **kw) -> Case:
    args = [a for script, pargs in parts for a in (script, str(len(pargs)), HostScript(script, what=script).text, *pargs)]
    return Case("batch", name, tuple(args), before, **kw)


def mark(script: str, code: int = 0) -> str:
    return f"{MARK}{script} {code}\n"


FILE = install("", [(CONF, "a 1\n", 0o644, False, "a.service")])

CASES = [
    batch("each part as itself, in order, with its own arguments; its output, then its mark",
          [("owe", (OWED_DIR, "run 2", "a.service")), ("list", (f"{OWED_DIR}/a.service", "/etc/none"))], UNIT,
          out=mark("owe") + lines(f"file\t{OWED_DIR}/a.service") + mark("list"),
          after=UNIT.but({f"{OWED_DIR}/a.service": F("run 2\n")})),
    batch("the first part that fails ends it with its code: the rest never run",
          [("reload", ("yes", "a.service", "c.service")), ("owe", (OWED_DIR, "run 2", "a.service"))], UNIT,
          exit=1, out=mark("reload", 1), err="Unit file c.service does not exist"),
    batch("the batch's stdin goes to the part that reads it; the parts after it go on",
          [("owe", (OWED_DIR, "run 2", "a.service")), ("install", FILE.args), ("reload", ("", "a.service"))], UNIT,
          stdin=FILE.stdin, out=mark("owe") + mark("install") + mark("reload"),
          after=UNIT.but({f"{OWED_DIR}/a.service": F("run 2\n"), CONF: F("a 1\n"),
                          LAST_RUN: listed("r1", f"created\t{CONF}\t\t\t\t\ta.service")},
                         units={"a.service": U(True)})),
]

"""Cases of install.sh (kubefab.remote.hostfiles.install): files put in place from a tar
stream, the replaced ones' backups shifted and bounded, the run's list, a failed write."""
from kubefab.layout import BACKUP_DIR, LAST_RUN, LOCK_DIR
from kubefab.remote.hostfiles import archive, by_folder

from script_cases import CLOCK, Case, F, Host, lines

A, K = "/etc/kubernetes/a.conf", "/etc/kubernetes/pki/k.key"
B = "/etc/kubernetes/b.conf"
U1, U2, U3 = (f"/etc/systemd/system/u{n}.service" for n in (1, 2, 3))


def install(name: str, files: list[tuple], before: Host = Host(), keep: int = 3, run: str = "r1",
            lock: tuple[str, str] = ("", ""), **kw) -> Case:
    """files: (path, content, mode, secret, restarts[, (owner, group)]), in the order they
    go once install_part has ordered them (by_folder); lock: (LOCK_DIR, the run's holder),
    or none checked."""
    args = [BACKUP_DIR, str(keep), LAST_RUN, run, *lock]
    files = by_folder(files, path=lambda f: f[0])
    for path, _, mode, secret, restarts, *owner in files:
        args += [path, format(mode, "o"), *(owner[0] if owner else ("root", "root")), "secret" if secret else "",
                 restarts]
    return Case("install", name, tuple(args), before, stdin=archive([(f[0], f[1], f[2]) for f in files]), **kw)


def back(path: str, n: int | str = 1) -> str:
    return f"{BACKUP_DIR}{path}.{n}" if n != "" else f"{BACKUP_DIR}{path}"


def listed(run: str, *rows: str) -> F:
    return F(lines(f"run\t{run}", *rows), 0o600)


def leased(holder: str, expires: int) -> dict[str, F]:
    """A lock's files: `holder`'s, its lease ending at `expires`, 60 s long (lease.sh's take)."""
    return {f"{LOCK_DIR}/holder": F(f"{holder}\n"), f"{LOCK_DIR}/expires": F(f"{expires}\n"),
            f"{LOCK_DIR}/lease": F("60\n"), f"{LOCK_DIR}.flock": F("")}


OLD = Host({A: F("a 0\n", 0o640), K: F("k 0\n", 0o640)})

CASES = [
    install("new files land with their mode; listed as made", [(A, "a 1\n", 0o644, False, "kubelet.service"),
                                                              (K, "k 1\n", 0o600, True, "")],
            after=Host({A: F("a 1\n"), K: F("k 1\n", 0o600),
                        LAST_RUN: listed("r1", f"created\t{A}\t\t\t\t\tkubelet.service",
                                         f"created\t{K}\t\t\t\tsecret\t")}),
            modes={"/etc/kubernetes/pki": 0o755}),
    install("a file of another owner's is given to it before it is renamed into place",
            [("/home/nobody/.dockercfg", "token\n", 0o600, True, "", ("nobody", "nogroup"))],
            after=Host({"/home/nobody/.dockercfg": F("token\n", 0o600, "nobody", "nogroup"),
                        LAST_RUN: listed("r1", "created\t/home/nobody/.dockercfg\t\t\t\tsecret\t")})),
    install("a host's files: one rename per folder, whatever the order they come in",
            [(U1, "u1\n", 0o644, False, ""), (A, "a 1\n", 0o644, False, ""), (U2, "u2\n", 0o644, False, ""),
             (B, "b 1\n", 0o600, True, ""), (U3, "u3\n", 0o644, False, "")],
            after=Host({U1: F("u1\n"), U2: F("u2\n"), U3: F("u3\n"), A: F("a 1\n"), B: F("b 1\n", 0o600),
                        LAST_RUN: listed("r1", f"created\t{A}\t\t\t\t\t", f"created\t{B}\t\t\t\tsecret\t",
                                         *(f"created\t{u}\t\t\t\t\t" for u in (U1, U2, U3)))})),
    install("what a killed run left in a staging folder goes with it",
            [(A, "a 1\n", 0o644, False, "")], Host({"/etc/kubernetes/.kubefab-new/b.conf": F("a killed run's\n")}),
            after=Host({A: F("a 1\n"), LAST_RUN: listed("r1", f"created\t{A}\t\t\t\t\t")})),
    install("a replaced file's previous version is backup 1, mode and owner kept; a secret's is root's alone",
            [(A, "a 1\n", 0o644, False, "a.service b.service"), (K, "k 1\n", 0o600, True, "")], OLD,
            after=Host({A: F("a 1\n"), K: F("k 1\n", 0o600), back(A): F("a 0\n", 0o640), back(K): F("k 0\n", 0o600),
                        LAST_RUN: listed("r1", f"replaced\t{A}\t640\troot\troot\t\ta.service b.service",
                                         f"replaced\t{K}\t640\troot\troot\tsecret\t")}),
            modes={BACKUP_DIR: 0o700}),
    install("backups shift up to KEEP; older ones and the unnumbered copy from before go",
            [(A, "a 4\n", 0o644, False, "")],
            Host({A: F("a 3\n"), back(A): F("a 2\n"), back(A, 2): F("a 1\n"), back(A, 3): F("a 0\n"),
                  back(A, ""): F("from before backups were bounded\n"), back(A + ".env"): F("a sibling\n")}),
            after=Host({A: F("a 4\n"), back(A): F("a 3\n"), back(A, 2): F("a 2\n"), back(A, 3): F("a 1\n"),
                        back(A + ".env"): F("a sibling\n"),
                        LAST_RUN: listed("r1", f"replaced\t{A}\t644\troot\troot\t\t")})),
    install("a lowered KEEP prunes the older backups", [(A, "a 4\n", 0o644, False, "")],
            Host({A: F("a 3\n"), back(A): F("a 2\n"), back(A, 2): F("a 1\n"), back(A, 5): F("a 0\n")}), keep=1,
            after=Host({A: F("a 4\n"), back(A): F("a 3\n"),
                        LAST_RUN: listed("r1", f"replaced\t{A}\t644\troot\troot\t\t")})),
    install("a gap in the numbers: a backup that would pass KEEP goes all the same", [(A, "a 2\n", 0o644, False, "")],
            Host({A: F("a 1\n"), back(A): F("a 0\n"), back(A, 3): F("older\n")}),
            after=Host({A: F("a 2\n"), back(A): F("a 1\n"), back(A, 2): F("a 0\n"),
                        LAST_RUN: listed("r1", f"replaced\t{A}\t644\troot\troot\t\t")})),
    install("the same run adds to its list", [(A, "a 1\n", 0o644, False, "")],
            Host({LAST_RUN: listed("r1", "created\t/etc/x.conf\t\t\t\t\t")}),
            after=Host({A: F("a 1\n"),
                        LAST_RUN: listed("r1", "created\t/etc/x.conf\t\t\t\t\t", f"created\t{A}\t\t\t\t\t")})),
    install("a new run starts its list afresh", [(A, "a 1\n", 0o644, False, "")],
            Host({LAST_RUN: listed("r1", "created\t/etc/x.conf\t\t\t\t\t")}), run="r2",
            after=Host({A: F("a 1\n"), LAST_RUN: listed("r2", f"created\t{A}\t\t\t\t\t")})),
    install("a write that fails changes nothing: no file replaced, none listed, no temp file left",
            [("/etc/ok.conf", "ok\n", 0o644, False, ""), (A, "a 1\n", 0o644, False, "")],
            Host({"/etc/kubernetes": F("a file where a folder should be\n"), "/etc/ok.conf": F("ok 0\n")}), exit=2,
            err="/etc/kubernetes/.kubefab-new/a.conf: Cannot open: Not a directory"),
    install("under this run's lock: written, the lock as it was", [(A, "a 1\n", 0o644, False, "")],
            Host({f"{LOCK_DIR}/holder": F("run A\n"), f"{LOCK_DIR}.flock": F("")}), lock=(LOCK_DIR, "run A"),
            after=Host({A: F("a 1\n"), f"{LOCK_DIR}/holder": F("run A\n"), f"{LOCK_DIR}.flock": F(""),
                        LAST_RUN: listed("r1", f"created\t{A}\t\t\t\t\t")})),
    install("another run took the lock: nothing written, its holder said", [(A, "a 1\n", 0o644, False, "")],
            OLD.but({f"{LOCK_DIR}/holder": F("run B\n"), f"{LOCK_DIR}.flock": F("")}), lock=(LOCK_DIR, "run A"),
            exit=4, out=lines("run B"), err="not this run's"),
    install("the lock was removed (unlock --force): nothing written", [(A, "a 1\n", 0o644, False, "")],
            OLD, lock=(LOCK_DIR, "run A"), exit=4, out=lines("nobody: the lock was removed"),
            after=OLD.but({f"{LOCK_DIR}.flock": F("")}, dirs=("/var/lib/kubefab",))),
    install("under this run's lock with its lease's length: written, the lease extended by it",
            [(A, "a 1\n", 0o644, False, "")], Host({**leased("run A", CLOCK + 5)}), lock=(LOCK_DIR, "run A"),
            after=Host({A: F("a 1\n"), **leased("run A", CLOCK + 60),
                        LAST_RUN: listed("r1", f"created\t{A}\t\t\t\t\t")})),
    install("another run's lease is not extended", [(A, "a 1\n", 0o644, False, "")],
            OLD.but(leased("run B", CLOCK + 5)), lock=(LOCK_DIR, "run A"), exit=4, out=lines("run B"),
            err="not this run's"),
]

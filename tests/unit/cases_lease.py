"""Cases of lease.sh (kubefab.remote.lease: take, renew, release, and fab unlock) and
forget.sh (the lock's flock file and the state folder, after a reset)."""
from kubefab.layout import LOCK_DIR, STAGE_DIR, STATE_DIR

from script_cases import CLOCK, Case, F, Host, lines

FLOCK = f"{LOCK_DIR}.flock"  # lease.sh holds flock on it; it stays


def held(holder: str | None, expires: int | str | None, length: int | None = None) -> Host:
    """A host whose lock is `holder`'s (None: no holder file), its lease ending at
    `expires` (None: no lease, an older kubefab's lock), `length` seconds long (its take's
    LEASE, which install.sh extends it by; None: no such file)."""
    files = {FLOCK: F("")}
    if holder is not None:
        files[f"{LOCK_DIR}/holder"] = F(f"{holder}\n")
    if expires is not None:
        files[f"{LOCK_DIR}/expires"] = F(f"{expires}\n")
    if length is not None:
        files[f"{LOCK_DIR}/lease"] = F(f"{length}\n")
    return Host(files, dirs=(LOCK_DIR,))


FREE = Host({FLOCK: F("")})
A, B = held("run A", CLOCK + 60, 60), held("run B", CLOCK + 40)  # A: the lock as this run takes it
EXPIRED, OLD = held("run B", CLOCK - 30), held("old kubefab", None)


def lease(verb: str, name: str, before: Host, *args: str, mine: str = "run A", **kw) -> Case:
    return Case("lease", f"{verb}: {name}", (verb, LOCK_DIR, mine, *args), before, **kw)


def take(name: str, before: Host, stale: str = "", **kw) -> Case:
    return lease("take", name, before, "60", STAGE_DIR, stale, **kw)


def unlock(name: str, before: Host, force: bool = False, **kw) -> Case:
    return lease("release", f"fab unlock{' --force' if force else ''}: {name}", before, "force" if force else "",
                 mine="", **kw)


LEASE = [
    take("a free lock is ours; a killed run's stage and older kubefabs' /tmp folders are cleared",
         Host({f"{STAGE_DIR}/dead0123/0": F("x", 0o600), "/tmp/.kubefab-0123/x": F("y"),
               "/tmp/.kubefab-file": F("not a folder: stays")}),
         after=A.but({"/tmp/.kubefab-file": F("not a folder: stays")}), modes={LOCK_DIR: 0o700}),
    take("another run's live lease is refused, said", B, exit=3, out=lines("40\trun B")),
    take("an expired lease is taken over, said", EXPIRED, out=lines("-30\trun B"), after=A),
    take("an older kubefab's lock (no lease) is refused", OLD, exit=3, out=lines("\told kubefab")),
    take("a lock without its holder file is refused", held(None, CLOCK + 5), exit=3, out=lines("5\t")),
    take("our own lock is taken again, its lease anew", held("run A", CLOCK + 1), after=A),
    take("a live lease whose run is gone (STALE) is taken over, said", B, stale="run B", out=lines("40\trun B"),
         after=A),
    take("a live lease of another run than STALE is refused", B, stale="run C", exit=3, out=lines("40\trun B")),
    lease("renew", "ours: the lease starts again", held("run A", CLOCK + 5, 60), "60", after=A),
    lease("renew", "taken over by another run", B, "60", exit=3, out=lines("40\trun B")),
    lease("renew", "removed", FREE, "60", exit=3, out=lines("\tnobody: the lock was removed")),
    lease("release", "ours goes", A, "", after=FREE),
    lease("release", "another run's stays", B, ""),
    unlock("a live lease stays", B, exit=3, out=lines("held\t40\trun B")),
    unlock("an expired lease goes", EXPIRED, out=lines("removed\t-30\trun B"), after=FREE),
    unlock("a live lease goes", B, force=True, out=lines("removed\t40\trun B"), after=FREE),
    unlock("an older kubefab's lock stays", OLD, exit=3, out=lines("held\t\told kubefab")),
    unlock("an older kubefab's lock goes", OLD, force=True, out=lines("removed\t\told kubefab"), after=FREE),
    unlock("no lock", FREE, out=lines("none\t\t")),
    lease("steal", "an unknown verb", FREE, "", exit=2, err="unknown verb steal"),
]

FORGET = [
    Case("forget", "the flock file and the empty state folder go", (STATE_DIR, LOCK_DIR), FREE,
         after=Host(dirs=("/var/lib",))),
    Case("forget", "what else is in the state folder stays", (STATE_DIR, LOCK_DIR),
         FREE.but({f"{STATE_DIR}/etcd-snapshots/a.db": F("db", 0o600)}),
         after=Host({f"{STATE_DIR}/etcd-snapshots/a.db": F("db", 0o600)})),
    Case("forget", "a lock taken meanwhile keeps both", (STATE_DIR, LOCK_DIR), B),
]

CASES = [*LEASE, *FORGET]

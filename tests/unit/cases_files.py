"""Cases of the scripts that read and write files: read, fetch, put, owe, list,
compare-backups, put-back, swap-etcd-data (install's are in cases_install.py)."""
import base64
import hashlib

from kubefab.layout import BACKUP_DIR, ETCD_SNAPSHOTS, LAST_RUN, OWED_DIR, ROLLED_BACK
from kubefab.profiles.modern.paths import ETCD_DATA, ETCD_DATA_ASIDE, ETCD_DATA_NEW

from script_cases import Case, F, Host, lines, sha

CONF, KEY = "/etc/kubernetes/a.conf", "/etc/kubernetes/pki/k.key"
LONG = "a line of a snapshot, long enough for base64 to wrap it\n" * 3
SNAP = f"{ETCD_SNAPSHOTS}/restore.db"
OLD_DB, NEW_DB = f"{ETCD_DATA}/member/snap/db", f"{ETCD_DATA_NEW.format(stamp='1')}/member/snap/db"
ASIDE = ETCD_DATA_ASIDE.format(stamp="1")


def back(path: str, n: int = 1) -> str:
    return f"{BACKUP_DIR}{path}.{n}"


READ = [
    Case("read", "each file's content or absent; a folder reads as absent", (CONF, "/etc/none", KEY, "/etc/kubernetes"),
         Host({CONF: F("a: 1\n"), KEY: F("", 0o600)}), out="+a: 1\n\0-\0+\0-\0"),
]

FETCH = [
    Case("fetch", "its sha256, then its base64 in lines of 76", (SNAP,), Host({SNAP: F(LONG, 0o600)}),
         out=f"{sha(LONG)}\n{base64.encodebytes(LONG.encode()).decode()}"),
    Case("fetch", "an empty file", (SNAP,), Host({SNAP: F("", 0o600)}), out=f"{sha('')}\n"),
    Case("fetch", "a missing file fails", (SNAP,), exit=1, err="No such file"),
]

PUT = [
    Case("put", "the bytes land root's alone, in a folder it makes 0700", (SNAP, sha("db\n")), stdin=b"db\n",
         after=Host({SNAP: F("db\n", 0o600)}), modes={ETCD_SNAPSHOTS: 0o700}),
    Case("put", "a file there is replaced", (SNAP, sha("new\n")), Host({SNAP: F("old\n", 0o644)}), stdin=b"new\n",
         after=Host({SNAP: F("new\n", 0o600)})),
    Case("put", "a copy whose sum differs leaves only the folder", (SNAP, hashlib.sha256(b"sent").hexdigest()),
         stdin=b"damaged", exit=1, err="sha256", after=Host(dirs=(ETCD_SNAPSHOTS,))),
]

OWE = [
    Case("owe", "a mark per unit, the run that owes it", (OWED_DIR, "run 2", "a.service", "b.service"),
         Host({f"{OWED_DIR}/a.service": F("run 1\n")}),
         after=Host({f"{OWED_DIR}/a.service": F("run 2\n"), f"{OWED_DIR}/b.service": F("run 2\n")})),
    Case("owe", "no unit: only the folder", (OWED_DIR, "run 3"), after=Host(dirs=(OWED_DIR,))),
]

LIST = [
    Case("list", "files, and folders with how many files they hold; absent paths say nothing",
         ("/etc/kubernetes", "/opt/bin/kubelet", "/var/lib/kubelet", "/root/.kube/cache"),
         Host({CONF: F("a\n"), KEY: F("k\n", 0o600), "/opt/bin/kubelet": F("elf", 0o755)}, dirs=("/var/lib/kubelet",)),
         out=lines("folder\t/etc/kubernetes\t2", "file\t/opt/bin/kubelet", "folder\t/var/lib/kubelet\t0")),
    Case("list", "a link is a link, whatever it points to; in a folder it counts", ("/opt/bin/kubectl", "/opt/bin"),
         Host(links={"/opt/bin/kubectl": "/opt/kubernetes/bin/kubectl"}),
         out=lines("link\t/opt/bin/kubectl", "folder\t/opt/bin\t1"), real_only="the fake host has no symlinks"),
]

COMPARE = [
    Case("compare-backups", "each file against its newest backup",
         (BACKUP_DIR, "/etc/same.conf", "/etc/changed.conf", "/etc/new.conf", "/etc/gone.conf"),
         Host({"/etc/same.conf": F("a\n"), back("/etc/same.conf"): F("a\n", 0o600),
               "/etc/changed.conf": F("b 2\n"), back("/etc/changed.conf"): F("b 1\n"),
               back("/etc/changed.conf", 2): F("b 2\n"),
               "/etc/new.conf": F("c\n"), back("/etc/gone.conf"): F("d\n")}),
         out=lines("same\t/etc/same.conf", "differs\t/etc/changed.conf", "nobackup\t/etc/new.conf",
                   "differs\t/etc/gone.conf")),
]

LISTED = F("run\tme pid 1 (run r1)\nreplaced\t/etc/a.conf\t640\troot\troot\t\ta.service\n", 0o600)
BACKED = Host({"/etc/a.conf": F("a 2\n"), back("/etc/a.conf"): F("a 1\n", 0o600),
               KEY: F("k 2\n", 0o600), back(KEY): F("k 1\n", 0o600), LAST_RUN: LISTED})
PUT_BACK = [
    Case("put-back", "each backup in place with the mode and owner it had; the list marked done",
         (BACKUP_DIR, LAST_RUN, ROLLED_BACK, "/etc/a.conf", "640", "root", "root", KEY, "600", "root", "root"), BACKED,
         after=BACKED.but({"/etc/a.conf": F("a 1\n", 0o640), KEY: F("k 1\n", 0o600), LAST_RUN: None,
                           ROLLED_BACK: LISTED})),
    Case("put-back", "a missing backup stops it: what went back stays, the list is not marked",
         (BACKUP_DIR, LAST_RUN, ROLLED_BACK, "/etc/a.conf", "644", "root", "root",
          "/etc/b.conf", "644", "root", "root"),
         BACKED.but({"/etc/b.conf": F("b 2\n")}), exit=1, err=f"{BACKUP_DIR}/etc/b.conf.1",
         after=BACKED.but({"/etc/a.conf": F("a 1\n"), "/etc/b.conf": F("b 2\n")})),
]

SWAP = [
    Case("swap-etcd-data", "the old data aside, the restored data in its place, root's alone",
         (ETCD_DATA, ASIDE, ETCD_DATA_NEW.format(stamp="1")),
         Host({OLD_DB: F("old", 0o600), NEW_DB: F("restored", 0o600)}),
         after=Host({f"{ASIDE}/member/snap/db": F("old", 0o600), OLD_DB: F("restored", 0o600)}),
         modes={ETCD_DATA: 0o700}),
    Case("swap-etcd-data", "no data dir before: the restored one moves in",
         (ETCD_DATA, ASIDE, ETCD_DATA_NEW.format(stamp="1")),
         Host({NEW_DB: F("restored", 0o600)}), after=Host({OLD_DB: F("restored", 0o600)})),
    Case("swap-etcd-data", "an earlier aside is never overwritten", (ETCD_DATA, ASIDE, ETCD_DATA_NEW.format(stamp="1")),
         Host({OLD_DB: F("old"), NEW_DB: F("restored"), f"{ASIDE}/member/snap/db": F("older")}),
         exit=1, err="exists already"),
    Case("swap-etcd-data", "no restored data: refused, the old data stays in place",
         (ETCD_DATA, ASIDE, ETCD_DATA_NEW.format(stamp="1")), Host({OLD_DB: F("old", 0o600)}), exit=1,
         err="no restored data dir"),  # it moved DATA aside first: etcd then started on no data
]

CASES = [*READ, *FETCH, *PUT, *OWE, *LIST, *COMPARE, *PUT_BACK, *SWAP]

"""Cases of the scripts that ask systemd and the apiserver: probe.sh (kubefab.facts),
reload.sh (converge's enable and daemon-reload), activate.sh (a unit's start and its
owed mark), remove.sh (fab reset, nodes.remove)."""
from kubefab import facts, health
from kubefab.layout import APISERVER, CLUSTER_FILE, KEEP_DIRS, LOCK_DIR, OWED_DIR, STAGE_DIR, STATE_DIR, UNIT_DIR

from script_cases import Case, F, Host, U, b64, lines, sha

STAMP = "/opt/kubernetes/.kubefab-release"
PKI = "/etc/kubernetes/pki"
TLS = {f"{PKI}/ca.crt": F("ca\n"), f"{PKI}/admin.crt": F("crt\n"), f"{PKI}/admin.key": F("key\n", 0o600)}
HEALTHZ = health.curl("https://127.0.0.1:6443/healthz", "", f"{PKI}/ca.crt", f"{PKI}/admin.crt", f"{PKI}/admin.key")
LOOPBACK = health.curl("http://127.0.0.1:8080/healthz", "")
REFUSED = "curl: (7) Failed to connect to 127.0.0.1 port {}: Connection refused\n"
NODES = b64('{"kind": "NodeList", "items": []}')
NO_OBJECTS = b64('{"kind": "List", "items": []}')
DEPLOYMENTS = "https://127.0.0.1:6443/apis/apps/v1/deployments?labelSelector=kubefab.io/addon"
SERVICES = "https://127.0.0.1:6443/api/v1/services?labelSelector=kubefab.io/addon"
NODE_LIST = "https://127.0.0.1:6443/api/v1/nodes"
LISTS = tuple(health.curl(url, "", f"{PKI}/ca.crt", f"{PKI}/admin.crt", f"{PKI}/admin.key")
              for url in (NODE_LIST, DEPLOYMENTS, SERVICES))
NODE_LISTS = LISTS[:1]  # what every master's probe asks: the nodes
NO_CA = b64(f"curl: (58) could not load cacert {PKI}/ca.crt\n")
A_SUM, EMPTY_SUM, RUN_1, STAMPED, HOLDER = sha("a\n"), sha(""), b64("run 1\n"), b64("v1.0.1 url sum\n"), b64("run A\n")


def probe(name: str, before: Host, files=(), units=(), master: bool = False, lists=NODE_LISTS, **kw) -> Case:
    api = dict(healthz=HEALTHZ.argv, loopback=LOOPBACK.argv, lists=lists)
    args = facts.probe_args(STAMP, LOCK_DIR, files, units, **(api if master else {}), owed_dir=OWED_DIR,
                            stage_dir=STAGE_DIR, cluster_file=CLUSTER_FILE)
    return Case("probe", name, tuple(args), before, **kw)


def unit(name: str, state: str, enabled: str, reload: str, load: str = "loaded") -> list[str]:
    """systemctl show's lines for a unit, in systemd's order (its bus vtable's)."""
    return [f"unit\tId={name}", f"unit\tLoadState={load}", f"unit\tActiveState={state}",
            f"unit\tUnitFileState={enabled}", f"unit\tNeedDaemonReload={reload}"]


# a check that says "met" when the one it names started too within 2 s (its mark, in TMPDIR),
# "alone" when not: asked one after the other, the first one never meets the next; as the
# lists' curl, its answer goes to the file after -o
MEET = """#!/bin/sh
touch "$TMPDIR/asked-$1"; i=0
while [ ! -e "$TMPDIR/asked-$2" ] && [ $i -lt 40 ]; do sleep 0.05; i=$((i + 1)); done
said=alone; [ -e "$TMPDIR/asked-$2" ] && said=met
if [ "${4-}" = -o ]; then printf %s "$said" > "$5"; else printf %s "$said"; fi
"""
MASTER = Host(TLS, units={APISERVER: U(True, "active")})
PROBE = [
    probe("files: the sum and stat of those there", Host({"/etc/a.conf": F("a\n", 0o640), "/etc/b.conf": F("", 0o600)}),
          files=("/etc/a.conf", "/etc/none", "/etc/b.conf"),
          out=lines(f"sum\t/etc/a.conf\t{A_SUM}", f"sum\t/etc/b.conf\t{EMPTY_SUM}",
                    "stat /etc/a.conf 640 root root", "stat /etc/b.conf 600 root root")),
    probe("units: enabled, active, loaded from an older file, never seen; a blank line between",
          Host({f"{UNIT_DIR}/a.service": F("A\n"), f"{UNIT_DIR}/b.service": F("B 2\n")},
               units={"a.service": U(True, "active", "A\n"), "b.service": U(False, "failed", "B 1\n")}),
          units=("a.service", "b.service", "c.target"),
          out=lines(*unit("a.service", "active", "enabled", "no"), "unit\t",
                    *unit("b.service", "failed", "disabled", "yes"), "unit\t",
                    *unit("c.target", "inactive", "", "no", "not-found"))),
    probe("owed marks, never a half-written dot file; staged leftovers, folders and dot files too",
          Host({f"{OWED_DIR}/kubelet.service": F("run 1\n"), f"{OWED_DIR}/.proxy.service.new": F("half"),
                f"{OWED_DIR}/folder/x": F(""), f"{STAGE_DIR}/up-1/0": F("x", 0o600),
                f"{STAGE_DIR}/.hidden": F("")}, dirs=(f"{STAGE_DIR}/empty",)),
          out=lines(f"owed\tkubelet.service\t{RUN_1}", "stage\tempty", "stage\tup-1", "stage\t.hidden")),
    probe("the release stamp and the lock's holder", Host({STAMP: F("v1.0.1 url sum\n"),
                                                          f"{LOCK_DIR}/holder": F("run A\n")}),
          out=lines(f"stamp\t{STAMPED}", f"lock\t{HOLDER}")),
    probe("the cluster's record, after the lock's holder", Host({CLUSTER_FILE: F("ca\tsha256:00\n", 0o600),
                                                                f"{LOCK_DIR}/holder": F("run A\n")}),
          out=lines(f"lock\t{HOLDER}", f"cluster\t{b64('ca' + chr(9) + 'sha256:00' + chr(10))}")),
    probe("a fresh host: nothing to say", Host(dirs=(STATE_DIR,)), files=("/etc/a.conf",)),
    probe("the master: /healthz on both ports and the nodes", MASTER, master=True,
          out=lines(f"healthz\t{b64('ok')}", f"loopback\t{b64('ok')}", f"list\t{NODE_LIST}\t{NODES}")),
    probe("the master (modern): the add-ons' objects listed, a kind a curl, beside the nodes", MASTER, master=True,
          lists=LISTS, out=lines(f"healthz\t{b64('ok')}", f"loopback\t{b64('ok')}", f"list\t{NODE_LIST}\t{NODES}",
                                 f"list\t{DEPLOYMENTS}\t{NO_OBJECTS}", f"list\t{SERVICES}\t{NO_OBJECTS}")),
    probe("the master (modern) without its admin key: no list, the nodes' neither", MASTER.but({f"{PKI}/admin.key": None}), master=True,
          lists=LISTS, out=lines(f"healthz\t{b64('curl: (58) could not load key ' + PKI + '/admin.key' + chr(10))}",
                                 f"loopback\t{b64('ok')}")),
    probe("the master (modern), its apiserver down: neither nodes nor add-ons",
          MASTER.but(units={APISERVER: U(True, "failed")}), master=True, lists=LISTS,
          out=lines(f"healthz\t{b64(REFUSED.format(6443))}", f"loopback\t{b64(REFUSED.format(8080))}")),
    probe("the master, its apiserver down: curl's why, no nodes", MASTER.but(units={APISERVER: U(True, "failed")}),
          master=True, out=lines(f"healthz\t{b64(REFUSED.format(6443))}", f"loopback\t{b64(REFUSED.format(8080))}")),
    probe("the master without its CA: curl says which file, and lists nothing", MASTER.but({f"{PKI}/ca.crt": None}),
          master=True, out=lines(f"healthz\t{NO_CA}", f"loopback\t{b64('ok')}")),
    Case("probe", "each check's argv arrives word for word, whatever its characters",
         tuple(facts.probe_args(STAMP, LOCK_DIR, [], [], healthz=["/opt/check", "a b", "*", "$x"],
                                loopback=["/opt/check", "lo"])),
         Host({"/opt/check": F("#!/bin/sh\nprintf '%s|' \"$@\"\n", 0o755)}),
         out=lines(f"healthz\t{b64('a b|*|$x|')}", f"loopback\t{b64('lo|')}"),
         real_only="the fake's probe runs kubefab's curl alone"),
    Case("probe", "the master's checks and lists are asked at once, while the files are looked at",
         tuple(facts.probe_args(STAMP, LOCK_DIR, ["/etc/a.conf"], [], healthz=["/opt/meet", "healthz", "loopback"],
                                loopback=["/opt/meet", "loopback", "lists"],
                                lists=[health.Check(NODE_LIST, ("/opt/meet", "lists", "healthz", NODE_LIST), "")])),
         Host({"/opt/meet": F(MEET, 0o755), "/etc/a.conf": F("a\n")}),
         out=lines(f"sum\t/etc/a.conf\t{A_SUM}", "stat /etc/a.conf 644 root root", f"healthz\t{b64('met')}",
                   f"loopback\t{b64('met')}", f"list\t{NODE_LIST}\t{b64('met')}"),
         real_only="the fake's probe runs kubefab's curl alone"),
]

A, B = f"{UNIT_DIR}/a.service", f"{UNIT_DIR}/b.service"
UNITS = Host({A: F("A\n"), B: F("B 2\n")}, units={"b.service": U(True, "active", "B 1\n")})
RELOAD = [
    Case("reload", "units enabled, then one reload, asked for", ("yes", "a.service", "b.service"), UNITS,
         after=UNITS.but(units={"a.service": U(True, "inactive", "A\n"), "b.service": U(True, "active", "B 2\n")})),
    Case("reload", "no unit: the reload alone", ("yes",), UNITS,
         after=UNITS.but(units={"b.service": U(True, "active", "B 2\n")})),
    Case("reload", "new units enabled, none loaded from an older file: no reload", ("", "a.service"), UNITS,
         after=UNITS.but(units={"a.service": U(True)})),
    Case("reload", "not asked, but systemd says a unit it enabled needs one: reloaded", ("", "b.service"), UNITS,
         after=UNITS.but(units={"b.service": U(True, "active", "B 2\n")})),
    Case("reload", "a unit without its file: nothing enabled, no reload", ("yes", "a.service", "c.service"), UNITS,
         exit=1, err="Unit file c.service does not exist"),
]

MARKS = Host({A: F("A\n"), B: F("B 2\n"), f"{OWED_DIR}/a.service": F("run 1\n"),
              f"{OWED_DIR}/b.service": F("run 1\n")}, units={"b.service": U(True, "active", "B 1\n")})
LOCKED = MARKS.but({f"{LOCK_DIR}/holder": F("run A\n"), f"{LOCK_DIR}.flock": F("")})
ACTIVATE = [
    Case("activate", "started, then the marks named removed, no other",
         ("start", OWED_DIR, "a.service", "", "", "a.service"),
         MARKS, after=MARKS.but({f"{OWED_DIR}/a.service": None}, units={"a.service": U(False, "active", "A\n")})),
    Case("activate", "a restart runs the unit again", ("restart", OWED_DIR, "", "", "", "b.service"), MARKS),
    Case("activate", "a unit that cannot start keeps its mark: systemd's own words",
         ("start", OWED_DIR, "c.service", "", "", "c.service"), MARKS.but({f"{OWED_DIR}/c.service": F("run 1\n")}),
         exit=5, err="Unit c.service not found"),
    Case("activate", "under this run's lock: started, its mark removed",
         ("start", OWED_DIR, "a.service", LOCK_DIR, "run A", "a.service"), LOCKED,
         after=LOCKED.but({f"{OWED_DIR}/a.service": None}, units={"a.service": U(False, "active", "A\n")})),
    Case("activate", "another run took the lock: nothing started, the marks kept, its holder said",
         ("start", OWED_DIR, "a.service", LOCK_DIR, "run A", "a.service"),
         LOCKED.but({f"{LOCK_DIR}/holder": F("run B\n")}), exit=4, out=lines("run B"), err="not this run's"),
    Case("activate", "the lock was removed (unlock --force): nothing started, the marks kept",
         ("start", OWED_DIR, "a.service", LOCK_DIR, "run A", "a.service"), MARKS, exit=4,
         out=lines("nobody: the lock was removed"), err="not this run's"),
]

KEEP = "\n".join((*KEEP_DIRS, "/home/core"))
KUBELET, TARGET = "kubernetes.kubelet.service", "kubernetes.node.target"
NODE = Host({"/etc/hostname": F("node\n"), "/etc/kubernetes/a.conf": F("a\n"), f"{PKI}/k.key": F("k\n", 0o600),
             f"{UNIT_DIR}/{KUBELET}": F("K\n"), "/home/core/.dockercfg": F("{}\n", 0o600),
             "/opt/bin/kubelet": F("elf", 0o755), f"{STATE_DIR}/backup/etc/kubernetes/a.conf.1": F("a 0\n")},
            dirs=("/var/lib/kubelet",), units={KUBELET: U(True, "active", "K\n")})
PATHS = ("/etc/kubernetes", f"{UNIT_DIR}/{KUBELET}", "/home/core/.dockercfg", "/opt/bin/kubelet",
         f"{STATE_DIR}/backup", "/root/.kube/cache")


def remove(name: str, before: Host, **kw) -> Case:
    return Case("remove", name, (KEEP, "/var/lib/kubelet", f"{TARGET}\n{KUBELET}", *PATHS), before, **kw)


REMOVE = [
    remove("units stopped and disabled, paths removed whole, folders left empty removed up to the keep list", NODE,
           out=lines(*(f"removed\t{p}" for p in PATHS[:-1]), "removed\t/opt/bin/", f"removed\t{STATE_DIR}/",
                     "removed\t/var/lib/kubelet/"),
           after=Host({"/etc/hostname": F("node\n")}, dirs=(UNIT_DIR, "/home/core", "/opt", "/var/lib"))),
    remove("a folder that holds something else stays, and so does what holds it",
           NODE.but({"/opt/bin/other": F("x", 0o755), "/var/lib/kubelet/pods/p": F("")}),
           out=lines(*(f"removed\t{p}" for p in PATHS[:-1]), f"removed\t{STATE_DIR}/"),
           after=Host({"/etc/hostname": F("node\n"), "/opt/bin/other": F("x", 0o755), "/var/lib/kubelet/pods/p": F("")},
                      dirs=(UNIT_DIR, "/home/core"))),
    remove("a read-only file system: the units stop but stay enabled, every path stays, said",
           Host(NODE.files, NODE.dirs, NODE.units, faults=frozenset({"read-only"})), exit=1,
           out=lines(*(f"failed\t{p}" for p in PATHS[:-1])),
           after=Host(NODE.files, NODE.dirs, {KUBELET: U(True, "inactive", "K\n")})),
    remove("a link goes, not what it points to",
           NODE.but({"/opt/kubernetes/bin/kubelet": F("elf", 0o755), "/opt/bin/kubelet": None},
                    links={"/opt/bin/kubelet": "/opt/kubernetes/bin/kubelet"}),
           out=lines(*(f"removed\t{p}" for p in PATHS[:-1]), "removed\t/opt/bin/", f"removed\t{STATE_DIR}/",
                     "removed\t/var/lib/kubelet/"),
           after=Host({"/etc/hostname": F("node\n"), "/opt/kubernetes/bin/kubelet": F("elf", 0o755)},
                      dirs=(UNIT_DIR, "/home/core", "/var/lib")), real_only="the fake host has no symlinks"),
]

# kubectl for replace-secrets.sh: the apiserver answers while its unit is active; `get`
# prints the host's /etc/secrets.json (none: no Secrets), `replace` keeps what it read
SECRETS_KUBECTL = F("""#!/bin/sh
[ "$(cat "$HOST_STATE/units/kubernetes.apiserver.service/active" 2>/dev/null)" = active ] ||
  { echo "The connection to the server 127.0.0.1:8080 was refused" >&2; exit 1; }
shift 2
case "$*" in
"get secrets --all-namespaces -o json")
  cat "$HOST_ROOT/etc/secrets.json" 2>/dev/null || echo '{"apiVersion": "v1", "kind": "List", "items": []}' ;;
"replace --validate=false -f -") cat > "$HOST_ROOT/etc/replaced.json" && echo "secret/s1 replaced" ;;
*) echo "unknown: $*" >&2; exit 1 ;;
esac
""", 0o755)
KUBECTL = "/opt/bin/kubectl"
KUBECTL_ARGV = (KUBECTL, "-s", "http://127.0.0.1:8080")
SECRETS = '{"apiVersion": "v1", "kind": "List", "items": [{"metadata": {"name": "s1"}}]}\n'
API_UP = Host({KUBECTL: SECRETS_KUBECTL}, units={APISERVER: U(True, "active")})
REPLACE = [
    Case("replace-secrets", "no Secrets: nothing to write back", KUBECTL_ARGV, API_UP, out=lines("no Secrets")),
    Case("replace-secrets", "the apiserver down: kubectl's words, exit 1", KUBECTL_ARGV,
         API_UP.but(units={APISERVER: U(True, "failed")}), exit=1, err="The connection to the server"),
    Case("replace-secrets", "every Secret got is written back as it came, on the host",
         KUBECTL_ARGV, API_UP.but({"/etc/secrets.json": F(SECRETS)}), out=lines("secret/s1 replaced"),
         after=API_UP.but({"/etc/secrets.json": F(SECRETS), "/etc/replaced.json": F(SECRETS)}),
         real_only="the fake's kubectl is its apiserver's, whose Secrets are not a file"),
]

CASES = [*PROBE, *RELOAD, *ACTIVATE, *REMOVE, *REPLACE]

# package.sh: a node's load balancer program, there or installed (apt-get's stub puts it)
HAPROXY = "/usr/sbin/haproxy"
BINARY = F("#!/bin/sh\n", 0o755)
PACKAGE = [
    Case("package", "there: present", (HAPROXY, "haproxy"), Host({HAPROXY: BINARY}), out="present\n"),
    Case("package", "missing, asked only", (HAPROXY, "haproxy"), out="missing\n"),
    Case("package", "missing, installed", (HAPROXY, "haproxy", "install"), out="installed\n",
         after=Host({HAPROXY: BINARY})),
    Case("package", "there: not installed again", (HAPROXY, "haproxy", "install"), Host({HAPROXY: BINARY}),
         out="present\n"),
    Case("package", "the package manager fails", (HAPROXY, "haproxy", "install"),
         Host(faults=frozenset({"no-package"})), exit=1, err="apt-get install haproxy failed"),
    Case("package", "not executable: missing", (HAPROXY, "haproxy"), Host({HAPROXY: F("x\n")}), out="missing\n"),
]
CASES = [*CASES, *PACKAGE]

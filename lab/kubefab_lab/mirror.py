"""A modern release (v1.35+) as a mirror the lab serves, laid out as kubefab.versions
expects one (`<mirror>/kubernetes/v1.37.1/bin/linux/amd64/kubelet`,
`<mirror>/<component>/v<version>/<release file>`), with the sha256 of every file, and
beside each the sum file its release publishes (kubelet.sha256, etcd's SHA256SUMS, ...;
kubefab.versions.COMPONENTS names them), so a lab inventory without sums verifies too.

What is real and what is a stand-in:
- kube-apiserver, -controller-manager, -scheduler, kubelet, kube-proxy: the stand-in
  zipapp of that version (kubefab_lab.standin);
- kubectl: the real one of that minor (kubefab_lab.kubectls; 1.38 takes 1.37's);
- etcd, etcdctl: the machine's real Debian etcd (3.4), packed as the etcd release of
  the minor's version: its flags are the ones kubefab's unit uses; etcdutl (3.5+; 3.4
  has none): a script that hands its offline snapshot commands to that etcdctl, which
  takes the same flags in 3.4;
- containerd: a stand-in (standin/containerd.py) that reads config.toml as that
  containerd major does and listens on its socket (Debian's containerd is 1.6, which
  cannot read the version 3 file kubelet 1.36+ needs);
- containerd-shim-runc-v2, ctr, runc and the CNI plugins: trivial scripts that say what
  they are; nothing in the lab runs a container.
Tarballs are reproducible (fixed mtimes and owners), so the sums stay the same from
one `lab.up` to the next.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
from pathlib import Path

from kubefab import versions

from . import kubectls
from .release import STANDIN_DIR, _gz_tar, _tarinfo, pack_zipapp, standin_zipapp
from .state import LabError

ARCH = "amd64"
K8S_BINARIES = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "kube-proxy")
ETCD_BINARIES = (Path("/usr/bin/etcd"), Path("/usr/bin/etcdctl"))


def stub(name: str, version: str) -> bytes:
    """A program that only says what it is (runc, the shim, ctr, CNI plugins)."""
    if name in ("bridge", "host-local", "loopback", "portmap"):  # CNI: VERSION answers JSON
        body = ('[ "${CNI_COMMAND:-}" = VERSION ] && { echo \'{"cniVersion":"1.1.0","supportedVersions":'
                '["0.4.0","1.0.0","1.1.0"]}\'; exit 0; }\n')
    else:
        body = ""
    return (f"#!/bin/sh\n# kubefab lab stand-in for {name} {version}: nothing in the lab runs containers\n"
            f"{body}echo '{name} version {version} (kubefab lab stand-in)'\n").encode()


ETCDUTL = b"""#!/bin/sh
# kubefab lab stand-in for etcdutl: Debian's etcd 3.4 has none; its etcdctl runs the
# offline snapshot commands (status, restore) with the same flags etcdutl takes.
here=$(dirname "$0")
case "${1:-}" in
  version) echo "etcdutl version: $("$here/etcdctl" version | sed -n 's/^etcdctl version: //p')"
           echo "API version: 3.4" ;;
  snapshot) ETCDCTL_API=3 exec "$here/etcdctl" "$@" ;;
  *) echo "Error: unknown command \"${1:-}\" for \"etcdutl\"" >&2; exit 1 ;;
esac
"""


def containerd_zipapp(version: str) -> bytes:
    """standin/containerd.py as a program of its own, its version baked in."""
    return pack_zipapp([("__main__.py", b"import sys\nfrom standin_containerd import main\nsys.exit(main())\n"),
                        ("standin_containerd.py", (STANDIN_DIR / "containerd.py").read_bytes()),
                        ("containerd.json", json.dumps({"version": version}).encode())])


def tarball(members: list[tuple[str, bytes | Path]]) -> bytes:
    out = io.BytesIO()
    gz, tar = _gz_tar(out, 1)
    with gz, tar:
        for name, data in members:
            if isinstance(data, Path):
                with open(data, "rb") as f:
                    tar.addfile(_tarinfo(name, os.fstat(f.fileno()).st_size), f)
            else:
                tar.addfile(_tarinfo(name, len(data)), io.BytesIO(data))
    return out.getvalue()


def contents(component: str, version: str, k8s_version: str):
    """The file a component's download is: bytes, or a Path to link or copy."""
    if component in K8S_BINARIES:
        return standin_zipapp(k8s_version)
    if component == "kubectl":
        minor = ".".join(k8s_version.lstrip("v").split(".")[:2])
        return kubectls.ensure(minor)
    if component == "etcd":
        missing = [str(p) for p in ETCD_BINARIES if not p.is_file()]
        if missing:
            raise LabError(f"the lab serves Debian's etcd as the etcd release: {', '.join(missing)} missing "
                           "(apt-get install etcd-server etcd-client)")
        top = f"etcd-v{version}-linux-{ARCH}"
        return tarball([*((f"{top}/{p.name}", p) for p in ETCD_BINARIES), (f"{top}/etcdutl", ETCDUTL)])
    if component == "containerd":
        return tarball([("bin/containerd", containerd_zipapp(version)),
                        ("bin/containerd-shim-runc-v2", stub("containerd-shim-runc-v2", version)),
                        ("bin/ctr", stub("ctr", version))])
    if component == "runc":
        return stub("runc", version)
    if component == "cni-plugins":
        return tarball([(f"./{p}", stub(p, version)) for p in ("bridge", "host-local", "loopback", "portmap")])
    raise LabError(f"the lab has no {component} to serve")


def is_modern(k8s_version: str) -> bool:
    parsed = versions.parse(k8s_version)
    return bool(parsed) and versions.profile(parsed) == versions.MODERN


def component_versions(k8s_version: str) -> dict[str, str]:
    minor = versions.parse(k8s_version)[:2]
    out = {name: k8s_version.lstrip("v") for name in (*K8S_BINARIES, "kubectl")}
    out.update({name: versions.default(minor, name) for name in ("etcd", "containerd", "runc", "cni-plugins")})
    return out


# The releases a modern lab's mirror serves, besides the one it was asked for: one per
# supported minor, the patches the lab's modern tests deploy. An operator can change
# kubernetes.version in build/lab/hosts.yaml to any of them and run `kubefab upgrade`.
RELEASES = ("v1.35.9", "v1.36.4", "v1.37.1", "v1.38.0")


def build(root: Path, k8s_version: str) -> dict[str, str]:
    """Write the mirror tree for `k8s_version` under root, each download with its
    release's sum file: {component: sha256}."""
    sums, sum_files = {}, {}
    for component, version in component_versions(k8s_version).items():
        rel = versions.url(component, version, ARCH, "m")[2:]
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        _write(target, contents(component, version, k8s_version))
        sums[component] = _sha256(target)
        sum_file = root / versions.sums_url(component, version, ARCH, "m")[2:]
        if versions.COMPONENTS[component].sums_format == versions.BARE:
            sum_files[sum_file] = sums[component]  # as dl.k8s.io: the digest alone, no newline
        else:  # etcd's SHA256SUMS and runc's runc.sha256sum list every asset of a release
            sum_files[sum_file] = sum_files.get(sum_file, "") + f"{sums[component]}  {target.name}\n"
    for path, text in sum_files.items():
        _write(path, text.encode())
    return sums



def _write(target: Path, data: bytes | Path) -> None:
    """Put a file in place whole, world-readable (the server may be serving the old one)."""
    staged = target.with_name(f".{target.name}.tmp")
    staged.unlink(missing_ok=True)
    if isinstance(data, Path):  # a copy: a hard link would share the chmod below
        shutil.copyfile(data, staged)
    else:
        staged.write_bytes(data)
    staged.chmod(0o644)
    staged.replace(target)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()

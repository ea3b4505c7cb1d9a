"""The one table of what kubefab deploys: supported releases, the component versions
each Kubernetes minor comes with, where each download lives, and the sha256 sums
pinned for them. Pure data and lookups; no I/O.

Two profiles: "legacy" (v1.0 to v1.19, the original's insecure port; rendered by
kubefab.render as before) and "modern" (the minors in MINORS; kubefab.profiles.modern.render).
Sums are pinned only where a published source was read, named beside each one. For
every other artifact the inventory may give the sum (kubernetes.sha256); without one,
the download takes it from the sum file the release publishes beside the artifact
(`sums` below), unless the inventory requires pins (kubernetes.require_pinned_sums).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

LEGACY, MODERN = "legacy", "modern"
LEGACY_RANGE = ((1, 0, 0), (1, 20, 0))  # [from, to)
ARCHES = ("amd64", "arm64")


@dataclass(frozen=True)
class Minor:
    """What a Kubernetes minor runs with by default (MODERN.md §1, §4, §7)."""
    etcd: str
    containerd: str
    runc: str = "1.4.3"
    cni_plugins: str = "1.9.1"


# etcd: kubespray pairs 1.35/1.36 with 3.6.x; Kubernetes 1.37 moved to etcd 3.7
# (k/k CHANGELOG-1.37). containerd 2.3 supports kubelet 1.36 and later (containerd
# RELEASES.md); 2.x is required from kubelet 1.36 on.
MINORS = {
    (1, 35): Minor(etcd="3.6.14", containerd="2.3.4"),
    (1, 36): Minor(etcd="3.6.14", containerd="2.3.4"),
    (1, 37): Minor(etcd="3.7.1", containerd="2.3.4"),
    (1, 38): Minor(etcd="3.7.1", containerd="2.3.4"),
}
STARTER = "v1.38.0"  # kubefab init's release: the newest supported minor's newest patch (MODERN.md §1)
CONTAINERD_2_FROM = (1, 36)
PAUSE_IMAGE = "registry.k8s.io/pause:3.10.2"  # containerd's sandbox image (MODERN.md §4)  # kubelet minor from which containerd 1.x is refused


BARE, LISTED = "bare", "listed"  # a sum file's format: the digest alone; "<digest>  <file>" lines


@dataclass(frozen=True)
class Component:
    """One download: `file` is its name, `path` where it lives below a base URL (the
    upstream one, or `<mirror>/<name>`), `members` what to take out of an archive
    (None: the file is the binary itself), `sums` the sum file the release publishes
    in the same directory, in `sums_format`."""
    name: str
    file: str
    path: str
    upstream: str
    sums: str
    members: tuple[str, ...] | None = None
    mirror_dir: str = ""  # below a mirror; default: the component's name
    sums_format: str = LISTED


_K8S = "https://dl.k8s.io/release"
_GH = "https://github.com"
COMPONENTS = {
    # dl.k8s.io: kubelet.sha256 beside kubelet holds the bare digest (kubeadm's install docs)
    **{b: Component(b, b, "v{version}/bin/linux/{arch}/{file}", _K8S, "{file}.sha256",
                    mirror_dir="kubernetes", sums_format=BARE)
       for b in ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-proxy",
                 "kubelet", "kubectl")},
    "etcd": Component("etcd", "etcd-v{version}-linux-{arch}.tar.gz", "v{version}/{file}",
                      f"{_GH}/etcd-io/etcd/releases/download", "SHA256SUMS",
                      ("etcd", "etcdctl", "etcdutl")),  # etcdutl: snapshot status/restore from 3.5
    "containerd": Component("containerd", "containerd-{version}-linux-{arch}.tar.gz", "v{version}/{file}",
                            f"{_GH}/containerd/containerd/releases/download", "{file}.sha256sum",
                            ("containerd", "containerd-shim-runc-v2", "ctr")),
    "runc": Component("runc", "runc.{arch}", "v{version}/{file}", f"{_GH}/opencontainers/runc/releases/download",
                      "runc.sha256sum"),
    "cni-plugins": Component("cni-plugins", "cni-plugins-linux-{arch}-v{version}.tgz", "v{version}/{file}",
                             f"{_GH}/containernetworking/plugins/releases/download", "{file}.sha256",
                             ("bridge", "host-local", "loopback", "portmap")),
}

# (component, version, arch) -> sha256. Source of every entry:
# kubernetes-sigs/kubespray roles/kubespray_defaults/vars/main/checksums.yml at
# 005bdce7f1867958838a2d0bb4f7e67893d98f64 (kubelet_checksums, kubectl_checksums),
# which its updater fills from https://dl.k8s.io/release/v<v>/bin/linux/<arch>/<b>.sha256.
PINNED = {
    ("kubelet", "1.35.0", "amd64"): "2f4ed7778681649b81244426c29c5d98df60ccabf83d561d69e61c1cbb943ddf",
    ("kubelet", "1.35.0", "arm64"): "aa658d077348b43d238f50966a583f4244b2a7d45590c77b3b165b7d44983ab8",
    ("kubelet", "1.35.1", "amd64"): "e7343310e03ff0d424df4397bdfa4468947d6d1f0f93dac586c1e8d6e4086d5d",
    ("kubelet", "1.35.1", "arm64"): "73475c6db8fd8a9780b1b378fa2f917875e6146166c24603c1abc6eafd4493a8",
    ("kubectl", "1.35.0", "amd64"): "a2e984a18a0c063279d692533031c1eff93a262afcc0afdc517375432d060989",
    ("kubectl", "1.35.0", "arm64"): "58f82f9fe796c375c5c4b8439850b0f3f4d401a52434052f2df46035a8789e25",
    ("kubectl", "1.35.1", "amd64"): "36e2f4ac66259232341dd7866952d64a958846470f6a9a6a813b9117bd965207",
    ("kubectl", "1.35.1", "arm64"): "706256e21a4e9192ee62d1a007ac0bfcff2b0b26e92cc7baad487a6a5d08ff82",
}


def parse(version: str) -> tuple[int, int, int] | None:
    """(major, minor, patch) of 'v1.37.1' or 'v1.38.0-rc.1'; None if it is no such string."""
    m = re.fullmatch(r"v(\d+)\.(\d+)\.(\d+)(-[0-9A-Za-z.]+)?", version)
    return (int(m[1]), int(m[2]), int(m[3])) if m else None


def profile(version: tuple[int, int, int]) -> str | None:
    """LEGACY, MODERN, or None when kubefab does not support the release."""
    if LEGACY_RANGE[0] <= version < LEGACY_RANGE[1]:
        return LEGACY
    return MODERN if version[:2] in MINORS else None


def supported() -> str:
    """The supported releases, for one-line messages."""
    modern = ", ".join(f"v{a}.{b}.x" for a, b in MINORS)
    return (f"kubefab supports v1.0.0 up to v1.19.x (the original's insecure port; insecure serving "
            f"was removed in 1.20) and {modern} (the modern profile)")


def default(minor: tuple[int, int], component: str) -> str:
    """The version of `component` (etcd, containerd, runc, cni-plugins) for a minor."""
    return getattr(MINORS[minor], component.replace("-", "_"))


def pinned(component: str, version: str, arch: str) -> str | None:
    return PINNED.get((component, version, arch))


def url(component: str, version: str, arch: str, mirror: str | None = None) -> str:
    """Where to fetch it: the upstream URL, or the same path below a mirror: Kubernetes
    binaries as dl.k8s.io/release lays them out, under `<mirror>/kubernetes/`; each
    other component as its GitHub release, under `<mirror>/<component>/`."""
    c = COMPONENTS[component]
    path = c.path.format(version=version, arch=arch, file=file_name(component, version, arch))
    base = f"{mirror.rstrip('/')}/{c.mirror_dir or component}" if mirror else c.upstream
    return f"{base}/{path}"


def file_name(component: str, version: str, arch: str) -> str:
    return COMPONENTS[component].file.format(version=version, arch=arch)


def sums_url(component: str, version: str, arch: str, mirror: str | None = None) -> str:
    """Where the release publishes the download's sum: a file in the same directory."""
    c = COMPONENTS[component]
    name = c.sums.format(file=file_name(component, version, arch))
    return f"{url(component, version, arch, mirror).rsplit('/', 1)[0]}/{name}"

"""The version-skew rules an upgrade must keep (MODERN.md §8; kubernetes.io's
version-skew policy), as one pure function: the running versions and the wanted one
in, None or a one-line refusal naming the path to take out.

Refused: a skipped minor, a minor downgrade (patch downgrades within a minor are
allowed), a kubelet newer than the apiserver would be (or more than 3 minors older),
a move between kubefab's v1.0 profile and the modern one (nothing in place carries
over: ports, PKI, flags, container runtime), and a kubelet of 1.36 or later on a
node whose installed containerd is still 1.x (containerd moves first, at 1.35)."""
from __future__ import annotations

from kubefab import versions

KUBELET_BEHIND = 3  # minors a kubelet may lag the apiserver


def text(v: tuple[int, int, int]) -> str:
    return "v{}.{}.{}".format(*v)


def minor(v: tuple[int, int, int]) -> str:
    return f"v{v[0]}.{v[1]}"


def refusal(running: str, wanted: str, kubelets: dict[str, str] | None = None,
            containerd: dict[str, str] | None = None) -> str | None:
    """running: the apiserver's version now (the master's installed release); wanted:
    the inventory's; kubelets: node -> its kubelet's version now; containerd: node ->
    its installed containerd version (modern profile). None: the upgrade may go."""
    have, want = versions.parse(running), versions.parse(wanted)
    if have is None:
        return f"cannot tell which release the cluster runs (master says {running!r}); run fab deploy first"
    if want is None or versions.profile(want) is None:
        return f"{wanted} is not supported: {versions.supported()}"
    step = f"{running} -> {wanted}"
    if versions.profile(have) != versions.profile(want):
        return (f"{step} crosses from kubefab's {'v1.0' if versions.profile(have) == versions.LEGACY else 'modern'} "
                f"profile to the {'modern' if versions.profile(want) == versions.MODERN else 'v1.0'} one: "
                f"nothing carries over in place (ports, PKI, flags, runtime); build a new cluster with "
                f"{wanted} and move the workloads to it")
    if want[:2] < have[:2]:
        return (f"{step} downgrades a minor, which Kubernetes does not support (etcd holds objects "
                f"{minor(have)} wrote); stay at {minor(have)}.x, or restore a backup taken before the upgrade")
    if want[1] > have[1] + 1:
        skipped = ", ".join(minor((have[0], m, 0)) for m in range(have[1] + 1, want[1]))
        return f"{step} skips {skipped}; upgrade to {minor((have[0], have[1] + 1, 0))}.x first"
    for node, version in sorted((kubelets or {}).items()):
        v = versions.parse(version)
        if v is None:
            continue
        if v[:2] > want[:2]:
            return (f"node {node} runs kubelet {version}, newer than the apiserver would be ({wanted}): "
                    f"a kubelet is never newer than its apiserver; set kubernetes.version to "
                    f"{minor(v)}.x or later")
        if want[1] - v[1] > KUBELET_BEHIND:
            return (f"node {node} runs kubelet {version}, more than {KUBELET_BEHIND} minors older than "
                    f"{wanted}; finish the earlier upgrade first (kubernetes.version "
                    f"{minor((v[0], v[1] + 1, 0))}.x, fab upgrade)")
    if want[:2] >= versions.CONTAINERD_2_FROM:
        for node, version in sorted((containerd or {}).items()):
            if version.split(".")[0] == "1":
                return (f"node {node} runs containerd {version}; kubelet {minor(want)} needs containerd 2.x: "
                        f"upgrade containerd first at {minor(have)} (kubernetes.containerd_version: "
                        f"{versions.default(have[:2], 'containerd')}, fab upgrade), then {wanted}")
    return None


def stamp_version(stamp: str | None) -> str | None:
    """The release a host has installed, from its release stamp (the first word, in
    both profiles); None when it has none."""
    return stamp.split()[0] if stamp and stamp.split() else None


def stamp_containerd(stamp: str | None) -> str | None:
    """The containerd version in a modern release stamp (`containerd=2.3.4`), else None."""
    for word in (stamp or "").split():
        if word.startswith("containerd="):
            return word.partition("=")[2]
    return None

"""A profile is everything that differs between the Kubernetes releases kubefab deploys,
chosen once, by kubernetes.version, when the inventory loads:

- `legacy`: v1.0 to v1.19, the original setup (its units, the release tarball, the
  insecure port on the master's loopback, TLS to the nodes);
- `modern`: v1.35 to v1.38, today's Kubernetes (per-binary downloads, containerd, its
  own etcd, the secure port only).

The rest of kubefab asks `inv.profile` and never tests the version. A profile class
reads its part of the inventory (`settings`, before there is an Inventory) and, bound
to one inventory, answers: which units run where and in which order, the files each
host gets, the release stamp, how to ask the apiserver, the PKI it needs, what its
download installs, what its etcd supports. Pure: no SSH, no fabric or invoke."""
from __future__ import annotations

from kubefab import versions
from kubefab.profiles.base import Profile
from kubefab.profiles.legacy import Legacy
from kubefab.profiles.modern import Modern

__all__ = ["Legacy", "Modern", "Profile", "SEVERAL_MASTERS_FROM", "kind"]

SEVERAL_MASTERS_FROM = "v1.35"  # the first release whose profile runs several masters (Modern)


def kind(version: str) -> type[Profile]:
    """The profile class of a release (`v1.0.1`, `v1.37.1`): ValueError if none."""
    parsed = versions.parse(version)
    which = versions.profile(parsed) if parsed else None
    if which is None:
        raise ValueError(f"{version} is not supported: {versions.supported()}")
    return {versions.LEGACY: Legacy, versions.MODERN: Modern}[which]

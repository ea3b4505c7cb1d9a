"""Rotating the key that encrypts Secrets at rest (secretbox's), as Kubernetes documents
it (kubernetes.io, "Encrypting Confidential Data at Rest", Rotating a decryption key): a
new key added as the second key of the provider, every apiserver restarted (it can read
what the new key writes); the new key made first, every apiserver restarted (it writes
with it); every Secret rewritten (`kubectl get secrets -A -o json | kubectl replace -f
-`); the old key dropped, every apiserver restarted. Until the last stage the old key
still reads what it wrote. An older cluster's aescbc key (a read-only provider after
secretbox) is dropped with it: once every Secret was rewritten, nothing is left that
only it reads.

The stage is the local PKI's secretbox key list (kubefab.profiles.modern.atrest, in the
provider's order; names kubefab-1, kubefab-2, ...: the higher the newer): one key, a
rotation starts; [old, new]: added; [new, old]: made first, Secrets still to rewrite, old
key to drop. The local list changes before the hosts do, so the new key is never only on
a host. Pure: key lists in, stages out."""
from __future__ import annotations

import re

PREFIX = "kubefab-"  # secretbox's key names: kubefab-1 (kubefab.profiles.modern.atrest.FIRST), kubefab-2, ...

SAVE, SYNC, ADD, FIRST, REWRITE, DROP = "save", "sync", "add", "first", "rewrite", "drop"
ORDER = (SAVE, SYNC, ADD, FIRST, REWRITE, DROP)
SAYS = {
    SAVE: ("every Secret rewritten with secretbox first: the master still reads with the older aescbc key that "
           "pki/ no longer holds, and the sync drops it"),
    SYNC: "the master's encryption config as pki/ holds it (a rotation stopped midway), apiserver restarted",
    ADD: "a new key made (kept in pki/ first) and added as the second key; apiserver restarted",
    FIRST: "the new key made the first (it encrypts what is written from now on); apiserver restarted",
    REWRITE: "every Secret rewritten with the new key (kubectl get secrets -A -o json | kubectl replace -f -)",
    DROP: "the old key dropped; apiserver restarted",
}


def number(name: str) -> int:
    m = re.fullmatch(PREFIX + r"(\d+)", name)
    return int(m[1]) if m else 0


def next_name(keys) -> str:
    """A name no key has: kubefab-<highest + 1>."""
    return f"{PREFIX}{max((number(n) for n, _ in keys), default=0) + 1}"


def newer_first(keys) -> bool:
    """[new, old]: the new key encrypts already."""
    return len(keys) == 2 and number(keys[0][0]) > number(keys[1][0])


def stages(local, on_master: bool, resuming: bool, aescbc_leaves: bool = False) -> list[str]:
    """What is left to do, in order. local: the local keys (name, secret); on_master: the
    master's encryption config is local's already; resuming: the cluster's record names
    other keys than local (a rotation stopped between the local write and the master's);
    aescbc_leaves: the master has an aescbc key the local PKI no longer holds (dropped by
    a rotation, or by hand): every Secret is rewritten before the sync takes it away."""
    out = [] if on_master else [*([SAVE] if aescbc_leaves else []), SYNC]
    if len(local) == 1:
        return out if resuming else [*out, ADD, FIRST, REWRITE, DROP]
    if len(local) == 2:
        return [*out, *([] if newer_first(local) else [FIRST]), REWRITE, DROP]
    return out


def related(cluster_fps, local_fps) -> bool:
    """The local keys are the cluster's, possibly one stage ahead: they share a key."""
    return bool(set(cluster_fps) & set(local_fps))

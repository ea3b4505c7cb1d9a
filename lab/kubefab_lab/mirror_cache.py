"""The modern mirror's trees, built once per inputs and hard-linked into each lab.

Building one release's mirror takes about 0.7 s on two cores (copying a 55 MB kubectl,
packing Debian's etcd); a lab that serves every supported release would spend that on
each. A tree is kept in `<cache>/mirror/<version>-<key>/` (key: everything its bytes
come from: the version, its components' versions, the stand-in sources, this code,
the kubectl and etcd binaries), with its sums in sums.json, and never changed once
built; a lab links its files into its served dir (a copy across filesystems). Trees of
the same version with another key are removed once unused for an hour.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from kubefab import versions

from . import mirror
from .release import standin_digest

SUMS = "sums.json"
STALE_AFTER = 3600  # seconds unused before a tree of another key goes (they are 75 MB each)


def key(k8s_version: str) -> str:
    """What the tree's bytes depend on, hashed."""
    sources = [Path(mirror.__file__), Path(__file__).with_name("release.py")]
    binaries = [*mirror.ETCD_BINARIES]
    minor = ".".join(k8s_version.lstrip("v").split(".")[:2])
    kubectl = mirror.kubectls.ensure(minor)
    binaries.append(kubectl)
    inputs = {
        "version": k8s_version, "components": mirror.component_versions(k8s_version),
        "standin": standin_digest(),
        "code": [hashlib.sha256(p.read_bytes()).hexdigest() for p in sources],
        "binaries": [[str(p), p.stat().st_size, p.stat().st_mtime_ns] for p in binaries if p.exists()],
    }
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:16]


def tree(cache: Path, k8s_version: str) -> tuple[Path, dict[str, str]]:
    """The cached tree for this version (built now if missing) and its sums."""
    base = cache / "mirror"
    base.mkdir(parents=True, exist_ok=True)
    final = base / f"{k8s_version}-{key(k8s_version)}"
    with open(base / ".lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (final / SUMS).is_file():
            shutil.rmtree(final, ignore_errors=True)
            with tempfile.TemporaryDirectory(dir=base, prefix=".build-") as tmp:
                sums = mirror.build(Path(tmp) / "tree", k8s_version)
                (Path(tmp) / "tree" / SUMS).write_text(json.dumps(sums, indent=1, sort_keys=True) + "\n")
                (Path(tmp) / "tree").rename(final)
        os.utime(final)
        _prune(base, k8s_version, keep=final)
    return final, json.loads((final / SUMS).read_text())


def _prune(base: Path, k8s_version: str, keep: Path) -> None:
    stale = time.time() - STALE_AFTER
    for old in base.glob(f"{k8s_version}-*"):
        if old != keep and old.stat().st_mtime < stale:
            shutil.rmtree(old, ignore_errors=True)


def link_tree(source: Path, root: Path) -> None:
    """Every file of the tree (but sums.json) into root at the same path, each replaced
    atomically (the server may be serving the old one)."""
    for path in source.rglob("*"):
        if path.is_dir() or path == source / SUMS:
            continue
        target = root / path.relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        staged = target.with_name(f".{target.name}.tmp")
        staged.unlink(missing_ok=True)
        try:
            os.link(path, staged)
        except OSError:  # another filesystem
            shutil.copyfile(path, staged)
            staged.chmod(0o644)
        staged.replace(target)


def publish(served_root: Path, base_url: str, k8s_version: str,
            cache: Path | None = None) -> tuple[str, dict[str, str]]:
    """The mirror for `k8s_version` under served_root/mirror (served at base_url/mirror):
    (its URL, {component: sha256}). With a cache dir, the tree is built there once per
    inputs (tree below) and hard-linked into place."""
    root = served_root / "mirror"
    if cache is None:
        sums = mirror.build(root, k8s_version)
    else:
        tree_, sums = tree(Path(cache), k8s_version)
        link_tree(tree_, root)
    return f"{base_url}/mirror", sums


def publish_all(served_root: Path, base_url: str, k8s_version: str,
                cache: Path | None = None) -> tuple[str, dict[str, dict[str, str]]]:
    """`k8s_version` and every release in RELEASES: (the mirror's URL, {release: sums}),
    oldest release first."""
    every = {}
    for release in sorted({*mirror.RELEASES, k8s_version}, key=versions.parse):
        url, every[release] = publish(served_root, base_url, release, cache)
    return url, every

"""The lab's mirror of a modern release and the inventory it writes for it: the layout
kubefab.versions expects, every sum right (and in the sum file its release publishes), the tarballs holding what the download
takes out of them, and the repo's hosts.yaml loading as a modern inventory with no sum
missing. Builds into a temporary folder (the real kubectl of the minor is fetched once)."""
from __future__ import annotations

import hashlib
import io
import tarfile
from pathlib import Path

import pytest

from kubefab.profiles.modern import downloads
from kubefab import versions
from kubefab.inventory import load
from kubefab_lab import labinventory, mirror, mirror_cache

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    if not all(p.is_file() for p in mirror.ETCD_BINARIES):
        pytest.skip("no Debian etcd on this machine")
    root = tmp_path_factory.mktemp("served")
    return root, *mirror_cache.publish(root, "http://127.0.0.1:9", "v1.37.1")


def test_every_download_is_where_versions_says_with_its_sum(published):
    root, url, sums = published
    assert url == "http://127.0.0.1:9/mirror" and len(sums) == 10
    for component, version in mirror.component_versions("v1.37.1").items():
        path = root / versions.url(component, version, "amd64", url)[len("http://127.0.0.1:9/"):]
        assert hashlib.sha256(path.read_bytes()).hexdigest() == sums[component], component


def test_each_release_publishes_its_sums_beside_its_downloads(published):
    root, url, sums = published
    for component, version in mirror.component_versions("v1.37.1").items():
        text = (root / versions.sums_url(component, version, "amd64", url)[len("http://127.0.0.1:9/"):]).read_text()
        if versions.COMPONENTS[component].sums_format == versions.BARE:
            assert text == sums[component], component
        else:
            assert f"{sums[component]}  {versions.file_name(component, version, 'amd64')}\n" in text, component


def test_archives_hold_the_binaries_the_download_takes(published):
    root, url, _ = published
    for component in ("etcd", "containerd", "cni-plugins"):
        version = mirror.component_versions("v1.37.1")[component]
        path = root / versions.url(component, version, "amd64", url)[len("http://127.0.0.1:9/"):]
        with tarfile.open(fileobj=io.BytesIO(path.read_bytes())) as t:
            names = {Path(m.name).name for m in t.getmembers() if m.isfile() and m.mode & 0o111}
        assert set(versions.COMPONENTS[component].members) <= names, component


@pytest.mark.parametrize("pinned", [True, False], ids=["inventory sums", "published sums"])
def test_the_lab_inventory_is_modern_with_every_sum(published, tmp_path, pinned):
    _, url, sums = published
    sums = sums if pinned else None
    doc = labinventory.read(ROOT / "hosts.yaml")
    doc["kubernetes"]["version"] = "v1.37.1"
    addrs = labinventory.addresses(doc["hosts"], 20, "127.0.9")
    out = labinventory.lab_inventory(doc, doc["hosts"], addrs, etcd_url="http://127.0.0.1:1", mirror=url, sums=sums)
    (tmp_path / labinventory.TOKEN).write_text("token\n")
    (tmp_path / labinventory.TOKEN).chmod(0o600)
    path = tmp_path / "hosts.yaml"
    path.write_text(labinventory.dump(out, ROOT / "hosts.yaml"))
    inv = load(path)
    assert (inv.profile.name == "modern") and inv.kubernetes.managed_etcd and inv.kubernetes.mirror == url
    assert downloads.missing_message(inv) is None
    sources = {a.source for h in inv.hosts for a in downloads.artifacts(inv, h)}
    assert sources == ({downloads.INVENTORY} if pinned else {downloads.PUBLISHED})
    assert not inv.kubernetes.bridge_network  # no routes on the machine the lab's hosts share


def test_the_labs_etcdutl_hands_its_snapshot_commands_to_debians_etcdctl(published, tmp_path):
    """Debian's etcd 3.4 has no etcdutl; the lab's etcd release carries a script in its
    place, so that the download finds every member and `etcdutl snapshot ...` works."""
    import subprocess
    root, url, _ = published
    version = mirror.component_versions("v1.37.1")["etcd"]
    path = root / versions.url("etcd", version, "amd64", url)[len("http://127.0.0.1:9/"):]
    with tarfile.open(fileobj=io.BytesIO(path.read_bytes())) as t:
        t.extractall(tmp_path, filter="data")
    etcdutl = next(tmp_path.glob("*/etcdutl"))
    got = subprocess.run([etcdutl, "version"], capture_output=True, text=True, check=True).stdout
    debian = subprocess.run(["/usr/bin/etcdctl", "version"], capture_output=True, text=True).stdout
    assert got.splitlines()[0] == debian.splitlines()[0].replace("etcdctl", "etcdutl")
    r = subprocess.run([etcdutl, "snapshot", "status", str(tmp_path / "none.db"), "--write-out=json"],
                       capture_output=True, text=True)
    assert r.returncode != 0 and "none.db" in r.stderr  # etcdctl's own refusal of a missing file

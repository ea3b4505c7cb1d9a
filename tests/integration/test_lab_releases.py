"""A modern lab's mirror serves every supported release at once, so that an operator
can change kubernetes.version in build/lab/hosts.yaml and run `kubefab upgrade`: with
the mirror's published sums (the default of `kubefab lab.up`), that edit alone is
enough. A small lab (master + one node) on 127.0.N.80.., v1.36.4 deployed, then
upgraded to v1.37.1 from the command line."""
from __future__ import annotations

import hashlib
import json
import subprocess
import urllib.request
from pathlib import Path

import pytest
import yaml

from kubefab import versions
from kubefab_lab import Lab, kubectls, mirror, mirror_cache

from .conftest import NET, ROOT, free_port_pair, lab_prerequisites, slotted
from .helpers import fab

pytestmark = pytest.mark.lab
OLD, NEW = "v1.36.4", "v1.37.1"


@pytest.fixture(scope="module")
def releases_lab():
    reason = lab_prerequisites()
    if reason:
        pytest.skip(f"no lab: {reason}")
    lab = Lab(Path(f"/var/lib/kubefab/{slotted('lab-releases')}"), ROOT / "build/lab-releases",
              first_address=80, net=NET, etcd_port=free_port_pair(), cgroup=slotted("lab-releases"),
              log=lambda message: None)
    lab.up(ROOT / "hosts.yaml", nodes=1, version=OLD, pin_sums=False)
    yield lab
    lab.down()


def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as r:
        return r.read()


def test_the_mirror_serves_every_supported_release_with_its_sum_files(releases_lab):
    info = releases_lab.info
    assert info.releases == tuple(sorted({*mirror.RELEASES, OLD}, key=lambda v: versions.parse(v)))
    assert {versions.parse(v)[:2] for v in info.releases} == set(versions.MINORS)
    sums = yaml.safe_load((releases_lab.build_dir / "sums.yaml").read_text())
    assert list(sums) == list(info.releases)
    for release in info.releases:
        for component, version in mirror.component_versions(release).items():
            url = versions.url(component, version, mirror.ARCH, info.release_url)
            if component in ("kubelet", "etcd"):  # the big ones are checked whole below
                assert hashlib.sha256(fetch(url)).hexdigest() == sums[release][component], url
            published = fetch(versions.sums_url(component, version, mirror.ARCH, info.release_url)).decode()
            assert sums[release][component] in published, (release, component)


def test_the_inventory_has_no_sums_and_says_the_version_alone_switches(releases_lab):
    text = releases_lab.inventory_path.read_text()
    assert "sha256" not in yaml.safe_load(text)["kubernetes"]
    assert f"The lab's mirror serves {', '.join(releases_lab.info.releases)}.\n" \
           "  # To deploy or upgrade to another, change the version alone" in text


def test_each_release_is_linked_from_the_cache_not_built_again(releases_lab):
    kubelet = versions.url("kubelet", NEW.lstrip("v"), mirror.ARCH, "mirror")
    served = releases_lab.layout.releases / kubelet
    tree, _ = mirror_cache.tree(releases_lab.cache_dir, NEW)
    assert served.stat().st_ino == (tree / kubelet.split("/", 1)[1]).stat().st_ino


def kubelet_versions(inventory: Path, minor: str) -> dict:
    """Each Node's kubelet version, as the real kubectl of that minor reads them."""
    admin = inventory.parent / "pki" / "admin.kubeconfig"  # the lab inventory sets no pki_dir
    out = subprocess.run([str(kubectls.ensure(minor)), "--kubeconfig", str(admin), "get", "nodes", "-o", "json"],
                         capture_output=True, text=True, check=True, timeout=60)
    return {n["metadata"]["name"]: n["status"]["nodeInfo"]["kubeletVersion"]
            for n in json.loads(out.stdout)["items"]}


def test_an_operator_changes_the_version_alone_and_upgrades_from_the_command_line(releases_lab):
    inventory = releases_lab.inventory_path
    fab(inventory, "deploy", timeout=600)
    assert set(kubelet_versions(inventory, "1.36").values()) == {OLD}
    text = inventory.read_text()
    inventory.write_text(text.replace(f"version: {OLD}\n", f"version: {NEW}\n", 1))
    upgraded = fab(inventory, "upgrade", timeout=600)
    # every download checked against the sum file the mirror publishes beside it
    assert "[azure-prd-02] sha256 published: containerd, runc, cni-plugins, kubelet, kube-proxy, kubectl" \
        in upgraded.stdout
    assert set(kubelet_versions(inventory, "1.37").values()) == {NEW}

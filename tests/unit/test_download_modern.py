"""The modern download script, run for real against a file:// mirror: per binary and
per role, verified before anything is installed (against the inventory's sums, or the
ones each release publishes beside its downloads), swapped in whole, only what differs
fetched again, and a download without a sum refused."""
from __future__ import annotations

import hashlib
import io
import os
import subprocess
import tarfile
from dataclasses import replace
from pathlib import Path

from kubefab.profiles.modern import downloads, paths as L
from kubefab import render, versions

try:
    from modern_fixtures import FAKE_MODERN_PKI, modern_inventory
except ImportError:  # tests/ imported as a package
    from tests.unit.modern_fixtures import FAKE_MODERN_PKI, modern_inventory

NODE = "azure-prd-02"


def _tgz(members: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, text in members.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o755
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def publish(mirror: Path, inv, tag: str) -> dict[str, str]:
    """Every node download under `mirror` in kubefab's mirror layout; their sums."""
    k, sums = inv.kubernetes, {}
    for name in ("containerd", "runc", "cni-plugins", "kubelet", "kube-proxy", "kubectl"):
        version = k.component_version(name)
        c = versions.COMPONENTS[name]
        if c.members is None:
            data = f"#!/bin/sh\necho {tag} {name}\n".encode()
        else:
            prefix = {"containerd": "bin/", "cni-plugins": "./"}[name]
            data = _tgz({f"{prefix}{m}": f"#!/bin/sh\necho {tag} {m}\n" for m in c.members})
        url = versions.url(name, version, k.arch, mirror.as_uri())
        path = Path(url.removeprefix("file://"))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        sums[name] = hashlib.sha256(data).hexdigest()
    return sums


def _path(url: str) -> Path:
    return Path(url.removeprefix("file://"))


def publish_sums(mirror: Path, inv, sums: dict[str, str]) -> None:
    """The sum files the releases publish beside those downloads, each in its format."""
    k = inv.kubernetes
    for name, digest in sums.items():
        version = k.component_version(name)
        path = _path(versions.sums_url(name, version, k.arch, mirror.as_uri()))
        if versions.COMPONENTS[name].sums_format == versions.BARE:
            path.write_text(digest)  # dl.k8s.io: the digest alone, no newline
        else:  # runc's file lists every asset of the release
            others = f"{'1' * 64}  runc.arm64\n" if name == "runc" else ""
            path.write_text(f"{others}{digest}  {versions.file_name(name, version, k.arch)}\n")


class Host:
    def __init__(self, root: Path):
        self.root, self.bin, self.cni, self.state = root, root / "bin", root / "cni", root / "state"

    def run(self, inv, *args: str) -> subprocess.CompletedProcess:
        inv = replace(inv, kubernetes=replace(inv.kubernetes, bin_dir=str(self.bin), install_dir=str(self.state)))
        files = render.render_host(inv, inv.host(NODE), FAKE_MODERN_PKI)
        manifest = self.root / "downloads"
        manifest.write_text(files[L.DOWNLOAD_MANIFEST].content.replace(L.CNI_BIN, str(self.cni)))
        script = self.root / "kubernetes-download"
        script.write_text(files[f"{self.bin}/kubernetes-download"].content)
        script.chmod(0o755)
        return subprocess.run([str(script), str(manifest), *args], capture_output=True, text=True, timeout=60,
                              env={"PATH": os.environ["PATH"]})

    def says(self, binary: str, where: Path | None = None) -> str:
        return subprocess.run([str((where or self.bin) / binary)], capture_output=True, text=True).stdout.strip()


def inventory(mirror: Path, sums: dict[str, str], **kube):
    return modern_inventory("modern-1.37", mirror=mirror.as_uri(), sha256=tuple(sorted(sums.items())), **kube)


def test_install_skip_update_and_refuse(tmp_path):
    host = Host(tmp_path / "host")
    host.root.mkdir()
    sums = publish(tmp_path / "one", modern_inventory("modern-1.37"), "one")
    inv = inventory(tmp_path / "one", sums)

    r = host.run(inv)
    assert r.returncode == 0, r.stderr
    assert [host.says(b) for b in ("containerd", "containerd-shim-runc-v2", "ctr", "runc", "kubelet", "kubectl")] == [
        "one containerd", "one containerd-shim-runc-v2", "one ctr", "one runc", "one kubelet", "one kubectl"]
    assert host.says("bridge", host.cni) == "one bridge" and host.says("portmap", host.cni) == "one portmap"
    moved = replace(inv, kubernetes=replace(inv.kubernetes, bin_dir=str(host.bin), install_dir=str(host.state)))
    assert (host.state / ".kubefab-release").read_text() == moved.profile.release_stamp() + "\n"
    assert not list(host.root.glob("state.download.*"))

    r = host.run(inv)  # the stamp matches: nothing to do
    assert r.returncode == 0 and "installed already" in r.stdout

    two = publish(tmp_path / "two", modern_inventory("modern-1.37"), "two")
    changed = {**sums, "kubelet": two["kubelet"]}  # only the kubelet differs
    (tmp_path / "one" / "kubernetes").rename(tmp_path / "one" / "kubernetes.old")
    (tmp_path / "two" / "kubernetes").rename(tmp_path / "one" / "kubernetes")
    r = host.run(inventory(tmp_path / "one", changed))
    assert r.returncode == 0, r.stderr
    assert "containerd: up to date" in r.stdout and "kubelet: downloading" in r.stdout
    assert host.says("kubelet") == "two kubelet" and host.says("runc") == "one runc"

    r = host.run(inventory(tmp_path / "one", {**changed, "kube-proxy": "0" * 64}))  # wrong sum
    assert r.returncode == 1 and "does not have sha256" in r.stderr and "keeping the binaries" in r.stderr
    assert host.says("kube-proxy") == "one kube-proxy" and host.says("kubelet") == "two kubelet"

    missing = {k: v for k, v in changed.items() if k != "runc"}
    r = host.run(inventory(tmp_path / "one", missing, require_pinned_sums=True))  # runc 1.4.3 has no pinned sum
    assert r.returncode == 1 and "no sha256 pinned for: runc" in r.stderr and "kubernetes.sha256" in r.stderr
    assert not list(host.root.glob("state.download.*"))


def test_script_parses():
    inv = modern_inventory("modern-1.37")
    script = render.render_host(inv, inv.host(NODE), FAKE_MODERN_PKI)["/opt/bin/kubernetes-download"].content
    assert subprocess.run(["bash", "-n"], input=script, text=True).returncode == 0


def test_published_sums_install_and_a_wrong_or_absent_one_keeps_the_binaries(tmp_path):
    host = Host(tmp_path / "host")
    host.root.mkdir()
    mirror = tmp_path / "one"
    sums = publish(mirror, modern_inventory("modern-1.37"), "one")
    publish_sums(mirror, modern_inventory("modern-1.37"), sums)
    inv = inventory(mirror, {})  # no sums in the inventory, none pinned for 1.37: the releases'
    assert {a.source for a in downloads.artifacts(inv, inv.host(NODE))} == {downloads.PUBLISHED}

    r = host.run(inv)
    assert r.returncode == 0, r.stderr
    assert [host.says(b) for b in ("containerd", "runc", "kubelet", "kube-proxy", "kubectl")] == [
        "one containerd", "one runc", "one kubelet", "one kube-proxy", "one kubectl"]
    assert host.says("bridge", host.cni) == "one bridge"
    assert (host.state / "kubelet.sha256").read_text() == sums["kubelet"] + "\n"  # the digest, as if pinned

    proxy = _path(versions.url("kube-proxy", "1.37.1", "amd64", mirror.as_uri()))
    proxy.write_text("#!/bin/sh\necho two kube-proxy\n")  # not what the release's sum file says
    r = host.run(inv, "--force")
    assert r.returncode == 1 and f"does not have sha256 {sums['kube-proxy']} (published in " in r.stderr
    assert "keeping the binaries" in r.stderr and host.says("kube-proxy") == "one kube-proxy"
    proxy.write_text("#!/bin/sh\necho one kube-proxy\n")

    runc = _path(versions.sums_url("runc", "1.4.3", "amd64", mirror.as_uri()))
    runc.write_text(f"{'1' * 64}  runc.arm64\n")  # a sum file without runc.amd64's line
    r = host.run(inv, "--force")
    assert r.returncode == 1 and "runc.sha256sum has no single sha256 line for runc.amd64" in r.stderr
    runc.write_text(f"{sums['runc']}  runc.amd64\n")

    kubelet = _path(versions.sums_url("kubelet", "1.37.1", "amd64", mirror.as_uri()))
    kubelet.write_text(sums["kubelet"][:40])  # a digest cut short
    r = host.run(inv, "--force")
    assert r.returncode == 1 and "kubelet.sha256 gives kubelet a malformed sha256" in r.stderr
    assert [host.says(b) for b in ("runc", "kubelet", "kube-proxy")] == ["one runc", "one kubelet", "one kube-proxy"]
    assert not list(host.root.glob("state.download.*"))

"""kubefab as a user gets it: the wheel built from this repo, installed (not editable)
into a fresh virtualenv, works anywhere and holds the product only."""
from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from kubefab.versions import STARTER

pytestmark = pytest.mark.package

ROOT = Path(__file__).resolve().parents[2]


def run(argv, **kwargs) -> subprocess.CompletedProcess:
    r = subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=600, **kwargs)
    assert r.returncode == 0, f"{' '.join(map(str, argv))} exited {r.returncode}\n{r.stdout}\n{r.stderr}"
    return r


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(wheel path, the fresh venv's bin dir): built from a copy of the product's sources
    alone, so a file the package needs but does not declare cannot be picked up."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "kubefab", src / "kubefab", ignore=shutil.ignore_patterns("__pycache__"))
    run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", tmp / "dist", src])
    wheel = next((tmp / "dist").glob("kubefab-*.whl"))
    venv = tmp / "venv"
    run([sys.executable, "-m", "venv", venv])
    run([venv / "bin/pip", "install", "-q", "--disable-pip-version-check", wheel])
    return wheel, venv / "bin"


def test_wheel_holds_the_product_and_its_templates_only(installed):
    wheel, _ = installed
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert tops == {"kubefab"}, tops  # no top-level `tasks`, no lab
    assert not [n for n in names if "lab" in n.split("/") or "kubefab_lab" in n or "standin" in n]
    assert "kubefab/templates/kubernetes.master.target.j2" in names  # both profiles' own
    assert "kubefab/profiles/legacy/templates/kubernetes.apiserver.service.j2" in names
    assert "kubefab/profiles/modern/templates/kubelet-config.yaml.j2" in names
    assert "kubefab/remote/scripts/install.sh" in names
    assert "kubefab/templates/starter/hosts.yaml.j2" in names  # kubefab init's
    assert "kubefab/tasks/__init__.py" in names


def test_installed_command_lists_renders_and_exports_from_anywhere(installed, tmp_path):
    _, bin_dir = installed
    cluster = tmp_path / "cluster"
    cluster.mkdir()
    shutil.copy(ROOT / "hosts.yaml", cluster / "hosts.yaml")
    elsewhere = tmp_path / "elsewhere"  # not the checkout: nothing to find beside it
    elsewhere.mkdir()
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path),
           "KUBEFAB_REGISTRY_TOKEN": "TOKEN-wheel-0123456789"}

    listing = run([bin_dir / "kubefab", "--list"], cwd=elsewhere, env=env).stdout
    for task in ("deploy", "status", "render", "cloud-config", "master.restart", "nodes.register"):
        assert f"  {task} " in listing, listing
    assert "lab." not in listing  # the lab is not installed here

    out = run([bin_dir / "kubefab", "render", "--inventory", cluster / "hosts.yaml",
               "--out", tmp_path / "rendered"], cwd=elsewhere, env=env)
    unit = tmp_path / "rendered/azure-prd-01/etc/systemd/system/kubernetes.apiserver.service"
    assert unit.read_text().startswith("[Unit]"), out.stdout
    assert (cluster / "pki/ca.crt").is_file()  # beside the inventory, not in the working folder
    assert not (elsewhere / "pki").exists()

    run([bin_dir / "kubefab", "cloud-config", "--inventory", cluster / "hosts.yaml",
         "--out", tmp_path / "cc"], cwd=elsewhere, env=env)
    for host in ("azure-prd-01", "azure-prd-02", "ded-prd-01"):
        assert (tmp_path / "cc" / f"{host}.yml").read_text().startswith("#cloud-config\n")
    assert "TOKEN-wheel" not in "".join(p.read_text() for p in (tmp_path / "cc").iterdir())


def test_init_in_an_empty_folder_writes_an_inventory_that_renders(installed, tmp_path):
    """What a pip user does first: no repo, no hosts.yaml to copy."""
    _, bin_dir = installed
    empty = tmp_path / "new-cluster"
    empty.mkdir()
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path)}  # no registry token: none is named
    out = run([bin_dir / "kubefab", "init", "--hosts", "m1=10.0.0.1,n1=10.0.0.2"], cwd=empty, env=env).stdout
    assert "wrote hosts.yaml" in out and sorted(p.name for p in empty.iterdir()) == ["hosts.yaml"]
    run([bin_dir / "kubefab", "render", "--out", "rendered"], cwd=empty, env=env)
    units = empty / "rendered/{}/etc/systemd/system/kubernetes.{}.service"
    assert Path(str(units).format("m1", "apiserver")).is_file() and Path(str(units).format("n1", "kubelet")).is_file()
    assert f"version: {STARTER}" in (empty / "hosts.yaml").read_text()

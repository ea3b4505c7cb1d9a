"""`systemd-analyze verify` on every rendered unit, against a --root that holds a copy
of /usr/lib/systemd/system, the units, stub executables at every Exec path they name,
and stub weave-network.target / etcd2.service (the original's prerequisites)."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from kubefab import render
from kubefab.model import MANUAL, SELF
from kubefab import layout

try:
    from test_render import rendered, seed_inventory
except ImportError:  # tests/ imported as a package
    from tests.unit.test_render import rendered, seed_inventory

ANALYZE = shutil.which("systemd-analyze")
SYSTEM_UNITS = Path("/usr/lib/systemd/system")
pytestmark = [
    pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze is not installed (apt-get install systemd)"),
    pytest.mark.skipif(not SYSTEM_UNITS.is_dir(), reason=f"{SYSTEM_UNITS} is missing"),
]
STUBS = {"weave-network.target": "[Unit]\nDescription=stub\n",
         "etcd2.service": "[Unit]\nDescription=stub\n[Service]\nExecStart=/bin/true\n"}


def exec_paths(content: str) -> set[str]:
    """The executables a unit's Exec*= lines run (prefixes like `-` or `+` dropped)."""
    paths = set()
    for line in content.splitlines():
        key, _, value = line.partition("=")
        if key.startswith("Exec") and value:
            paths.add(value.split()[0].lstrip("-@:+!"))
    return paths


def verify(root: Path, units: dict[str, str]) -> subprocess.CompletedProcess:
    shutil.copytree(SYSTEM_UNITS, root / "usr/lib/systemd/system", symlinks=True)
    etc = root / "etc/systemd/system"
    etc.mkdir(parents=True)
    for name, content in {**STUBS, **units}.items():
        (etc / name).write_text(content)
    for content in [*units.values(), *STUBS.values()]:
        for path in exec_paths(content):
            stub = root / path.lstrip("/")
            stub.parent.mkdir(parents=True, exist_ok=True)
            stub.write_text("#!/bin/sh\n")
            stub.chmod(0o755)
    return subprocess.run([ANALYZE, "verify", f"--root={root}", *units], capture_output=True,
                          text=True, timeout=120, cwd=root)


def ours(output: str, units: dict[str, str]) -> list[str]:
    """Output lines about our units, their stubs or their binaries."""
    words = [*units, *STUBS, "/opt/", "/etc/systemd/system/"]
    return [line for line in output.splitlines() if any(w in line for w in words)]


CASES = [(MANUAL, "v1.0.1", False), (SELF, "v1.4.0", False), (SELF, "v1.8.0", False),
         (MANUAL, "v1.19.0", False), (MANUAL, "v1.0.1", True), (SELF, "v1.4.0", True),
         (SELF, "v1.8.0", True), (MANUAL, "v1.19.0", True)]


@pytest.mark.parametrize("registration, version, tls", CASES)
@pytest.mark.parametrize("name", ["azure-prd-01", "azure-prd-02"])
def test_rendered_units_verify(tmp_path, name, registration, version, tls):
    inv = seed_inventory(registration=registration, version=version, tls=tls)
    files = rendered(inv, inv.host(name))
    units = {p.rsplit("/", 1)[1]: f.content for p, f in files.items()
             if p.startswith(layout.UNIT_DIR + "/")}
    r = verify(tmp_path, units)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert ours(out, units) == [], out


def test_verify_catches_the_originals_missing_continuations(tmp_path):
    """The harness is not vacuous: the original's kubelet (no `\\`) is reported."""
    inv = seed_inventory()
    kubelet = render.render_host(inv, inv.host("azure-prd-02"))[
        layout.UNIT_DIR + "/kubernetes.kubelet.service"].content
    r = verify(tmp_path, {"kubernetes.kubelet.service": kubelet.replace(" \\\n", "\n")})
    assert any("Unknown key '--address'" in line for line in ours(r.stdout + r.stderr, {"kubernetes.kubelet.service": ""}))


@pytest.mark.parametrize("tls", [False, True], ids=["plain", "tls"])
def test_units_without_prerequisites_verify(tmp_path, tls):
    """The lab's shape: no weave-network.target / etcd2.service to require."""
    inv = seed_inventory(requires=(), tls=tls)
    for host in (inv.master, inv.host("azure-prd-02")):
        units = {p.rsplit("/", 1)[1]: f.content for p, f in rendered(inv, host).items()
                 if p.startswith(layout.UNIT_DIR + "/")}
        r = verify(tmp_path / host.name, units)
        assert r.returncode == 0 and ours(r.stdout + r.stderr, units) == [], r.stdout + r.stderr

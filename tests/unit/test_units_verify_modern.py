"""`systemd-analyze verify` on every unit the modern profile renders, per variant and
role (the harness of test_units_verify: a --root with stub executables and the
original's stub prerequisites)."""
from __future__ import annotations

import pytest

from kubefab import render
from kubefab import layout

try:
    from modern_fixtures import FAKE_MODERN_PKI, VARIANTS, modern_inventory
    from test_units_verify import ANALYZE, STUBS, SYSTEM_UNITS, verify
except ImportError:  # tests/ imported as a package
    from tests.unit.modern_fixtures import FAKE_MODERN_PKI, VARIANTS, modern_inventory
    from tests.unit.test_units_verify import ANALYZE, STUBS, SYSTEM_UNITS, verify

pytestmark = [
    pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze is not installed (apt-get install systemd)"),
    pytest.mark.skipif(not SYSTEM_UNITS.is_dir(), reason=f"{SYSTEM_UNITS} is missing"),
]


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("name", ["azure-prd-01", "azure-prd-02"])
def test_modern_units_verify(tmp_path, variant, name):
    inv = modern_inventory(variant)
    files = render.render_host(inv, inv.host(name), FAKE_MODERN_PKI)
    units = {p.rsplit("/", 1)[1]: f.content for p, f in files.items() if p.startswith(layout.UNIT_DIR + "/")}
    r = verify(tmp_path, units)
    out = r.stdout + r.stderr
    words = [*units, *STUBS, "/opt/", "/usr/local/", "/sbin/", "/etc/systemd/system/"]
    assert r.returncode == 0, out
    assert [line for line in out.splitlines() if any(w in line for w in words)] == [], out

"""Rendering a fleet costs each host its own files, not the fleet's again: what every
host's files ask alike (the pod subnets, the release stamp) is worked out once per
inventory."""
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

from kubefab.model import NODE, Host
from kubefab.profiles.modern import downloads, network
from kubefab.render import render_host
from modern_fixtures import FAKE_MODERN_PKI, modern_inventory


def fleet(size: int):
    inv = modern_inventory("modern-1.36")  # kubefab's bridge network: every node routes to every other
    nodes = tuple(Host(f"node-{i:03}", f"10.1.{i // 200}.{i % 200 + 10}", NODE) for i in range(size - 1))
    return replace(inv, hosts=(inv.master, *nodes))


def fleet_pki(inv):
    return replace(FAKE_MODERN_PKI, kubelets={h.name: FAKE_MODERN_PKI.kubelets["azure-prd-02"] for h in inv.hosts})


def counted(monkeypatch, module, name: str) -> list[str]:
    """The host of each call of module.name(inv, host), which goes on answering."""
    calls, real = [], getattr(module, name)
    monkeypatch.setattr(module, name, lambda i, h: calls.append(h.name) or real(i, h))
    return calls


def render_fleet(inv) -> None:
    pki = fleet_pki(inv)
    for host in inv.hosts:
        render_host(inv, host, pki)


def test_every_host_of_a_fleet_rendered_asks_for_the_artifacts_a_few_times_not_the_fleets(monkeypatch):
    inv, calls = fleet(40), counted(monkeypatch, downloads, "artifacts")
    render_fleet(inv)
    assert len(calls) <= 3 * len(inv.hosts)  # was the fleet's for every host: the release stamp's


def test_the_pod_subnets_are_carved_once_per_inventory():
    inv = fleet(5)
    assert network.pod_subnets(inv) is network.pod_subnets(inv)
    assert network.pod_subnets(replace(inv)) == network.pod_subnets(inv)  # another inventory: its own


COMPILES = """
import jinja2, sys
compiled = []
compile_ = jinja2.Environment.compile
jinja2.Environment.compile = lambda self, source, name=None, *a, **kw: compiled.append(name) or compile_(
    self, source, name, *a, **kw)
from test_render_cost import fleet, fleet_pki
from kubefab.render import render_host
inv = fleet(3)
for host in inv.hosts:
    render_host(inv, host, fleet_pki(inv))
print(len(compiled))
"""


def test_a_second_run_compiles_no_template(tmp_path):
    """The compiled templates are kept in the user's cache folder (XDG_CACHE_HOME)."""
    here = Path(__file__).resolve().parent
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"),
           "PYTHONPATH": os.pathsep.join([str(here), str(here.parent), os.environ.get("PYTHONPATH", "")])}
    runs = [subprocess.run([sys.executable, "-c", COMPILES], env=env, capture_output=True, text=True, timeout=60)
            for _ in range(2)]
    assert [r.returncode for r in runs] == [0, 0], runs[0].stderr[-2000:]
    first, second = (int(r.stdout.split()[-1]) for r in runs)
    assert first > 0 and second == 0


def test_a_hosts_units_are_worked_out_a_few_times_a_host_not_once_a_file(monkeypatch):
    """What every file of a host shares (its units, labels, names) is one context a host
    (modern render.host_context), not rebuilt for each of its ~18 templated files."""
    from kubefab.profiles.modern import units
    inv, calls = fleet(4), counted(monkeypatch, units, "units")
    render_fleet(inv)
    assert len(calls) <= 4 * len(inv.hosts)

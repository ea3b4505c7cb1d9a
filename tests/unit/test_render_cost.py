"""Rendering a fleet costs each host its own files, not the fleet's again: what every
host's files ask alike (the pod subnets, the release stamp) is worked out once per
inventory."""
from dataclasses import replace

from kubefab.model import NODE, Host
from kubefab.profiles.modern import downloads, network
from kubefab.render import render_host
from modern_fixtures import FAKE_MODERN_PKI, modern_inventory


def fleet(size: int):
    inv = modern_inventory("modern-1.36")  # kubefab's bridge network: every node routes to every other
    nodes = tuple(Host(f"node-{i:03}", f"10.1.{i // 200}.{i % 200 + 10}", NODE) for i in range(size - 1))
    return replace(inv, hosts=(inv.master, *nodes))


def test_every_host_of_a_fleet_rendered_asks_for_the_artifacts_a_few_times_not_the_fleets(monkeypatch):
    inv, calls = fleet(40), []
    artifacts = downloads.artifacts
    monkeypatch.setattr(downloads, "artifacts", lambda i, h: calls.append(h.name) or artifacts(i, h))
    pki = replace(FAKE_MODERN_PKI, kubelets={h.name: FAKE_MODERN_PKI.kubelets["azure-prd-02"] for h in inv.hosts})
    for host in inv.hosts:
        render_host(inv, host, pki)
    assert len(calls) <= 3 * len(inv.hosts)  # was the fleet's for every host: the release stamp's


def test_the_pod_subnets_are_carved_once_per_inventory():
    inv = fleet(5)
    assert network.pod_subnets(inv) is network.pod_subnets(inv)
    assert network.pod_subnets(replace(inv)) == network.pod_subnets(inv)  # another inventory: its own

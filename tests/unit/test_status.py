"""fab status: report() as tables (facts in, problem lines out: file drift, unknowns,
the apiserver on the nodes' port, nodes), and the task's local side: it reads the PKI
and never makes one, and runs nothing on a host but the read-only probe."""
from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

import pytest
from invoke import Config, Context
from invoke.exceptions import Exit

from kubefab import facts as factlib, pki, plan, status
from kubefab.facts import FileFact, HostFacts, UnitFact
from kubefab.layout import OWNED_LABELS
from kubefab.remote import script
from kubefab.remote.transport import Result
from kubefab.render import render_host

try:
    from test_render import FAKE_KEYS, FAKE_PKI, FAKE_TOKEN, seed_inventory
except ImportError:  # tests/ imported as a package
    from tests.unit.test_render import FAKE_KEYS, FAKE_PKI, FAKE_TOKEN, seed_inventory

ROOT = Path(__file__).resolve().parents[2]
SECURE = "https://10.1.0.1:6443, TLS, client certificate"
NODE, MASTER = "azure-prd-02", "azure-prd-01"
ENV, KEY = "/etc/kubernetes.env", "/etc/kubernetes/pki/kubelet.key"


def nodes_json(inv, *, skip=(), unready=(), labels=None) -> str:
    items = [{"metadata": {"name": h.name, "labels": labels or inv.node_labels(h),
                           "annotations": {OWNED_LABELS: ",".join(sorted(inv.node_labels(h)))}},
              "status": {"conditions": [{"type": "Ready", "status": "False" if h.name in unready else "True"}]}}
             for h in inv.nodes if h.name not in skip]
    return json.dumps({"items": items})


def deployed(inv, keys=FAKE_PKI) -> tuple[dict, dict]:
    """(wanted, facts): every host exactly as deploy leaves it, apiserver healthy."""
    wanted = {h.name: render_host(inv, h, keys) for h in inv.hosts}
    facts = {}
    for h in inv.hosts:
        files = {p: FileFact(plan.digest(f.content), f.mode, f.owner, f.group) for p, f in wanted[h.name].items()}
        units = {u: UnitFact("enabled", "active") for u in (*inv.profile.unit_order(h), inv.profile.target(h))}
        api = dict(healthz="ok", loopback="ok" if inv.kubernetes.tls else None,
                   nodes_json=nodes_json(inv)) if h.is_master else {}
        facts[h.name] = HostFacts(files, units, inv.profile.release_stamp(), **api)
    return wanted, facts


def edit(facts, host, path, **change):
    f = facts[host]
    files = {**f.files, path: None if change.get("gone") else replace(f.files[path], **change)}
    return {**facts, host: replace(f, files=files)}


def api(facts, **change):
    return {**facts, MASTER: replace(facts[MASTER], **change)}


TLS = seed_inventory(tls=True)
PLAIN = seed_inventory()
# name -> (inventory, change to the deployed facts, problem lines)
CASES = {
    "as deployed": (TLS, lambda f: f, []),
    "edited": (TLS, lambda f: edit(f, NODE, ENV, sha256="0" * 64), [f"{NODE}: {ENV} differs"]),
    "key readable": (TLS, lambda f: edit(f, NODE, KEY, mode=0o644), [f"{NODE}: {KEY} mode 0644, wanted 0600"]),
    "edited and opened": (TLS, lambda f: edit(f, NODE, ENV, sha256="0" * 64, mode=0o666),
                          [f"{NODE}: {ENV} differs", f"{NODE}: {ENV} mode 0666, wanted 0644"]),
    "owner": (TLS, lambda f: edit(f, NODE, "/home/core/.dockercfg", owner="root"),
              [f"{NODE}: /home/core/.dockercfg owner root:core, wanted core:core"]),
    "secret changed": (TLS, lambda f: edit(f, MASTER, "/etc/kubernetes/pki/apiserver.key", sha256="1" * 64),
                       [f"{MASTER}: /etc/kubernetes/pki/apiserver.key differs"]),
    "gone": (TLS, lambda f: edit(f, NODE, "/opt/bin/wupiao", gone=True), [f"{NODE}: /opt/bin/wupiao missing"]),
    "unit down, release old": (TLS, lambda f: {**f, NODE: replace(f[NODE], stamp="v1.0.0", units={
        **f[NODE].units, "kubernetes.proxy.service": UnitFact("enabled", "failed")})},
        [f"{NODE}: kubernetes.proxy.service is failed", f"{NODE}: release differs"]),
    "secure port refuses, loopback ok": (TLS, lambda f: api(f, healthz="curl: (58) unable to set private key file"), [
        f"{MASTER}: apiserver not ok ({SECURE}): curl: (58) unable to set private key file"]),
    "apiserver down": (TLS, lambda f: api(f, healthz="curl: (7) Failed to connect", loopback="", nodes_json=None), [
        f"{MASTER}: apiserver not ok ({SECURE}): curl: (7) Failed to connect",
        f"{MASTER}: loopback not ok (loopback :8080): no answer",
        f"{MASTER}: nodes unknown: kubectl on the master did not list them"]),
    "a 401 body on one line": (TLS, lambda f: api(f, healthz='{\n  "kind": "Status",\n  "code": 401\n}'), [
        f'{MASTER}: apiserver not ok ({SECURE}): {{ |   "kind": "Status", |   "code": 401 | }}']),
    "master unreachable": (TLS, None, [f"{MASTER}: ssh core@10.1.0.1:22: timed out"]),
    "nodes": (TLS, lambda f: api(f, nodes_json=nodes_json(TLS, skip=("ded-prd-01",), unready=("azure-prd-03",))),
              ["azure-prd-03: node not Ready", "ded-prd-01: node not registered"]),
    "disabled, owed, locked, leftover": (TLS, lambda f: {**f, NODE: replace(
        f[NODE], units={**f[NODE].units, "kubernetes.proxy.service": UnitFact("disabled", "active")},
        owed={"kubernetes.kubelet.service": "run 1"}, holder="ops@box pid 7", leftovers=("up-1",))}, [
        f"{NODE}: kubernetes.proxy.service is disabled, wanted enabled",
        f"{NODE}: restart of kubernetes.kubelet.service owed (owed by an earlier run)",
        f"{NODE}: kubefab lock held by ops@box pid 7; if that run is dead: fab unlock",
        f"{NODE}: leftover /var/lib/kubefab/stage/up-1 (from an interrupted upload)"]),
    "a Node hosts.yaml does not name": (TLS, lambda f: api(f, nodes_json=json.dumps({"items": [
        *json.loads(nodes_json(TLS))["items"], {"metadata": {"name": "old-node"}, "status": {}}]})), [
        "node old-node is in the cluster but not in hosts.yaml; remove it with: kubectl delete node old-node"]),
    "a label kubefab set, dropped from hosts.yaml": (TLS, lambda f: api(f, nodes_json=json.dumps({"items": [
        {**i, "metadata": {**i["metadata"], "labels": {**i["metadata"]["labels"], "old": "x"},
                           "annotations": {OWNED_LABELS: i["metadata"]["annotations"][OWNED_LABELS] + ",old"}}}
        if i["metadata"]["name"] == NODE else i for i in json.loads(nodes_json(TLS))["items"]]})), [
        f"{NODE}: label old=x set by kubefab is no longer in hosts.yaml (deploy removes it)"]),
    "labels kubefab set not recorded (deployed before it did)": (TLS, lambda f: api(f, nodes_json=json.dumps(
        {"items": [{**i, "metadata": {**i["metadata"], "annotations": {}}}
                   for i in json.loads(nodes_json(TLS, skip=("azure-prd-03", "azure-prd-04", "ded-prd-01")))["items"]]
         + json.loads(nodes_json(TLS, skip=(NODE,)))["items"]})), [
        f"{NODE}: labels kubefab set not recorded on the Node ({OWNED_LABELS}; deploy records them)"]),
    "plain as deployed": (PLAIN, lambda f: f, []),
    "plain apiserver down": (PLAIN, lambda f: api(f, healthz="", nodes_json=None), [
        f"{MASTER}: apiserver not ok (http://127.0.0.1:8080): no answer",
        f"{MASTER}: nodes unknown: kubectl on the master did not list them"]),
}


@pytest.mark.parametrize("name", list(CASES))
def test_report(name):
    inv, change, expected = CASES[name]
    wanted, facts = deployed(inv)
    failed = {}
    if change is None:  # the master did not answer its probe
        facts, failed = {n: f for n, f in facts.items() if n != MASTER}, {MASTER: "ssh core@10.1.0.1:22: timed out"}
    else:
        facts = change(facts)
    rep = status.report(inv, wanted, facts, failed)
    assert rep["problems"] == expected
    text = status.table(rep)
    assert ("OK: the cluster is as the inventory says" in text) == (not expected)
    shown = json.dumps(rep) + text
    assert not [s for s in [*FAKE_KEYS, FAKE_TOKEN] if s in shown]  # secrets: digests compared, never shown


def test_table_names_the_checks():
    wanted, facts = deployed(TLS)
    text = status.table(status.report(TLS, wanted, facts, {}))
    assert f"apiserver ok ({SECURE})  loopback :8080 ok" in text
    assert "files 15/15 as wanted" in text and "node Ready" in text
    down = status.table(status.report(TLS, wanted, api(facts, healthz="", nodes_json=None), {}))
    assert f"apiserver NOT ok ({SECURE})" in down and down.count("node unknown") == 4
    assert "absent" not in down and "not registered" not in down
    plain_wanted, plain = deployed(PLAIN)
    master_line = status.table(status.report(PLAIN, plain_wanted, plain, {})).splitlines()[0]
    assert master_line.endswith("apiserver ok (http://127.0.0.1:8080)")  # no loopback: it is the nodes' port


def test_without_the_local_pki_its_files_are_unknown_never_ok(tmp_path):
    inv = replace(TLS, kubernetes=replace(TLS.kubernetes, pki_dir=tmp_path / "pki"))
    _, facts = deployed(inv)  # the hosts as deployed from a PKI this machine does not have
    wanted, lacking = status.wanted(inv)
    facts = edit(edit(facts, NODE, KEY, mode=0o644), NODE, "/etc/kubernetes/pki/kube-proxy.key", gone=True)
    rep = status.report(inv, wanted, facts, {}, lacking)
    assert not (tmp_path / "pki").exists()
    node_pki = ["/etc/kubernetes/pki/ca.crt", "/etc/kubernetes/pki/kube-proxy.crt", "/etc/kubernetes/pki/kubelet.crt", KEY]
    assert rep["problems"][0] == f"pki: {tmp_path / 'pki'} missing; fab deploy makes the cluster CA and certificates there"
    assert f"{NODE}: {KEY} mode 0644, wanted 0600" in rep["problems"]  # the mode is known all the same
    assert f"{NODE}: /etc/kubernetes/pki/kube-proxy.key missing" in rep["problems"]  # and absence
    assert f"{NODE}: {', '.join(node_pki)} unknown (the local pki lacks what they hold)" in rep["problems"]
    assert rep["hosts"][NODE]["files"][KEY] == ["unknown", "mode 0644, wanted 0600"]
    assert rep["hosts"][NODE]["files"][ENV] == []  # what does not come from the PKI is still compared
    assert "(5 unknown)" in status.table(rep)  # the master: ca, apiserver and admin pairs


# --- the task: reads, makes nothing ---------------------------------------------------------

class ProbeOnly:
    """A Fleet whose hosts answer every command with nothing, recording what ran."""
    ran: list = []

    def __init__(self, hosts, **kwargs):
        self.hosts, self.failed = hosts, {}
        self.remotes = {h.name: self.Remote(h) for h in hosts}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass

    def each(self, fn, hosts=None):
        return {h.name: fn(self.remotes[h.name]) for h in hosts or self.hosts}

    class Remote:
        def __init__(self, host):
            self.host = host

        def run(self, argv, **kwargs):
            ProbeOnly.ran.append((self.host.name, script.named(argv) or argv[0], tuple(argv)))
            return Result(" ".join(argv), 0, "", "")


@pytest.fixture
def status_task(tmp_path, monkeypatch):
    """fab status on a copy of hosts.yaml (its PKI beside it, in tmp), hosts faked."""
    from kubefab.ops import status as status_op
    from kubefab.tasks import cluster
    inventory = tmp_path / "cluster" / "hosts.yaml"
    inventory.parent.mkdir()
    inventory.write_text((ROOT / "hosts.yaml").read_text())
    monkeypatch.setenv("KUBEFAB_INVENTORY", str(inventory))
    monkeypatch.setenv("KUBEFAB_REGISTRY_TOKEN", FAKE_TOKEN)
    monkeypatch.setattr(status_op, "Fleet", ProbeOnly)
    ProbeOnly.ran = []
    c = Context(Config(overrides={"kubefab": {"inventory": str(inventory), "parallel": 10, "timeout": 120}}))

    def run():
        with pytest.raises(Exit) as done:
            cluster.status(c)
        return done.value.code
    return run, inventory.parent / "pki"


def snapshot(folder: Path):
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns, p.stat().st_mode) for p in folder.iterdir()}


def test_status_makes_no_pki(status_task, capsys):
    run, folder = status_task
    assert run() == 1  # bare hosts: everything missing
    assert not folder.exists()
    out = capsys.readouterr().out
    assert f"pki: {folder} missing; fab deploy makes the cluster CA and certificates there" in out
    assert {name for _, name, _ in ProbeOnly.ran} == {"probe"}  # nothing else ran on a host


def test_status_leaves_a_pki_as_it_is(status_task, capsys):
    run, folder = status_task
    inv = replace(seed_inventory(tls=True), kubernetes=replace(seed_inventory(tls=True).kubernetes, pki_dir=folder))
    pki.ensure(inv)
    (folder / "kube-proxy.crt").unlink()  # ensure would re-issue it
    (folder / "ca.key").chmod(0o644)  # and tighten this
    folder.chmod(0o755)
    before, mode = snapshot(folder), os.stat(folder).st_mode
    assert run() == 1
    assert snapshot(folder) == before and os.stat(folder).st_mode == mode
    out = capsys.readouterr().out
    assert "kube-proxy.crt: certificate or key missing or unreadable; fab deploy re-issues it" in out
    assert "ca.key mode 0644, wanted 0600; fab deploy tightens it" in out


def test_notes_come_before_the_verdict_so_problems_are_the_last_block():
    """A note (a label set by nodes.register) is no problem: printed after PROBLEMS: it
    read as one of them (the lab's status test counted it as one)."""
    wanted, facts = deployed(TLS)
    rep = status.report(TLS, wanted, api(facts, healthz=""), {})
    rep["notes"] = ["label tier=gold on node azure-prd-02 was set by nodes.register and is not in hosts.yaml"]
    text = status.table(rep)
    verdict = text.partition("PROBLEMS:")[2]
    assert rep["problems"] and "note:" not in verdict
    assert text.index("note: label tier=gold") < text.index("PROBLEMS:")
    rep["problems"] = []
    assert status.table(rep).rstrip().endswith("OK: the cluster is as the inventory says")

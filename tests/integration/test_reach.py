"""Reaching hosts as operators do, on a lab whose first host is the bastion (the only
way in: the others take SSH logins from its address only) and whose hosts.yaml names
it as ssh.bastion (a modern release, no pinned sums):

- a fresh deploy through the bastion as `ops`, whose sudo asks a password (read from
  the lab's ops.password by ssh.sudo_password_file): the bastion's sshd logs each
  forwarded connection, and neither the password nor the registry token shows in
  kubefab's output, any host's journal or any process list (sampled on every host
  and here while the deploy runs);
- a no-op deploy through the lab's ssh_config alone (Host aliases, User,
  IdentityFile, ProxyJump), the inventory naming no user, key or bastion;
- known_hosts read once for the whole fleet; a bastion that refuses, named as such;
- pki.export in the lab's folder, pki.import in a second one, then a no-op deploy and
  the real kubectl from there (the shared admin credential and a fresh one);
- `kubefab upgrade` from the command line after changing only the version.

One lab for the module on 127.0.N.120.."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import yaml

from kubefab.inventory import load
from kubefab.remote.fleet import Fleet
from kubefab_lab import Lab, kubectls

from .conftest import NET, ROOT, free_port_pair, lab_prerequisites, slotted
from .helpers import fab, journal_cursors as cursors, journal_said as said, journal_since as since

pytestmark = pytest.mark.lab

VERSION, NEXT = "v1.37.1", "v1.38.0"
BASTION = "azure-prd-01"
KUBEFAB = str(Path(sys.executable).parent / "kubefab")
PASSPHRASE = "a passphrase for the second operator"


@pytest.fixture(scope="module")
def lab():
    reason = lab_prerequisites()
    if reason:
        pytest.skip(f"no lab: {reason}")
    lab = Lab(Path(f"/var/lib/kubefab/{slotted('lab-reach')}"), ROOT / "build/lab-reach", first_address=120,
              net=NET, etcd_port=free_port_pair(), cgroup=slotted("lab-reach"), log=lambda m: None)
    lab.up(ROOT / "hosts.yaml", version=VERSION, pin_sums=False, bastion=BASTION, bastion_in_inventory=True)
    yield lab
    lab.down()


def variant(lab, name: str, change) -> Path:
    """The lab's hosts.yaml, changed by change(doc), beside it (its relative paths hold)."""
    doc = yaml.safe_load(lab.inventory_path.read_text())
    change(doc)
    path = lab.build_dir / name
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


class Processes(threading.Thread):
    """Every process's command line on every lab host (without SSH) and here, every
    0.1 s, until stopped."""

    def __init__(self, lab):
        super().__init__(daemon=True)
        self.lab, self.seen, self.rounds = lab, set(), 0
        self.done = threading.Event()

    def run(self):
        while not self.done.is_set():
            for name, _ in self.lab.info.hosts:
                r = self.lab.run_on(name, ["ps", "-eo", "args", "--no-headers"], check=False)
                self.seen.update(r.stdout.splitlines())
            here = subprocess.run(["ps", "-eo", "args", "--no-headers"], capture_output=True, text=True)
            self.seen.update(here.stdout.splitlines())
            self.rounds += 1
            self.done.wait(0.1)

    def stop(self):
        self.done.set()
        self.join(30)


@pytest.fixture(scope="module")
def as_ops(lab):
    """The fresh deploy as `ops`, through the bastion: (result, journal cursors, processes)."""
    inventory = variant(lab, "ops.yaml", lambda d: d["ssh"].update(user="ops", sudo_password_file="ops.password"))
    before = cursors(lab)
    watch = Processes(lab)
    watch.start()
    try:
        result = fab(inventory, "deploy", check=False, timeout=600)
    finally:
        watch.stop()
    return result, before, watch


def secrets(lab) -> dict[str, str]:
    return {"the sudo password": lab.sudo_password_file.read_text().strip(),
            "the registry token": (lab.build_dir / "registry.token").read_text().strip()}


def test_a_fresh_deploy_as_a_sudo_password_user_goes_through_the_bastion(lab, as_ops):
    result, before, _ = as_ops
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    assert result.stdout.count("  changed  ") == 5 and "verified: 4 node(s) registered" in result.stdout
    forwarded = said(lab, before, BASTION, "sshd")
    for name, address in lab.info.hosts:
        if name == BASTION:
            continue
        assert f"target {address} port 22" in forwarded, (name, forwarded[-2000:])
        logins = said(lab, before, name, "sshd")
        assert f"Accepted publickey for ops from {lab.info.bastion[1]}" in logins, logins[-1000:]
        sudo = said(lab, before, name, "sudo")
        assert "ops : " in sudo and "USER=root" in sudo  # root work was ops's sudo, not core's
        shells = [line for line in sudo.splitlines() if "ops : " in line and line.endswith("/sh -s")]
        assert len(shells) == logins.count("Accepted publickey for ops"), (name, sudo)  # one root shell a login


def test_neither_the_sudo_password_nor_the_token_shows_anywhere(lab, as_ops):
    result, before, watch = as_ops
    assert watch.rounds >= 5, watch.rounds
    said = result.stdout + result.stderr
    for what, secret in secrets(lab).items():
        assert secret not in said, f"{what} in kubefab's output"
        for name, _ in lab.info.hosts:
            assert secret not in since(lab, before, name, "-o", "verbose"), f"{what} in {name}'s journal"
        assert not [line for line in watch.seen if secret in line], f"{what} in a process list"
    assert any("sudo -S -k -p" in line for line in watch.seen)  # the sampler saw kubefab's sudo at work


def test_an_ssh_config_alias_reaches_every_host_through_its_proxyjump(lab, as_ops):
    def aliases(doc):
        doc["ssh"] = {"config": "ssh_config", "known_hosts": "known_hosts"}  # no user, key or bastion here
        for name, host in doc["hosts"].items():
            host["ssh"] = {"host": name}
    inventory = variant(lab, "aliases.yaml", aliases)
    before = cursors(lab)
    r = fab(inventory, "deploy")
    assert r.stdout.count("  unchanged") == 5, r.stdout
    forwarded = said(lab, before, BASTION, "sshd")
    assert all(f"target {a} port 22" in forwarded for n, a in lab.info.hosts if n != BASTION)
    core = said(lab, before, "azure-prd-02", "sshd")
    assert f"Accepted publickey for core from {lab.info.bastion[1]}" in core  # ssh_config's User


def test_known_hosts_is_read_once_for_the_whole_fleet(lab, as_ops):
    inv = load(lab.inventory_path)
    path = str(inv.hosts[0].ssh.known_hosts)
    reads = []
    sys.addaudithook(lambda event, args: reads.append(1) if event == "open" and args and str(args[0]) == path
                     else None)
    with Fleet(list(inv.hosts)) as fleet:
        assert not fleet.failed, fleet.failed
        count = len(reads)
    assert count == 1, count  # five hosts and their bastion


def test_a_bastion_that_refuses_is_named_for_each_host(lab, as_ops):
    lab.stop_sshd(BASTION)
    try:
        r = fab(lab.inventory_path, "status", check=False)
    finally:
        lab.start_sshd(BASTION)
    assert r.returncode != 0
    bastion = lab.info.bastion[1]
    for name, _ in lab.info.hosts:
        if name != BASTION:
            assert (f"{name}: ssh core@{bastion}:22 (the bastion for {name}): connection refused at "
                    f"{bastion}:22") in r.stdout, r.stdout


def test_a_second_operator_imports_the_pki_then_deploys_nothing_and_uses_kubectl(lab, as_ops, tmp_path):
    archive = tmp_path / "handover.pki"
    env = {"KUBEFAB_PKI_PASSPHRASE": PASSPHRASE}
    fab(lab.inventory_path, "pki.export", str(archive), env=env)
    second = tmp_path / "second-operator"
    second.mkdir()
    for name in ("hosts.yaml", "id_ed25519", "known_hosts", "registry.token"):  # their own copies; no pki/
        shutil.copy2(lab.build_dir / name, second / name)
    inventory = second / "hosts.yaml"
    r = fab(inventory, "pki.import", str(archive), env=env)
    assert "imported" in r.stdout and (second / "pki/ca.key").exists()
    noop = fab(inventory, "deploy")
    assert noop.stdout.count("  unchanged") == 5 and "pki:" not in noop.stdout + noop.stderr, noop.stdout
    kubectl = str(kubectls.ensure("1.37"))
    for flags in ((), ("--fresh",)):
        kc = second / f"kubeconfig{'-'.join(flags)}"
        fab(inventory, "kubeconfig", "--out", str(kc), *flags)
        got = subprocess.run([kubectl, "--kubeconfig", str(kc), "get", "nodes", "-o", "json"], capture_output=True,
                             text=True, timeout=60)
        assert got.returncode == 0, got.stderr
        ready = [i for i in json.loads(got.stdout)["items"]
                 if any(c["type"] == "Ready" and c["status"] == "True" for c in i["status"]["conditions"])]
        assert len(ready) == 4, flags


def test_upgrade_from_the_command_line_after_changing_only_the_version(lab, as_ops):
    inventory = variant(lab, "next.yaml", lambda d: d["kubernetes"].update(version=NEXT))
    r = subprocess.run([KUBEFAB, "upgrade", "--inventory", str(inventory)], capture_output=True, text=True,
                       timeout=900, cwd=lab.build_dir)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr
    status = subprocess.run([KUBEFAB, "status", "--json", "--inventory", str(inventory)], capture_output=True,
                            text=True, timeout=120)
    assert status.returncode == 0, status.stdout[-2000:]

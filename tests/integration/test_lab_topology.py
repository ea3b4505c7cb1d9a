"""Lab shapes kubefab's next features need: three masters and two nodes of a modern
release, one host the bastion (the only way in), hosts taken down one at a time while
the others run (the whole host, or only its sshd) and brought back. One lab for the
module on 127.0.N.60.., driven with the real OpenSSH client and paramiko."""
from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import pytest
import yaml

from kubefab_lab import Lab, bastion, labinventory

from .conftest import NET, ROOT, free_port_pair, lab_prerequisites, slotted
from .test_lab import tiny_inventory

pytestmark = pytest.mark.lab
VERSION = "v1.37.1"


@pytest.fixture(scope="module")
def topology():
    reason = lab_prerequisites()
    if reason:
        pytest.skip(f"no lab: {reason}")
    logs = []
    lab = Lab(Path(f"/var/lib/kubefab/{slotted('lab-topology')}"), ROOT / "build/lab-topology",
              first_address=60, net=NET, etcd_port=free_port_pair(), cgroup=slotted("lab-topology"),
              log=logs.append)
    lab.up(ROOT / "hosts.yaml", nodes=2, masters=3, version=VERSION, bastion="azure-prd-01")
    lab.logs = logs
    yield lab
    lab.down()


@pytest.fixture(scope="module")
def openssh(topology, tmp_path_factory):
    """The real OpenSSH client with the lab's key and known_hosts, and no ProxyJump of
    its own: ssh(*args) -> CompletedProcess."""
    config = tmp_path_factory.mktemp("openssh") / "config"
    config.write_text(f"Host *\n  User core\n  IdentityFile {topology.identity}\n  IdentitiesOnly yes\n"
                      f"  UserKnownHostsFile {topology.known_hosts}\n  StrictHostKeyChecking yes\n"
                      "  BatchMode yes\n  ConnectTimeout 5\n")

    def ssh(*args):
        return subprocess.run(["ssh", "-F", str(config), *args], capture_output=True, text=True, timeout=60)
    return ssh


def behind(lab):
    """The hosts behind the bastion: (name, address)."""
    return [h for h in lab.info.hosts if h != lab.info.bastion]


def refused(address: str) -> bool:
    with socket.socket() as s:
        s.settimeout(2)
        return s.connect_ex((address, 22)) == 111  # ECONNREFUSED: nothing listens there


def journal_cursor(lab, name: str) -> str:
    out = lab.run_on(name, ["journalctl", "-u", "ssh.service", "-n", "0", "--show-cursor", "--no-pager"]).stdout
    return out.rsplit("-- cursor: ", 1)[1].strip()


def journal_after(lab, name: str, cursor: str) -> str:
    return lab.run_on(name, ["journalctl", "-u", "ssh.service", f"--after-cursor={cursor}", "--no-pager"]).stdout


def test_three_masters_and_two_nodes_boot_and_every_master_is_in_the_inventory(topology):
    names = [n for n, _ in topology.info.hosts]
    assert names == ["azure-prd-01", "azure-prd-05", "azure-prd-06", "azure-prd-02", "azure-prd-03"]
    assert [a for _, a in topology.info.hosts] == [f"{NET}.{60 + i}" for i in range(5)]
    doc = yaml.safe_load(topology.inventory_path.read_text())
    assert [labinventory.role(s) for s in doc["hosts"].values()] == ["master"] * 3 + ["node"] * 2
    # a modern release: kubefab runs etcd itself (on the masters), none is named
    assert "etcd_servers" not in doc["kubernetes"] and doc["kubernetes"]["version"] == VERSION
    assert [s.state for s in topology.status()] == ["running"] * 5
    assert any("5 lab hosts ready in" in line for line in topology.logs)


def test_the_bastion_is_named_beside_the_inventory_not_in_it(topology):
    doc = yaml.safe_load(topology.inventory_path.read_text())
    assert "bastion" not in doc["ssh"]  # only with bastion_in_inventory (tests/integration/test_reach.py)
    assert topology.info.bastion == ("azure-prd-01", f"{NET}.60")
    written = yaml.safe_load((topology.build_dir / "bastion.yaml").read_text())
    assert written == {"bastion": {"host": "azure-prd-01", "address": f"{NET}.60", "user": "core", "port": 22}}


def test_pinned_sums_are_said_to_be_this_versions_with_every_releases_beside(topology):
    text = topology.inventory_path.read_text()
    served = ", ".join(topology.info.releases)
    assert f"# The lab's mirror serves {served}.\n  # The sums below are this version's only" in text
    every = yaml.safe_load((topology.build_dir / "sums.yaml").read_text())
    assert list(every) == list(topology.info.releases)
    assert yaml.safe_load(text)["kubernetes"]["sha256"] == every[VERSION] != every["v1.36.4"]


def test_a_direct_login_to_a_host_behind_the_bastion_is_refused(topology, openssh):
    for name, address in behind(topology):
        direct = openssh(f"core@{address}", "true")
        assert direct.returncode == 255 and "Permission denied (publickey)" in direct.stderr, (name, direct)
    assert openssh(f"core@{topology.info.bastion[1]}", "hostname").stdout == "azure-prd-01\n"


def test_ssh_jump_through_the_bastion_works_and_the_bastion_logs_it(topology, openssh):
    name, address = behind(topology)[-1]
    at_bastion, at_host = journal_cursor(topology, "azure-prd-01"), journal_cursor(topology, name)
    jumped = openssh("-J", f"core@{topology.info.bastion[1]}", f"core@{address}", "hostname")
    assert (jumped.returncode, jumped.stdout) == (0, f"{name}\n"), jumped.stderr
    assert f"target {address} port 22" in journal_after(topology, "azure-prd-01", at_bastion)
    # the host saw the login come from the bastion's own address (the lab's SNAT rule)
    assert f"Accepted publickey for core from {topology.info.bastion[1]} port" in \
        journal_after(topology, name, at_host)


def test_the_labs_ssh_config_reaches_every_host_by_name(topology):
    for name, _ in topology.info.hosts:
        r = subprocess.run(["ssh", "-F", str(topology.info.ssh_config), "-o", "BatchMode=yes", name, "hostname"],
                           capture_output=True, text=True, timeout=60)
        assert r.stdout == f"{name}\n", r.stderr


def test_a_host_off_refuses_connections_while_the_others_run_then_comes_back(topology, openssh):
    name, address = topology.info.hosts[1]  # a master
    topology.stop_host(name)
    try:
        assert dict((s.name, s.state) for s in topology.status())[name] == "stopped"
        assert refused(address)
        others = [h for h in behind(topology) if h[0] != name]
        for other, other_address in others:
            assert openssh("-J", f"core@{topology.info.bastion[1]}", f"core@{other_address}",
                           "hostname").stdout == f"{other}\n"
    finally:
        topology.start_host(name)
    assert [s.state for s in topology.status()] == ["running"] * 5
    back = openssh("-J", f"core@{topology.info.bastion[1]}", f"core@{address}", "hostname")
    assert back.stdout == f"{name}\n", back.stderr  # same disk, same host key


def test_sshd_off_leaves_the_host_running_until_sshd_starts_again(topology, openssh):
    name, address = topology.info.hosts[3]  # a node
    topology.stop_sshd(name)
    try:
        assert dict((s.name, s.state) for s in topology.status())[name] == "sshd-off"
        assert refused(address)
        inside = topology.run_on(name, ["systemctl", "is-active", "weave-network.target", "etcd2.service",
                                        "ssh.service"], check=False).stdout.split()
        assert inside == ["active", "active", "inactive"]
    finally:
        topology.start_sshd(name)
    assert dict((s.name, s.state) for s in topology.status())[name] == "running"
    assert openssh("-J", f"core@{topology.info.bastion[1]}", f"core@{address}", "hostname").stdout == f"{name}\n"


def test_the_bastion_halted_and_booted_again_is_still_the_way_in(topology, openssh):
    bastion_name, bastion_address = topology.info.bastion
    name, address = behind(topology)[0]
    topology.stop_host(bastion_name)
    try:
        assert refused(bastion_address)
        cut_off = openssh("-J", f"core@{bastion_address}", f"core@{address}", "true")
        assert cut_off.returncode == 255
    finally:
        topology.start_host(bastion_name)  # a new cgroup: the lab's SNAT rule follows it
    assert openssh("-J", f"core@{bastion_address}", f"core@{address}", "hostname").stdout == f"{name}\n"
    assert openssh(f"core@{address}", "true").returncode == 255  # and still the only way


def test_down_removes_the_bastions_nat_rule(private_lab, tmp_path):
    tiny = private_lab()
    tiny.up(tiny_inventory(tmp_path), bastion="tiny-master")
    assert bastion.active(tiny.cgroup)
    tiny.down()
    assert not bastion.active(tiny.cgroup)
    assert bastion.chain(tiny.cgroup) not in subprocess.run(["iptables", "-t", "nat", "-S"], capture_output=True,
                                                            text=True).stdout

"""The inventory's ssh: keys: a bastion (an inventory host, an address, a mapping,
none), an ssh_config alias and which config files are read, the connect timeout, and
the sudo password's source, read only when the task uses it."""
from __future__ import annotations

from pathlib import Path

import pytest

from kubefab.inventory import InventoryError, load
from kubefab.model import Hop
from tests.unit.test_inventory import mutate, write

ENV = {"KUBEFAB_REGISTRY_TOKEN": "t", "HOME": "/home/tester"}


def with_ssh(lines: str, host_lines: str = "") -> str:
    text = mutate("ssh:\n  user: core\n  port: 22\n", "ssh:\n  user: core\n  port: 22\n" + lines)
    return text.replace("    address: 10.1.0.2\n", "    address: 10.1.0.2\n" + host_lines) if host_lines else text


def loaded(tmp_path, text, environ=ENV, **kwargs):
    return load(write(tmp_path, text), environ, **kwargs)


def test_a_bastion_named_after_an_inventory_host_is_that_host_and_it_goes_straight(tmp_path):
    inv = loaded(tmp_path, with_ssh("  bastion: azure-prd-01\n  identity: keys/id\n"))
    master, node = inv.host("azure-prd-01"), inv.host("azure-prd-02")
    assert master.ssh.bastion is None  # the bastion itself is reached directly
    assert node.ssh.bastion == Hop("10.1.0.1", 22, "core", tmp_path / "keys/id", "azure-prd-01",
                                   frozenset({"user", "port", "identity"}))


@pytest.mark.parametrize("value, hop", [
    ("jump.example.com", ("jump.example.com", 22, "core")),
    ("ops@jump.example.com:2222", ("jump.example.com", 2222, "ops")),
    ("'[fd00::9]:22'", ("fd00::9", 22, "core")),
    ("{host: 10.9.9.9, port: 2200, user: j, identity: k}", ("10.9.9.9", 2200, "j")),
])
def test_a_bastion_by_address(tmp_path, value, hop):
    node = loaded(tmp_path, with_ssh(f"  bastion: {value}\n")).host("azure-prd-02")
    assert (node.ssh.bastion.address, node.ssh.bastion.port, node.ssh.bastion.user) == hop


def test_a_host_can_go_straight_or_have_its_own_bastion(tmp_path):
    text = with_ssh("  bastion: azure-prd-01\n", "    ssh: {bastion: false, host: prd-02}\n")
    text = text.replace("    address: 10.1.0.5\n", "    address: 10.1.0.5\n    ssh: {bastion: azure-prd-02}\n")
    inv = loaded(tmp_path, text)
    node, ded = inv.host("azure-prd-02"), inv.host("ded-prd-01")
    assert node.ssh.bastion is None and node.ssh_target == "prd-02"
    assert ded.ssh.bastion.name == "azure-prd-02" and ded.ssh.bastion.address == "prd-02"  # its alias
    assert ded.ssh.bastion.bastion is None  # azure-prd-02 goes straight: a chain of one


def test_a_bastion_chain_through_inventory_hosts_and_a_loop(tmp_path):
    text = with_ssh("", "    ssh: {bastion: ded-prd-01}\n").replace(
        "    address: 10.1.0.5\n", "    address: 10.1.0.5\n    ssh: {bastion: azure-prd-01}\n")
    hop = loaded(tmp_path, text).host("azure-prd-02").ssh.bastion
    assert (hop.name, hop.bastion.name, hop.bastion.bastion) == ("ded-prd-01", "azure-prd-01", None)
    loop = with_ssh("", "    ssh: {bastion: ded-prd-01}\n").replace(
        "    address: 10.1.0.5\n", "    address: 10.1.0.5\n    ssh: {bastion: azure-prd-02}\n")
    with pytest.raises(InventoryError) as e:
        loaded(tmp_path, loop)
    assert "a loop" in str(e.value) and "bastion: false" in str(e.value)


@pytest.mark.parametrize("lines, says", [
    ("  bastion: 'a b'\n", "ssh.bastion: 'a b' is not a bastion"),
    ("  bastion: {host: j, port: 0}\n", "ssh.bastion.port"),
    ("  bastion: {hots: j}\n", "ssh.bastion.hots: unknown key; did you mean 'host'?"),
    ("  connect_timeout: 0\n", "ssh.connect_timeout: expected a number of seconds above 0"),
    ("  sudo_password_env: A\n  sudo_password_file: b\n", "set exactly one of sudo_password_env"),
    ("  sudo_password_env: NOPE\n", "environment variable NOPE is not set; export NOPE=<sudo password>"),
    ("  sudo_password_file: pw\n", "pw does not exist; write the sudo password into it, then chmod 600"),
    ("  host: x\n", "ssh.host: unknown key"),  # an alias is per host
])
def test_bad_ssh_settings_are_one_line(tmp_path, lines, says):
    with pytest.raises(InventoryError) as e:
        loaded(tmp_path, with_ssh(lines))
    assert says in str(e.value) and "\n" not in str(e.value), str(e.value)


def test_the_sudo_password_is_read_only_when_asked_for(tmp_path):
    pw = tmp_path / "pw"
    pw.write_text("s3cret sudo\n")
    pw.chmod(0o600)
    text = with_ssh("  sudo_password_file: pw\n", "    ssh: {sudo_password_env: NODE_PW}\n")
    inv = loaded(tmp_path, text, {**ENV, "NODE_PW": "other"})
    master, node = inv.host("azure-prd-01").ssh, inv.host("azure-prd-02").ssh
    assert (master.sudo_password, master.sudo_password_source) == ("s3cret sudo", f"file {pw}")
    assert (node.sudo_password, node.sudo_password_source) == ("other", "environment variable NODE_PW")
    assert "s3cret" not in repr(inv)
    lazy = loaded(tmp_path, text.replace("token_env: KUBEFAB_REGISTRY_TOKEN", "token_env: UNSET_TOKEN"),
                  {"HOME": "/home/tester"}, secrets=False)  # nothing set: nothing read, nothing refused
    assert lazy.host("azure-prd-01").ssh.sudo_password is None and lazy.registry.token == ""
    assert lazy.host("azure-prd-02").ssh.sudo_password_source == "environment variable NODE_PW"


def test_which_ssh_configs_are_read(tmp_path):
    default = loaded(tmp_path, with_ssh("")).host("azure-prd-01").ssh.config
    assert default == (Path("/home/tester/.ssh/config"), Path("/etc/ssh/ssh_config"))
    assert loaded(tmp_path, with_ssh("  config: false\n")).host("azure-prd-01").ssh.config == ()
    assert loaded(tmp_path, with_ssh("  config: my_ssh\n")).host("azure-prd-01").ssh.config == (tmp_path / "my_ssh",)


def test_what_the_inventory_sets_is_recorded_over_ssh_config(tmp_path):
    inv = loaded(tmp_path, mutate("ssh:\n  user: core\n  port: 22\n", "ssh:\n  connect_timeout: 2.5\n"))
    ssh = inv.host("azure-prd-01").ssh
    assert ssh.given == {"connect_timeout"} and ssh.connect_timeout == 2.5 and ssh.user == "core"

"""What an operator tripped over in the first week, one test each: each failed before
its fix. kubeconfig --merge over another cluster's names, output paths that cannot be
written, a closed pipe, a mistyped flag, settings from FABRIC_* and fabric.yaml, tasks
that asked for secrets they never use, folders made unasked, IPv6 addresses, a new
host key recorded without its fingerprint, and a deploy that kept quiet about nodes
the inventory does not name."""
from __future__ import annotations

import io
import os
import subprocess
from contextlib import redirect_stdout

import paramiko
import pytest
import yaml

from fakehost import FakeCluster
from kubefab.inventory import InventoryError, load
from kubefab.ops.deploy import Deploy, Options
from tests.unit.test_cli import BIN, ROOT, hosts_yaml, kubefab  # noqa: F401 (fixtures)
from tests.unit.test_inventory import mutate, write

OTHER = {"apiVersion": "v1", "kind": "Config", "current-context": "prd",
         "clusters": [{"name": "prd", "cluster": {"server": "https://other.example:6443"}}],
         "users": [{"name": "prd", "user": {"token": "theirs"}}],
         "contexts": [{"name": "prd", "context": {"cluster": "prd", "user": "prd"}}]}


def one_line_error(r, *needles) -> None:
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert "Traceback" not in r.stdout + r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


@pytest.fixture
def with_pki(kubefab, hosts_yaml, tmp_path):
    assert kubefab("render", "--out", str(tmp_path / "r"), inventory=hosts_yaml).returncode == 0
    return hosts_yaml


def test_merge_refuses_to_replace_another_servers_context_without_force(kubefab, with_pki, tmp_path):
    mine = tmp_path / "kube" / "config"
    mine.parent.mkdir()
    mine.write_text(yaml.safe_dump(OTHER))
    r = kubefab("kubeconfig", "--merge", "--context", "prd", "--out", str(mine), inventory=with_pki)
    one_line_error(r, "prd", "https://other.example:6443", "--force")
    assert yaml.safe_load(mine.read_text()) == OTHER  # untouched
    r = kubefab("kubeconfig", "--merge", "--context", "prd", "--out", str(mine), "--force", inventory=with_pki)
    assert r.returncode == 0, r.stderr
    assert yaml.safe_load(mine.read_text())["clusters"][0]["cluster"]["server"].endswith(":6443")
    backups = [p for p in mine.parent.iterdir() if p.name.startswith("config.kubefab-backup")]
    assert len(backups) == 1 and yaml.safe_load(backups[0].read_text()) == OTHER, backups
    assert oct(backups[0].stat().st_mode & 0o777) == "0o600"
    assert backups[0].name in r.stdout


def test_merge_again_into_the_same_server_needs_no_force(kubefab, with_pki, tmp_path):
    mine = tmp_path / "config"
    for _ in range(2):
        r = kubefab("kubeconfig", "--merge", "--context", "prd", "--out", str(mine), inventory=with_pki)
        assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("task", ["render", "cloud-config"])
def test_out_at_a_file_is_one_line(kubefab, hosts_yaml, tmp_path, task):
    afile = tmp_path / "afile"
    afile.write_text("x")
    one_line_error(kubefab(task, "--out", str(afile), inventory=hosts_yaml), "--out", str(afile))
    one_line_error(kubefab(task, "--out", str(afile / "sub"), inventory=hosts_yaml), "--out")


def test_out_that_cannot_be_written_is_one_line(kubefab, with_pki, tmp_path):
    one_line_error(kubefab("render", "--out", "/proc/kubefab-out", inventory=with_pki), "--out /proc/kubefab-out")
    one_line_error(kubefab("kubeconfig", "--out", str(tmp_path), inventory=with_pki), "--out", "folder")
    one_line_error(kubefab("logs", "--out", "/proc/kubefab-logs", inventory=with_pki), "--out")


def test_out_makes_no_parent_folders_unasked(kubefab, with_pki, tmp_path):
    target = tmp_path / "no" / "such" / "kc"
    one_line_error(kubefab("kubeconfig", "--out", str(target), inventory=with_pki), str(tmp_path / "no" / "such"))
    assert not (tmp_path / "no").exists()
    one_line_error(kubefab("render", "--out", str(tmp_path / "a" / "b"), inventory=with_pki), str(tmp_path / "a"))
    assert not (tmp_path / "a").exists()
    assert kubefab("render", "--out", str(tmp_path / "made"), inventory=with_pki).returncode == 0  # the folder itself


def test_a_closed_pipe_ends_quietly():
    proc = subprocess.Popen([str(BIN / "kubefab"), "--list"], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    proc.stdout.close()  # as `| head -1` does once it has its line
    err = proc.stderr.read().decode()
    proc.wait(30)
    assert "Traceback" not in err and "BrokenPipe" not in err, err
    assert proc.returncode in (0, 1, 141), proc.returncode


@pytest.mark.parametrize("args, closest", [(("deploy", "--dryrun"), "--dry-run"),
                                          (("status", "--jsn"), "--json"),
                                          (("deplyo",), "deploy")])
def test_an_unknown_flag_is_exit_2_naming_the_closest(kubefab, hosts_yaml, args, closest):
    one_line_error(kubefab(*args, inventory=hosts_yaml), args[-1], closest)


@pytest.mark.parametrize("env, names", [
    ({"FABRIC_KUBEFAB_PARALLEL": "0"}, "kubefab.parallel"),
    ({"FABRIC_KUBEFAB_TIMEOUT": "-5"}, "kubefab.timeout"),
    ({"FABRIC_KUBEFAB_PARALLEL": "abc"}, "FABRIC_KUBEFAB_PARALLEL"),
])
def test_settings_from_the_environment_are_checked_like_flags(kubefab, hosts_yaml, env, names):
    one_line_error(kubefab("deploy", "--dry-run", inventory=hosts_yaml, **env), names)


def test_settings_from_fabric_yaml_are_checked_like_flags(kubefab, hosts_yaml, tmp_path, monkeypatch):
    (tmp_path / "fabric.yaml").write_text("kubefab:\n  parallel: 0\n")
    monkeypatch.setattr(os, "getcwd", lambda: str(tmp_path))  # the operator's folder holds fabric.yaml
    one_line_error(kubefab("deploy", "--dry-run", inventory=hosts_yaml), "kubefab.parallel", "0")


def test_tasks_ask_only_for_the_secrets_they_use(kubefab, hosts_yaml, tmp_path):
    no_token = {"KUBEFAB_REGISTRY_TOKEN": ""}
    r = kubefab("render", "--out", str(tmp_path / "r"), inventory=hosts_yaml, **no_token)
    assert r.returncode == 0, r.stderr
    assert kubefab("cloud-config", "--out", str(tmp_path / "c"), inventory=hosts_yaml, **no_token).returncode == 0
    r = kubefab("kubeconfig", "--out", str(tmp_path / "kc"), inventory=hosts_yaml, **no_token)
    assert r.returncode == 0, r.stderr
    one_line_error(kubefab("render", "--with-secrets", "--out", str(tmp_path / "s"), inventory=hosts_yaml,
                           **no_token), "KUBEFAB_REGISTRY_TOKEN")
    one_line_error(kubefab("logs", "--unit", "nope", inventory=hosts_yaml, **no_token), "--unit 'nope'")
    one_line_error(kubefab("deploy", "--dry-run", inventory=hosts_yaml, **no_token), "KUBEFAB_REGISTRY_TOKEN")


def test_an_ipv6_address_is_refused_in_one_line(tmp_path):
    text = mutate("    address: 10.1.0.1\n", "    address: fd00::1\n").replace("v1.0.1", "v1.37.1")
    text = text.replace("  release_url: https://example.com/v1.37.1/kubernetes.tar.gz\n  release_sha256: null\n", "")
    text = text.replace("  etcd_servers:\n    - http://10.1.0.1:2379\n    - http://10.1.0.2:2379\n", "")
    text = text.replace("  requires: [weave-network.target, etcd2.service]\n  registration: manual\n", "")
    with pytest.raises(InventoryError) as e:
        load(write(tmp_path, text), {"KUBEFAB_REGISTRY_TOKEN": "t"})
    message = str(e.value)
    assert "hosts.azure-prd-01.address" in message and "IPv6" in message and "\n" not in message, message


def test_a_new_host_key_is_shown_with_its_type_and_fingerprint(tmp_path):
    from kubefab.model import Host, Ssh
    from kubefab.remote.ssh import Remote
    known = tmp_path / "known_hosts"
    host = Host("n1", "127.0.0.9", "node", ssh=Ssh(known_hosts=known))
    remote = Remote(host, accept_new=True)
    key = paramiko.ECDSAKey.generate()
    out = io.StringIO()
    with redirect_stdout(out):
        remote.cxn.client._policy.missing_host_key(remote.cxn.client, "127.0.0.9", key)
    assert key.get_base64() in known.read_text()
    said = out.getvalue()
    assert "ecdsa-sha2-nistp256" in said and key.fingerprint in said and "127.0.0.9" in said, said


def test_deploy_says_the_nodes_the_inventory_does_not_name(inv, capsys):
    cluster = FakeCluster(inv)
    assert Deploy(inv, list(inv.hosts), Options(), connect=cluster.connect).run() == 0
    cluster.api.nodes["old-node"] = {"kubernetes.io/hostname": "old-node"}
    capsys.readouterr()
    assert Deploy(inv, list(inv.hosts), Options(), connect=cluster.connect).run() == 0
    assert "node old-node is in the cluster but not in hosts.yaml" in capsys.readouterr().out


def test_invokes_options_that_do_nothing_here_are_gone_and_the_sudo_prompt_works(kubefab, hosts_yaml):
    listing = kubefab("--help").stdout
    for gone in ("--dry", "--echo", "--hide", "--pty", "--warn-only", "--command-timeout"):
        assert gone not in listing, gone
    assert "--prompt-for-sudo-password" in listing
    one_line_error(kubefab("-R", "deploy", inventory=hosts_yaml), "-R")
    from invoke import Context
    from kubefab.cli import KubefabConfig
    from kubefab.tasks import common
    config = KubefabConfig(overrides={"sudo": {"password": "from the prompt"}})
    inv = common.inventory(Context(config), str(hosts_yaml))  # what --prompt-for-sudo-password sets
    assert {(h.ssh.sudo_password, h.ssh.sudo_password_source) for h in inv.hosts} == {("from the prompt",
                                                                                        "the prompt")}
    fabs_dry = KubefabConfig(overrides={"run": {"dry": True}, "kubefab": {"parallel": 10, "timeout": 120}})
    assert common.options(Context(fabs_dry), "deploy").dry_run  # fab --dry (-R): a dry run, not a no-op
    r = kubefab("status", "--ask-sudo-password", inventory=hosts_yaml)  # no terminal here
    one_line_error(r, "--ask-sudo-password needs a terminal")


def test_a_run_whose_reader_left_goes_on_quietly(monkeypatch):
    """`kubefab deploy | head -1`: the hosts' work must not fail for want of a reader."""
    from kubefab import report

    class Gone(io.StringIO):
        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")
    monkeypatch.setitem(report._progress, "stream", Gone())
    report.say("h1", "one line too many")  # no exception: a worker thread's step goes on
    report.say("h1", "and the next")
    assert report._progress["stream"].name == os.devnull

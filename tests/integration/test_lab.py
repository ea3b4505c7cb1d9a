"""The lab itself: real systemd hosts over real SSH, and an up/down that leaves nothing
behind. The shared `lab` fixture is only read here (and any change undone); the tests
that kill or take down a lab use a small private one on 127.0.0.200.."""
from __future__ import annotations

import json
import os
import shlex
import signal
import socket
import subprocess
import time
from pathlib import Path

import paramiko
import pytest
import yaml

from kubefab_lab import Lab, LabError, labinventory, machines, procs, users
from .conftest import NET

pytestmark = pytest.mark.lab
ROOT = Path(__file__).resolve().parents[2]
KUBECTL = "/usr/lib/google-cloud-sdk/bin/kubectl.1.32"


def connect(address, identity, known_hosts, user="core") -> paramiko.SSHClient:
    """A client of our own (not kubefab's), that trusts only the lab's known_hosts."""
    client = paramiko.SSHClient()
    client.load_host_keys(str(known_hosts))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    client.connect(address, 22, username=user, key_filename=str(identity),
                   look_for_keys=False, allow_agent=False, timeout=5)
    return client


def run(client, command, stdin=None):
    """(exit status, stdout and stderr together)."""
    chan = client.get_transport().open_session(timeout=10)
    chan.settimeout(120)
    chan.set_combine_stderr(True)
    chan.exec_command(command)
    if stdin is not None:
        chan.sendall(stdin.encode())
        chan.shutdown_write()
    out = chan.makefile("rb").read().decode()
    return chan.recv_exit_status(), out


def ssh(lab, address, command):
    with connect(address, lab.identity, lab.known_hosts) as client:
        return run(client, command)


def listening(address, port):
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((address, port)) == 0


def test_every_host_is_a_real_systemd_host_reached_with_verified_keys(lab):
    assert [name for name, _ in lab.info.hosts] == list(
        yaml.safe_load((ROOT / "hosts.yaml").read_text())["hosts"])
    for name, address in lab.info.hosts:
        code, out = ssh(lab, address, "hostname; id -un; sudo -n true && echo sudo-ok; "
                                      "ps -o comm= -p 1; systemctl is-system-running; "
                                      "systemctl is-active weave-network.target etcd2.service")
        hostname, user, sudo, init, system, weave, etcd2 = out.split()
        assert (hostname, user, sudo, init) == (name, "core", "sudo-ok", "systemd")
        assert system in ("running", "degraded"), lab.info.degraded
        assert (weave, etcd2) == ("active", "active")


def test_the_sudo_user_needs_the_labs_password_on_every_host(lab):
    password = lab.info.sudo_password_file.read_text().strip()
    assert oct(lab.info.sudo_password_file.stat().st_mode)[-3:] == "600" and len(password) >= 20
    for name, address in lab.info.hosts:
        with connect(address, lab.identity, lab.known_hosts, user=lab.info.sudo_user) as client:
            assert run(client, "id -un; id -u") == (0, "ops\n501\n")
            code, out = run(client, "sudo -n true")
            assert code == 1 and "a password is required" in out, (name, out)
            assert run(client, "sudo -S -p '' id -un", stdin=password + "\n") == (0, "root\n"), name
    with connect(address, lab.identity, lab.known_hosts, user=lab.info.sudo_user) as client:
        code, out = run(client, "sudo -S -p '' true", stdin="not-the-password\n")  # PAM waits 2 s
        assert code == 1 and "incorrect password" in out, out


def test_haproxy_and_nginx_are_installed_and_left_off(lab):
    name, address = lab.info.hosts[0]
    code, out = ssh(lab, address, "/usr/sbin/haproxy -v | head -1; /usr/sbin/nginx -V 2>&1 | grep -c -- --with-stream=dynamic; "
                                  "ls /etc/nginx/modules-enabled /etc/nginx/sites-enabled; "
                                  "systemctl is-enabled haproxy nginx; systemctl is-active haproxy nginx")
    lines = out.splitlines()
    assert lines[0].startswith("HAProxy version 2.6") and lines[1] == "1", out
    assert lines[2:] == ["/etc/nginx/modules-enabled:", "50-mod-stream.conf", "", "/etc/nginx/sites-enabled:",
                         "disabled", "disabled", "inactive", "inactive"], out


def test_a_host_key_that_differs_from_known_hosts_is_refused(lab, tmp_path):
    (a, a_address), (b, b_address) = lab.info.hosts[:2]
    keys = dict(line.split(" ", 1) for line in lab.known_hosts.read_text().splitlines())
    wrong = tmp_path / "known_hosts"
    wrong.write_text(f"{a_address} {keys[b_address]}")  # a's address, b's key
    with pytest.raises(paramiko.BadHostKeyException):
        connect(a_address, lab.identity, wrong)


def test_the_lab_inventory_points_at_the_lab(lab):
    from kubefab.inventory import load

    inv = load(lab.inventory_path)
    assert [(h.name, h.address, h.bind_address) for h in inv.hosts] == [
        (n, a, a) for n, a in lab.info.hosts]
    assert inv.hosts[0].ssh.identity == lab.identity
    assert inv.hosts[0].ssh.known_hosts == lab.known_hosts
    assert inv.kubernetes.etcd_servers == (f"http://127.0.0.1:{lab.etcd_port}",)
    assert inv.registry.token and oct(lab.inventory_path.with_name("registry.token").stat().st_mode)[-3:] == "600"
    assert oct(lab.identity.stat().st_mode)[-3:] == "600"
    # the served tarball is the inventory's, byte for byte, as a host downloads it
    code, out = ssh(lab, inv.master.address,
                    f"curl -sf {inv.kubernetes.release_url} | sha256sum")
    assert out.split()[0] == inv.kubernetes.release_sha256


def test_upper_dir_shows_what_the_lab_wrote_on_a_host(lab):
    name, address = lab.info.hosts[1]
    upper = lab.upper_dir(name)
    assert f"ListenAddress {address}:22" in (upper / "etc/ssh/sshd_config.d/10-lab.conf").read_text()
    assert (upper / "etc/hostname").read_text() == f"{name}\n"
    assert (upper / "home/core/.ssh/authorized_keys").read_text() == \
        lab.identity.with_suffix(".pub").read_text()
    assert "curl -sf" in (upper / "etc/systemd/system/etcd2.service").read_text()
    host_key = (upper / "etc/ssh/ssh_host_ed25519_key.pub").read_text().split()[:2]
    assert f"{address} {' '.join(host_key)}" in lab.known_hosts.read_text().splitlines()


def test_status_lists_every_host_running(lab):
    assert [(s.name, s.address, s.state) for s in lab.status()] == [
        (n, a, "running") for n, a in lab.info.hosts]


def test_a_second_up_fails_clearly_and_leaves_the_lab_alone(lab):
    again = Lab(lab.layout.root, lab.build_dir, log=lambda m: None)
    with pytest.raises(LabError, match=rf"already up: 5 hosts \(azure-prd-01 {NET}.2.*etcd \(pid \d+\)"):
        again.up(ROOT / "hosts.yaml")
    assert all(s.state == "running" for s in lab.status())


def test_an_address_in_use_is_named_before_anything_boots(lab, private_lab, tmp_path):
    other = private_lab(first_address=2)
    with pytest.raises(LabError, match=rf"{NET}\.2:22 is already taken \(lab host tiny-master"):
        other.up(tiny_inventory(tmp_path))
    assert not (other.layout.root / "hosts").exists()


def test_missing_tools_name_their_apt_packages(private_lab, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing to be found
    with pytest.raises(LabError, match=r"apt-get install -y .*etcd-server.*systemd-container"):
        private_lab().up(ROOT / "hosts.yaml")


def test_nodes_resizes_the_cluster_after_the_first_node():
    hosts = yaml.safe_load((ROOT / "hosts.yaml").read_text())["hosts"]
    assert list(labinventory.scale(hosts, 1)) == ["azure-prd-01", "azure-prd-02"]
    grown = labinventory.scale(hosts, 49)
    assert len(grown) == 50 and len(set(grown)) == 50
    assert list(grown)[:7] == [*hosts, "azure-prd-05", "azure-prd-06"]
    assert list(grown)[-1] == "azure-prd-49"
    assert grown["azure-prd-49"] == {"labels": hosts["azure-prd-02"]["labels"]}
    addresses = labinventory.addresses(grown)
    assert (addresses["azure-prd-01"], addresses["azure-prd-49"]) == ("127.0.0.2", "127.0.0.51")


def test_masters_are_kept_and_can_be_added_like_nodes():
    hosts = yaml.safe_load((ROOT / "hosts.yaml").read_text())["hosts"]
    three = {**hosts, "azure-prd-03": {**hosts["azure-prd-03"], "role": "master"},
             "azure-prd-04": {**hosts["azure-prd-04"], "role": "master"}}
    kept = labinventory.scale(three, 1)
    assert list(kept) == ["azure-prd-01", "azure-prd-03", "azure-prd-04", "azure-prd-02"]
    grown = labinventory.scale(hosts, 2, masters=3)
    assert list(grown) == ["azure-prd-01", "azure-prd-05", "azure-prd-06", "azure-prd-02", "azure-prd-03"]
    assert [labinventory.role(s) for s in grown.values()] == ["master"] * 3 + ["node"] * 2
    assert list(labinventory.scale(hosts, 3, masters=2)) == [
        "azure-prd-01", "azure-prd-05", "azure-prd-02", "azure-prd-03", "azure-prd-04"]
    with pytest.raises(LabError, match="--masters must be 1 or more"):
        labinventory.scale(hosts, 1, masters=0)


def test_the_bastion_goes_into_the_inventory_only_when_asked():
    doc = yaml.safe_load((ROOT / "hosts.yaml").read_text())
    addrs = labinventory.addresses(doc["hosts"])
    assert "bastion" not in labinventory.lab_inventory(doc, doc["hosts"], addrs, etcd_url="http://e")["ssh"]
    asked = labinventory.lab_inventory(doc, doc["hosts"], addrs, etcd_url="http://e", bastion="azure-prd-01")
    assert asked["ssh"]["bastion"] == "azure-prd-01"


def test_the_sudo_users_password_is_set_in_shadow_and_nothing_else():
    shadow = "root:*:20000:0:99999:7:::\nops:!:20794:0:99999:7:::\ncore:!:20794:0:99999:7:::\n"
    assert users.shadow_with(shadow, "ops", "$6$salt$hash") == shadow.replace("ops:!:", "ops:$6$salt$hash:")
    with pytest.raises(LabError, match="no user ops"):
        users.shadow_with("root:*:1:0:99999:7:::\n", "ops", "$6$x$y")
    assert users.password_hash("secret").startswith("$6$")


def test_an_inventory_without_a_master_is_refused(tmp_path):
    doc = yaml.safe_load((ROOT / "hosts.yaml").read_text())
    doc["hosts"]["azure-prd-01"].pop("role")
    path = tmp_path / "hosts.yaml"
    path.write_text(yaml.safe_dump(doc))
    with pytest.raises(LabError, match=r"no host has `role: master`"):
        labinventory.read(path)


# -- a private lab, to kill and take down -----------------------------------------
def tiny_inventory(tmp_path):
    doc = yaml.safe_load((ROOT / "hosts.yaml").read_text())
    doc["hosts"] = {"tiny-master": {"address": "10.9.0.1", "role": "master"},
                    "tiny-node-01": {"address": "10.9.0.2", "labels": {"host": "azure"}}}
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


@pytest.fixture
def tiny(private_lab):
    return private_lab()


def traces(lab, http_port):
    """Everything of this lab that can outlive it: processes, mounts, cgroups, listeners."""
    root = str(lab.layout.root)
    pids = [int(p) for p in os.listdir("/proc") if p.isdigit() and procs.alive(int(p), root)]
    cgroups = [str(r / lab.cgroup) for r in machines.cgroup_roots() if (r / lab.cgroup).exists()]
    ports = [f"{a}:{p}" for a, p in [(f"{NET}.200", 22), (f"{NET}.201", 22),
                                     ("127.0.0.1", lab.etcd_port), ("127.0.0.1", lab.etcd_port + 1),
                                     ("127.0.0.1", http_port)] if listening(a, p)]
    return {"processes": pids, "mounts": machines.mounts_under(lab.layout.root),
            "cgroups": cgroups, "listening": ports,
            "propagate": [n for n in ("tiny-master", "tiny-node-01") if (machines.PROPAGATE / n).exists()]}


def test_down_leaves_nothing_behind(tiny, tmp_path):
    info = tiny.up(tiny_inventory(tmp_path))
    assert [a for _, a in info.hosts] == [f"{NET}.200", f"{NET}.201"]
    http_port = int(info.release_url.split(":")[2].split("/")[0])
    before = traces(tiny, http_port)
    assert len(before["processes"]) == 4 and len(before["listening"]) == 5, before
    tiny.down()
    assert traces(tiny, http_port) == {"processes": [], "mounts": [], "cgroups": [],
                                       "listening": [], "propagate": []}
    assert tiny.status() == []


def test_up_after_a_crash_cleans_up_and_boots_again(tiny, tmp_path):
    tiny.up(tiny_inventory(tmp_path))
    old_keys = tiny.known_hosts.read_text()
    for name in ("tiny-master", "tiny-node-01"):  # the crash: nspawn killed, mounts left
        os.kill(machines.nspawn_pid(tiny.layout, name), signal.SIGKILL)
    time.sleep(0.5)
    assert [s.state for s in tiny.status()] == ["crashed", "crashed"]
    assert machines.mounts_under(tiny.layout.root)  # left behind
    info = tiny.up(tiny_inventory(tmp_path))
    assert [s.state for s in tiny.status()] == ["running", "running"]
    assert tiny.known_hosts.read_text() != old_keys  # new hosts, new keys
    code, out = ssh(tiny, info.hosts[0][1], "systemctl is-active etcd2.service")
    assert out.strip() == "active"


def test_a_stopped_host_is_down_until_started_again(tiny, tmp_path):
    tiny.up(tiny_inventory(tmp_path))
    tiny.stop_host("tiny-node-01")
    assert [s.state for s in tiny.status()] == ["running", "stopped"]
    assert not listening(f"{NET}.201", 22)
    tiny.start_host("tiny-node-01")  # same upper dir: same host key, known_hosts still holds
    code, out = ssh(tiny, f"{NET}.201", "hostname")
    assert out.strip() == "tiny-node-01"


def test_a_faulty_release_is_served_beside_the_good_one(tiny, tmp_path):
    info = tiny.up(tiny_inventory(tmp_path))
    url, sha = tiny.serve_release("v1.0.1", {"apiserver-exits"})
    assert url != info.release_url and sha != info.release_sha256
    code, out = ssh(tiny, f"{NET}.200", f"curl -sf {url} | sha256sum; curl -sf {info.release_url} | sha256sum")
    assert out.split()[::2] == [sha, info.release_sha256]


# -- the stand-in apiserver, started by hand on the master, driven by the real kubectl --
UNPACK = """set -e
d=$(mktemp -d /tmp/standin.XXXXXX); cd "$d"
curl -sf "$1" -o kubernetes.tar.gz
tar xzf kubernetes.tar.gz
tar xzf kubernetes/server/kubernetes-server-linux-amd64.tar.gz
echo "$d/kubernetes/server/bin/kube-apiserver"
"""


def unpack(lab, address, url):
    code, out = ssh(lab, address, f"sh -c {shlex.quote(UNPACK)} sh {shlex.quote(url)}")
    assert code == 0, out
    return out.strip()


def kubectl(server, *args, stdin=None):
    return subprocess.run([KUBECTL, "-s", server, *args], input=stdin, capture_output=True,
                          text=True, timeout=60)


@pytest.fixture
def apiserver(lab):
    """The served release's kube-apiserver on the master, as a transient systemd unit."""
    pytest.importorskip("kubefab_lab.release")
    if not os.path.exists(KUBECTL):
        pytest.skip(f"no {KUBECTL}")
    name, address = lab.info.hosts[0]
    port = 8080 if not listening(address, 8080) else 18080  # a deployed cluster owns 8080
    binary = unpack(lab, address, lab.info.release_url)
    argv = ["sudo", "-n", "systemd-run", "--unit=lab-test-apiserver", "--collect", binary,
            f"--insecure-bind-address={address}", f"--insecure-port={port}",
            f"--etcd-servers={lab.info.etcd_url}", "--service-cluster-ip-range=10.100.0.0/16"]
    code, out = ssh(lab, address, shlex.join(argv))
    assert code == 0, out
    server = f"http://{address}:{port}"
    try:
        deadline = time.monotonic() + 30
        while kubectl(server, "get", "--raw", "/healthz").stdout != "ok":
            assert time.monotonic() < deadline, "the stand-in apiserver never got healthy"
            time.sleep(0.2)
        yield server
    finally:
        kubectl(server, "delete", "node", "lab-test-node", "--ignore-not-found")
        ssh(lab, address, "sudo -n systemctl stop lab-test-apiserver; "
                          f"rm -rf {shlex.quote(binary.rsplit('/kubernetes/', 1)[0])}")


def test_the_served_apiserver_answers_the_real_kubectl(apiserver):
    node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "lab-test-node"}}
    # a v1.0 apiserver has no OpenAPI to validate against, as the real one
    created = kubectl(apiserver, "create", "--validate=false", "-f", "-", stdin=json.dumps(node))
    assert created.returncode == 0, created.stderr
    labeled = kubectl(apiserver, "label", "node", "lab-test-node", "workload=lab-test")
    assert labeled.returncode == 0, labeled.stderr
    got = json.loads(kubectl(apiserver, "get", "nodes", "-o", "json").stdout)
    labels = {i["metadata"]["name"]: i["metadata"].get("labels", {}) for i in got["items"]}
    assert labels["lab-test-node"]["workload"] == "lab-test"


def test_an_apiserver_given_a_removed_flag_exits_non_zero(lab):
    pytest.importorskip("kubefab_lab.release")
    url, _ = lab.serve_release("v1.24.0")  # --insecure-port went away in 1.24
    name, address = lab.info.hosts[0]
    binary = unpack(lab, address, url)
    try:
        code, out = ssh(lab, address, f"timeout 20 {binary} --insecure-port=8080 "
                                      f"--etcd-servers={lab.info.etcd_url} 2>&1; echo exit=$?")
    finally:
        ssh(lab, address, f"rm -rf {shlex.quote(binary.rsplit('/kubernetes/', 1)[0])}")
    status = int(out.rsplit("exit=", 1)[1])
    assert status not in (0, 124), out  # 124: still running when timeout stopped it
    assert "insecure-port" in out

"""The lab itself: real systemd hosts over real SSH, and an up/down that leaves nothing
behind. The shared `lab` fixture is only read here (and any change undone); the tests
that kill or take down a lab use a small private one on 127.0.0.200.."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import paramiko
import pytest
import yaml

from kubefab.lab import Lab, LabError, machines, procs
from kubefab.lab.ready import connect, run

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
KUBECTL = "/usr/lib/google-cloud-sdk/bin/kubectl.1.32"


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
    assert inv.kubernetes.etcd_servers == ("http://127.0.0.1:2379",)
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
    again = Lab(build_dir=lab.build_dir, log=lambda m: None)
    with pytest.raises(LabError, match=r"already up: 5 hosts \(azure-prd-01 127.0.0.2.*etcd \(pid \d+\)"):
        again.up(ROOT / "hosts.yaml")
    assert all(s.state == "running" for s in lab.status())


def test_an_address_in_use_is_named_before_anything_boots(lab, private_lab, tmp_path):
    other = private_lab(first_address=2)
    with pytest.raises(LabError, match=r"127\.0\.0\.2:22 is already taken \(lab host tiny-master"):
        other.up(tiny_inventory(tmp_path))
    assert not (other.layout.root / "hosts").exists()


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


def traces(lab):
    """Everything of this lab that can outlive it: processes, mounts, cgroups, listeners."""
    root = str(lab.layout.root)
    pids = [int(p) for p in os.listdir("/proc") if p.isdigit() and procs.alive(int(p), root)]
    cgroups = [str(r / lab.cgroup) for r in machines.cgroup_roots() if (r / lab.cgroup).exists()]
    ports = [f"{a}:{p}" for a, p in [("127.0.0.200", 22), ("127.0.0.201", 22),
                                     ("127.0.0.1", 23790), ("127.0.0.1", 23791)]
             if listening(a, p)]
    state = json.loads(lab.layout.state_file.read_text()) if lab.layout.state_file.exists() else {}
    if state.get("http_url"):
        ports += [state["http_url"]] if listening("127.0.0.1", int(state["http_url"].rsplit(":", 1)[1])) else []
    return {"processes": pids, "mounts": machines.mounts_under(lab.layout.root),
            "cgroups": cgroups, "listening": ports,
            "propagate": [n for n in ("tiny-master", "tiny-node-01") if (machines.PROPAGATE / n).exists()]}


def test_down_leaves_nothing_behind(tiny, tmp_path):
    info = tiny.up(tiny_inventory(tmp_path))
    assert [a for _, a in info.hosts] == ["127.0.0.200", "127.0.0.201"]
    assert traces(tiny)["processes"] and traces(tiny)["mounts"]
    tiny.down()
    assert traces(tiny) == {"processes": [], "mounts": [], "cgroups": [], "listening": [],
                            "propagate": []}
    assert tiny.status() == []


def test_up_after_a_crash_cleans_up_and_boots_again(tiny, tmp_path):
    tiny.up(tiny_inventory(tmp_path))
    old_keys = tiny.known_hosts.read_text()
    for name in ("tiny-master", "tiny-node-01"):  # the crash: nspawn killed, mounts left
        os.kill(machines.nspawn_pid(tiny.layout, name), signal.SIGKILL)
    time.sleep(0.5)
    assert all(s.state == "stopped" for s in tiny.status())
    assert traces(tiny)["mounts"]  # left behind
    info = tiny.up(tiny_inventory(tmp_path))
    assert [s.state for s in tiny.status()] == ["running", "running"]
    assert tiny.known_hosts.read_text() != old_keys  # new hosts, new keys
    code, out = ssh(tiny, info.hosts[0][1], "systemctl is-active etcd2.service")
    assert out.strip() == "active"


def test_a_stopped_host_is_down_until_started_again(tiny, tmp_path):
    tiny.up(tiny_inventory(tmp_path))
    tiny.stop_host("tiny-node-01")
    assert [s.state for s in tiny.status()] == ["running", "stopped"]
    assert not listening("127.0.0.201", 22)
    tiny.start_host("tiny-node-01")  # same upper dir: same host key, known_hosts still holds
    code, out = ssh(tiny, "127.0.0.201", "hostname")
    assert out.strip() == "tiny-node-01"


def test_a_faulty_release_is_served_beside_the_good_one(tiny, tmp_path):
    info = tiny.up(tiny_inventory(tmp_path))
    url, sha = tiny.serve_release("v1.0.1", {"some-fault"})
    assert url != info.release_url and sha != info.release_sha256
    code, out = ssh(tiny, "127.0.0.200", f"curl -sf {url} | sha256sum; curl -sf {info.release_url} | sha256sum")
    assert out.split()[::2] == [sha, info.release_sha256]

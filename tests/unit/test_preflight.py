"""Preflight, pure: what the script is asked per host (ports as /proc/net/tcp writes its
addresses, binaries, the external etcd), each answer judged (one line naming the check
and the fix, or nothing), check names and waivers."""
from __future__ import annotations

import base64
import json
from dataclasses import replace

import pytest

from kubefab.profiles.modern import preflight as P
from kubefab.validate import Invalid

try:
    from modern_fixtures import modern_inventory
except ImportError:  # tests/ imported as a package
    from tests.unit.modern_fixtures import modern_inventory

NOW = 1_800_000_000.0
INV = modern_inventory("modern-1.36")  # kubefab's etcd, the bridge network
NODE, MASTER = INV.host("azure-prd-02"), INV.master


def judge(output: str, host=NODE, inv=INV) -> list[str]:
    return [f.line() for f in P.verdict(inv, host, output, NOW)]


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


HEALTHY_NODE = ("hostname\tazure-prd-02\ndisk\t/var/lib\t52428800\ntime\t1800000004\ncgroup\tv2\nswap\t0\n"
                "module\toverlay\tloaded\nmodule\tbr_netfilter\tloadable\nsysctl\tnet.ipv4.ip_forward\t0\trw\n"
                "sysctl\tnet.bridge.bridge-nf-call-iptables\tmissing\tro\nport\t10250\tours\tkubernetes.kubelet.service\n"
                "port\t10256\tfree\tkubernetes.proxy.service\nbinary\tiptables\tfound\n")


def test_a_host_that_offers_what_kubefab_needs_or_can_set_passes():
    """ip_forward 0 but writable, br_netfilter not loaded but loadable (its sysctl then
    appears): kubefab's sysctl.d and modules-load.d files set them."""
    assert judge(HEALTHY_NODE) == []


@pytest.mark.parametrize("line, check, says, fix", [
    ("hostname\tnode7", "hostname", "the host calls itself 'node7', the inventory 'azure-prd-02'",
     "hostnamectl set-hostname azure-prd-02 on it, or rename it in hosts.yaml"),
    ("disk\t/var/lib\t102400", "disk", "100 MiB free on /var/lib, wanted 1 GiB", "free space"),
    ("disk\t/var/lib\t", "disk", "free space on /var/lib unknown", "df -Pk /var/lib"),
    ("time\t1799999900", "time", "100 s behind this machine's", "synchronise both clocks"),
    ("time\t1800000031", "time", "31 s ahead of this machine's", "chrony"),
    ("cgroup\tv1", "cgroup-v2", "cgroup v1: kubelet 1.35 and later refuse to start", "unified_cgroup_hierarchy"),
    ("module\toverlay\tmissing", "module:overlay", "kernel module overlay is not loaded", "install the kernel's modules"),
    ("sysctl\tnet.ipv4.ip_forward\t0\tro", "sysctl:net.ipv4.ip_forward",
     "net.ipv4.ip_forward is 0, wanted 1, and it cannot be set here", "set net.ipv4.ip_forward=1 where"),
    ("port\t10250\ttaken\tkubernetes.kubelet.service", "port:10250",
     "port 10250 is taken by a process that is not kubefab's kubernetes.kubelet.service", "ss -ltnp 'sport = :10250'"),
    ("binary\tiptables\tmissing", "binary:iptables", "iptables is not installed", "install it (iptables)"),
    ("binary\tnsenter\tmissing", "binary:nsenter", "nsenter is not installed", "install it (util-linux)"),
])
def test_each_failure_is_one_line_naming_the_check_and_the_fix(line, check, says, fix):
    [finding] = P.verdict(INV, NODE, line + "\n", NOW)
    assert finding.check == check and not finding.warning
    text = finding.line()
    assert "\n" not in text and text.startswith(f"preflight {check} failed: ") and says in text, text
    assert "; fix: " in text and fix in text.split("; fix: ")[1], text


def test_swap_is_a_warning_the_kubelet_runs_without_using_it():
    [finding] = P.verdict(INV, NODE, "swap\t2\n", NOW)
    assert finding.warning and finding.line().startswith("preflight swap warning: 2 swap device(s) on")


def test_a_missing_br_netfilter_is_said_once_by_its_module():
    out = "module\tbr_netfilter\tmissing\nsysctl\tnet.bridge.bridge-nf-call-iptables\tmissing\tro\n"
    assert [f.check for f in P.verdict(INV, NODE, out, NOW)] == ["module:br_netfilter"]


ETCD = modern_inventory("modern-1.37")  # hosts.yaml's external etcd servers


@pytest.mark.parametrize("answer, says", [
    (json.dumps({"etcdserver": "3.6.6", "etcdcluster": "3.6.0"}), None),
    (json.dumps({"etcdserver": "3.5.0", "etcdcluster": "3.5.0"}), None),
    (json.dumps({"etcdserver": "3.4.23", "etcdcluster": "3.4.0"}),
     "etcd at http://10.1.0.1:2379 is 3.4.23; Kubernetes v1.37.1 needs etcd 3.5 or later"),
    (json.dumps({"etcdserver": "2.3.8", "etcdcluster": "2.3.0"}), "is 2.3.8"),
    ("curl: (7) Failed to connect to 10.1.0.1 port 2379: Connection refused",
     "etcd at http://10.1.0.1:2379 did not say its version (curl: (7) Failed to connect"),
])
def test_an_external_etcd_older_than_3_5_is_refused(answer, says):
    found = P.verdict(ETCD, ETCD.master, f"etcd\thttp://10.1.0.1:2379\t{b64(answer)}\n", NOW)
    assert [f.line() for f in found if says and says in f.line()] == [f.line() for f in found]
    assert len(found) == (1 if says else 0) and all(f.check == "etcd-version" for f in found)


def test_what_the_script_is_asked_per_role():
    node = P.asks(INV, NODE)
    assert "cgroup" in node and "module\tbr_netfilter\tproc/sys/net/bridge/bridge-nf-call-iptables\t" in node
    assert [i for i in node if i.startswith("port")] == [
        "port\t10250\tkubernetes.kubelet.service\t*:280A", "port\t10256\tkubernetes.proxy.service\t*:2810"]
    assert {i.split("\t")[1] for i in node if i.startswith("binary")} == {
        "bash", "curl", "tar", "sha256sum", "ip", "iptables", "mount", "nsenter"}
    master = P.asks(INV, MASTER)
    assert "cgroup" not in master and not [i for i in master if i.startswith(("module", "sysctl", "etcd"))]
    assert [i.split("\t")[1] for i in master if i.startswith("port")] == ["6443", "2379", "2380", "10257", "10259"]
    assert [i for i in P.asks(ETCD, ETCD.master) if i.startswith("etcd")] == [
        "etcd\thttp://10.1.0.1:2379", "etcd\thttp://10.1.0.2:2379"]
    assert "2379" not in " ".join(i for i in P.asks(ETCD, ETCD.master) if i.startswith("port"))  # not its etcd


def test_a_host_on_its_own_address_is_asked_for_that_address_and_the_wildcards():
    """The lab's shape (127.0.0.3): a listener on another host's address is no conflict."""
    host = replace(NODE, bind_address="127.0.0.3")
    assert P.listen_patterns(host, 10250) == ("0300007F:280A,00000000:280A,"
                                              "00000000000000000000000000000000:280A")
    six = replace(NODE, bind_address="fd00::3")
    assert P.listen_patterns(six, 80).split(",")[0] == "000000FD000000000000000003000000:0050"


@pytest.mark.parametrize("name", ["swap", "all", "port", "port:6443", "sysctl:net.ipv4.ip_forward", "binary:iptables",
                                  "module:br_netfilter", "etcd-version", "cgroup-v2"])
def test_check_names_and_groups_are_waivers(name):
    assert P.waiver(name) == name


@pytest.mark.parametrize("name", ["cgroupv2", "prot:6443", "port:", "port: 1", ""])
def test_a_waiver_naming_no_check_is_refused(name):
    with pytest.raises(Invalid, match="names no preflight check|empty|expected"):
        P.waiver(name)


def test_waivers_match_a_check_its_group_or_all():
    assert P.waived("port:10250", ("port:10250",)) and P.waived("port:10250", ("port",))
    assert P.waived("cgroup-v2", ("all",)) and not P.waived("port:10250", ("port:6443", "binary"))

"""The bridge pod network (pod_network: bridge) run for real, which the lab cannot do (its
hosts share the machine's network namespace): a node's rendered pod-routes unit with
the real `ip` and `iptables`, and its CNI conflist with Debian's CNI plugins (bridge,
host-local, portmap) as a runtime runs them, each in private network namespaces made and
deleted here. Packets (UDP, from Python) travel only between those namespaces: pod to
pod across two nodes keeps its pod address, what leaves the cluster is masqueraded, and
a pod reaches itself through a Service address with hairpin mode. Needs root, iproute2,
iptables and containernetworking-plugins (scripts/setup); no lab."""
from __future__ import annotations

import ipaddress
import json
import shlex
import subprocess
import sys

import pytest

from kubefab.profiles.modern import paths as L, network
from kubefab import render
from tests.unit.modern_fixtures import FAKE_MODERN_PKI, modern_inventory

from .netns import cni, inside, ip, ip_json, missing, netns, routes, run
from kubefab import layout

NODE = "azure-prd-02"


@pytest.fixture(autouse=True)
def _prerequisites():
    reason = missing()
    if reason:
        pytest.skip(reason)


@pytest.fixture(scope="module")
def inv():
    inv = modern_inventory("modern-1.37")  # the golden's: hosts.yaml at v1.37.1, bridge network
    assert inv.kubernetes.bridge_network
    return inv


@pytest.fixture(scope="module")
def files(inv):
    return render.render_host(inv, inv.host(NODE), FAKE_MODERN_PKI)


def exec_lines(unit: str, key: str) -> list[list[str]]:
    """The unit's `key=` command lines as argv, systemd's `-` (ignore failure) dropped."""
    return [shlex.split(line[len(key) + 1:].lstrip("-")) for line in unit.splitlines()
            if line.startswith(f"{key}=")]


def covering(address: str, others: list[str]) -> ipaddress.IPv4Interface:
    """`address` with the longest prefix that puts every other address on its link."""
    for prefix in range(32, 0, -1):
        iface = ipaddress.ip_interface(f"{address}/{prefix}")
        if all(ipaddress.ip_address(o) in iface.network for o in others):
            return iface
    raise AssertionError(f"no prefix covers {address} and {others}")


def start(ns: str, unit: str) -> None:
    """The unit's start as systemd runs it: its ExecStartPre lines (a `-` one may fail),
    then its ExecStart lines."""
    for key in ("ExecStartPre", "ExecStart"):
        for line in unit.splitlines():
            if line.startswith(f"{key}="):
                inside(ns, shlex.split(line[len(key) + 1:].lstrip("-")), check=not line.startswith(f"{key}=-"))


def test_the_routes_unit_routes_each_other_nodes_subnet_via_its_address(inv, files):
    unit = files[f"{layout.UNIT_DIR}/{layout.POD_ROUTES}"].content
    starts, stops = exec_lines(unit, "ExecStart"), exec_lines(unit, "ExecStop")
    starts, stops = [a for a in starts if a[0] == "/sbin/ip"], [a for a in stops if a[0] == "/sbin/ip"]
    subnets, me = network.pod_subnets(inv), inv.host(NODE)
    wanted = {(subnets[h.name], h.address) for h in inv.hosts if h.name != NODE}
    assert len(starts) == len(stops) == len(wanted) == len(inv.hosts) - 1

    with netns() as ns:
        # the node's address on a link (a veth pair: this kernel may lack the dummy driver)
        ip(ns, "link", "add", "node0", "type", "veth", "peer", "name", "node1")
        ip(ns, "addr", "add", str(covering(me.address, [via for _, via in wanted])), "dev", "node0")
        for link in ("node0", "node1"):
            ip(ns, "link", "set", link, "up")
        before = routes(ns)

        for argv in starts:
            inside(ns, argv)
        added = routes(ns) - before
        assert {(dst, via) for dst, via, _ in added} == wanted and {dev for *_, dev in added} == {"node0"}
        assert routes(ns) - added == before
        table = ip(ns, "route", "show")

        for argv in starts:  # `replace`: a second start changes nothing
            inside(ns, argv)
        assert ip(ns, "route", "show") == table

        for argv in stops:
            inside(ns, argv)
        assert routes(ns) == before

    machine = run(["ip", "route", "show"]).stdout
    assert not [s for s, _ in wanted if s in machine], "a pod route reached the machine's own table"


def test_the_network_unit_masquerades_only_what_leaves_the_clusters_ranges(inv, files):
    """Its iptables lines for real: a chain that returns for the pod and service ranges
    and masquerades the rest, jumped to for the node's own pod subnet; a second start
    leaves the table as it was, the stop takes it all away."""
    unit = files[f"{layout.UNIT_DIR}/{layout.POD_ROUTES}"].content
    k, subnet = inv.kubernetes, network.pod_subnets(inv)[NODE]
    with netns() as ns:
        ip(ns, "link", "add", "node0", "type", "veth", "peer", "name", "node1")
        ip(ns, "addr", "add", str(covering(inv.host(NODE).address, [h.address for h in inv.hosts])), "dev", "node0")
        ip(ns, "link", "set", "node0", "up")
        start(ns, unit)
        chain = inside(ns, ["iptables", "-t", "nat", "-S", L.POD_MASQUERADE]).stdout.splitlines()
        assert chain == [f"-N {L.POD_MASQUERADE}", f"-A {L.POD_MASQUERADE} -d {k.cluster_cidr} -j RETURN",
                         f"-A {L.POD_MASQUERADE} -d {k.apiserver.service_cluster_ip_range} -j RETURN",
                         f"-A {L.POD_MASQUERADE} -j MASQUERADE"]
        jump = [r for r in nat_postrouting(ns).splitlines() if L.POD_MASQUERADE in r]
        assert jump == [f'-A POSTROUTING -s {subnet} -m comment --comment kubefab-pod-masquerade '
                        f'-j {L.POD_MASQUERADE}']
        table = inside(ns, ["iptables", "-t", "nat", "-S"]).stdout
        start(ns, unit)  # a restart: the same rules, once
        assert inside(ns, ["iptables", "-t", "nat", "-S"]).stdout == table
        for argv in exec_lines(unit, "ExecStop"):
            inside(ns, argv, check=False)
        assert L.POD_MASQUERADE not in inside(ns, ["iptables", "-t", "nat", "-S"]).stdout


def plugin_config(conflist: dict, plugin: dict, prev: dict | None, data_dir) -> dict:
    """What a runtime hands one plugin: its object, the list's name and cniVersion, the
    previous plugin's result, runtimeConfig for its capabilities; host-local's state in
    the test's tmp dir instead of /var/lib/cni."""
    conf = json.loads(json.dumps(plugin))
    conf.update(name=conflist["name"], cniVersion=conflist["cniVersion"])
    if "ipam" in conf:
        conf["ipam"]["dataDir"] = str(data_dir)
    if conf.get("capabilities", {}).get("portMappings"):
        conf["runtimeConfig"] = {"portMappings": []}
    if prev is not None:
        conf["prevResult"] = prev
    return conf


def test_the_cni_conflist_gives_a_pod_an_address_in_the_nodes_subnet(inv, files, tmp_path):
    conflist = json.loads(files[L.CNI_BRIDGE].content)
    subnet = ipaddress.ip_network(network.pod_subnets(inv)[NODE])
    gateway = subnet.network_address + 1
    plugins = conflist["plugins"]
    assert [p["type"] for p in plugins] == ["bridge", "portmap"]

    with netns() as node, netns() as pod:
        for p in plugins:  # Debian's plugins (1.1.1) must speak the list's version
            version = cni(node, {"cniVersion": conflist["cniVersion"], "type": p["type"]}, "VERSION",
                          netns_name=pod, container="version")
            assert conflist["cniVersion"] in version["supportedVersions"], (p["type"], version)

        result = None
        for p in plugins:  # ADD, in the list's order, each given the previous result
            result = cni(node, plugin_config(conflist, p, result, tmp_path), "ADD", netns_name=pod,
                         container="pod-1")
        assert result["cniVersion"] == conflist["cniVersion"]
        [given] = result["ips"]
        address = ipaddress.ip_interface(given["address"])
        assert address.ip in subnet and address.ip != gateway and ipaddress.ip_address(given["gateway"]) == gateway
        lease = tmp_path / conflist["name"] / str(address.ip)  # host-local's record of the address
        assert lease.is_file()

        [eth0] = ip_json(pod, "addr", "show", "dev", "eth0")
        assert [f"{a['local']}/{a['prefixlen']}" for a in eth0["addr_info"] if a["family"] == "inet"] \
            == [str(address)]
        [default] = ip_json(pod, "route", "show", "default")
        assert (default["gateway"], default["dev"]) == (str(gateway), "eth0")
        [cni0] = ip_json(node, "-d", "addr", "show", "dev", "cni0")
        assert f"{gateway}/{subnet.prefixlen}" in [f"{a['local']}/{a['prefixlen']}" for a in cni0["addr_info"]
                                                     if a["family"] == "inet"]
        assert cni0["linkinfo"]["info_kind"] == "bridge"
        assert f"{address.ip}/32" not in nat_postrouting(node), "no ipMasq: the network unit masquerades"

        for p in reversed(plugins):  # DEL in reverse order, with the ADD's result
            cni(node, plugin_config(conflist, p, result, tmp_path), "DEL", netns_name=pod, container="pod-1")
        assert [link["ifname"] for link in ip_json(pod, "link", "show")] == ["lo"]
        assert f"{address.ip}/32" not in nat_postrouting(node)
        assert not lease.exists(), "host-local kept the address"


def nat_postrouting(ns: str) -> str:
    return inside(ns, ["iptables", "-t", "nat", "-S", "POSTROUTING"]).stdout


# --- two nodes, their pods, packets ---------------------------------------------------------

PEER = "azure-prd-03"
OUTSIDE = "192.0.2.1"  # a host beyond the cluster (TEST-NET-1), reached through node A
PROBE = ("import socket, sys\n"
         "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
         "s.settimeout(float(sys.argv[4]))\n"
         "if sys.argv[1] == 'serve':\n"
         "    s.bind((sys.argv[2], int(sys.argv[3])))\n"
         "    print('ready', flush=True)\n"
         "    data, peer = s.recvfrom(64)\n"
         "    s.sendto(data, peer)\n"
         "else:\n"
         "    s.sendto(b'kubefab', (sys.argv[2], int(sys.argv[3])))\n"
         "    data, peer = s.recvfrom(64)\n"
         "print(peer[0])\n")


def serve(ns: str, address: str, port: int):
    """A UDP echo in `ns` that prints the address the packet came from (one packet);
    returned once it listens."""
    server = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, "-c", PROBE, "serve", address, str(port),
                               "10"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert server.stdout.readline().strip() == "ready", server.stderr.read()
    return server


def send(ns: str, address: str, port: int) -> str | None:
    """One UDP packet from `ns`; where the answer came from (None: no answer within 3 s)."""
    r = inside(ns, [sys.executable, "-c", PROBE, "send", address, str(port), "3"], check=False)
    return r.stdout.strip() if r.returncode == 0 else None


def seen(server) -> str:
    out, err = server.communicate(timeout=15)
    assert server.returncode == 0, err
    return out.strip()


class Node:
    """A node's network namespace with kubefab's rendered files applied: its sysctl.d
    file, its network unit (routes, masquerade) and a pod through its CNI conflist."""

    def __init__(self, inv, name: str, ns: str, tmp):
        self.inv, self.name, self.ns, self.tmp = inv, name, ns, tmp
        self.files = render.render_host(inv, inv.host(name), FAKE_MODERN_PKI)

    def configure(self):
        sysctl = self.tmp / f"{self.name}-sysctl.conf"
        sysctl.write_text(self.files[L.SYSCTL].content)
        inside(self.ns, ["sysctl", "--quiet", f"--load={sysctl}"])  # forwarding on, bridged traffic through iptables
        start(self.ns, self.files[f"{layout.UNIT_DIR}/{layout.POD_ROUTES}"].content)

    def pod(self, pod_ns: str, container: str, conflist: dict | None = None) -> str:
        """A pod in `pod_ns` on this node (the rendered conflist, or `conflist`): its address."""
        conflist = conflist or json.loads(self.files[L.CNI_BRIDGE].content)
        result = None
        for p in conflist["plugins"]:
            result = cni(self.ns, plugin_config(conflist, p, result, self.tmp / self.name), "ADD", netns_name=pod_ns,
                         container=container)
        return str(ipaddress.ip_interface(result["ips"][0]["address"]).ip)


def link(a: str, b: str, a_addr: str, b_addr: str, name: str) -> None:
    """A veth pair between namespaces `a` and `b`, addressed and up."""
    ip(a, "link", "add", f"{name}a", "type", "veth", "peer", "name", f"{name}b", "netns", b)
    ip(a, "addr", "add", a_addr, "dev", f"{name}a")
    ip(b, "addr", "add", b_addr, "dev", f"{name}b")
    ip(a, "link", "set", f"{name}a", "up")
    ip(b, "link", "set", f"{name}b", "up")


def test_pods_on_two_nodes_see_each_others_pod_addresses_and_the_outside_sees_the_node(inv, tmp_path):
    """Node A and node B on one link, each with its rendered network unit and a pod from
    its rendered conflist: A's pod reaches B's pod with its pod address (no SNAT between
    pod subnets); a host outside the cluster sees node A's address (masqueraded)."""
    a, b = inv.host(NODE), inv.host(PEER)
    with netns() as node_a, netns() as node_b, netns() as pod_a, netns() as pod_b, netns() as outside:
        link(node_a, node_b, str(covering(a.address, [h.address for h in inv.hosts])),
             str(covering(b.address, [h.address for h in inv.hosts])), "n")
        link(node_a, outside, "192.0.2.254/24", f"{OUTSIDE}/24", "o")
        ip(outside, "route", "add", "default", "via", "192.0.2.254")
        A, B = Node(inv, NODE, node_a, tmp_path), Node(inv, PEER, node_b, tmp_path)
        A.configure()
        B.configure()
        ip_a, ip_b = A.pod(pod_a, "pod-a"), B.pod(pod_b, "pod-b")

        server = serve(pod_b, ip_b, 5353)
        assert send(pod_a, ip_b, 5353) == ip_b
        assert seen(server) == ip_a, "pod B saw another source than pod A's address"

        server = serve(outside, OUTSIDE, 5353)
        assert send(pod_a, OUTSIDE, 5353) == OUTSIDE
        assert seen(server) == "192.0.2.254", "what leaves the cluster must carry the node's address"


# kube-proxy's iptables rules for one Service and its one endpoint (pkg/proxy/iptables:
# KUBE-SEP's masquerade mark when a pod reaches itself, the DNAT, KUBE-POSTROUTING's
# masquerade of marked packets), as the lab's stand-in kube-proxy writes none
SERVICE = "10.100.0.50"


def kube_proxy_rules(ns: str, endpoint: str, port: int) -> None:
    nat = ["iptables", "-w", "-t", "nat"]
    for rule in (["-A", "PREROUTING", "-s", endpoint, "-d", SERVICE, "-p", "udp", "--dport", "80",
                  "-j", "MARK", "--set-xmark", "0x4000/0x4000"],
                 ["-A", "PREROUTING", "-d", SERVICE, "-p", "udp", "--dport", "80", "-j", "DNAT",
                  "--to-destination", f"{endpoint}:{port}"],
                 ["-I", "POSTROUTING", "-m", "mark", "--mark", "0x4000/0x4000", "-j", "MASQUERADE"]):
        inside(ns, [*nat, *rule])


@pytest.mark.parametrize("hairpin", [True, False])
def test_a_pod_reaches_itself_through_a_service_address_only_with_hairpin_mode(inv, tmp_path, hairpin):
    """The rendered conflist has hairpinMode on: the Service's packet, DNATed back to the
    pod it came from, leaves the bridge by the port it came in. Off, it is dropped."""
    with netns() as node, netns() as pod, netns() as peer:
        link(node, peer, str(covering(inv.host(NODE).address, [h.address for h in inv.hosts])), "10.1.0.250/24", "n")
        A = Node(inv, NODE, node, tmp_path)
        A.configure()
        conflist = json.loads(A.files[L.CNI_BRIDGE].content)
        assert conflist["plugins"][0]["hairpinMode"] is True
        conflist["plugins"][0]["hairpinMode"] = hairpin
        address = A.pod(pod, "pod-1", conflist)
        kube_proxy_rules(node, address, 8080)
        server = serve(pod, address, 8080)
        try:
            answer = send(pod, SERVICE, 80)
        finally:
            server.kill() if answer is None else None
        if hairpin:
            assert answer == SERVICE and seen(server) == str(ipaddress.ip_network(
                network.pod_subnets(inv)[NODE]).network_address + 1)  # masqueraded to the bridge's address
        else:
            assert answer is None
            server.wait(timeout=15)

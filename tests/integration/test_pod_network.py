"""The bridge pod network (pod_network: bridge) run for real, which the lab cannot do (its
hosts share the machine's network namespace): a node's rendered pod-routes unit with
the real `ip`, and its CNI conflist with Debian's CNI plugins (bridge, host-local,
portmap) as a runtime runs them, each in private network namespaces made and deleted
here. Nothing binds, connects or sends. Needs root, iproute2, iptables and
containernetworking-plugins (scripts/setup); no lab."""
from __future__ import annotations

import ipaddress
import json
import shlex

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


def test_the_routes_unit_routes_each_other_nodes_subnet_via_its_address(inv, files):
    unit = files[f"{layout.UNIT_DIR}/{layout.POD_ROUTES}"].content
    starts, stops = exec_lines(unit, "ExecStart"), exec_lines(unit, "ExecStop")
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
        assert f"{address.ip}/32" in nat_postrouting(node), "ipMasq: the pod's traffic is not masqueraded"

        for p in reversed(plugins):  # DEL in reverse order, with the ADD's result
            cni(node, plugin_config(conflist, p, result, tmp_path), "DEL", netns_name=pod, container="pod-1")
        assert [link["ifname"] for link in ip_json(pod, "link", "show")] == ["lo"]
        assert f"{address.ip}/32" not in nat_postrouting(node)
        assert not lease.exists(), "host-local kept the address"


def nat_postrouting(ns: str) -> str:
    return inside(ns, ["iptables", "-t", "nat", "-S", "POSTROUTING"]).stdout

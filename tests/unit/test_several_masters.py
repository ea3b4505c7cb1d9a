"""Several masters (issue 21), pure: the inventory's refusals (an even count, the v1.0
profile with two masters, its keys for several), the render per master (etcd's first
start, members' certificates, --etcd-servers, the shared apiserver certificate's names)
and per node (its load balancer's config, kubeconfigs at it with tls-server-name; an
endpoint instead), and the quorum refusals of removing a master."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from cryptography import x509

from kubefab import controlplane, pki, quorum, render
from kubefab.inventory import InventoryError, load
from kubefab.profiles.modern import paths as L

REPO = Path(__file__).resolve().parents[2]
ENV = {"KUBEFAB_REGISTRY_TOKEN": "s3cret-token", "HOME": "/home/tester"}
NOW = dt.datetime(2026, 12, 1, tzinfo=dt.timezone.utc)


def hosts(tmp_path: Path, version: str = "v1.37.1", masters: int = 3, apiserver: str = "") -> Path:
    """hosts.yaml at `version` with kubefab's etcd and the first `masters` hosts masters."""
    text = (REPO / "hosts.yaml").read_text().replace("version: v1.0.1", f"version: {version}")
    if not version.startswith("v1.0."):
        start = text.index("  etcd_servers:")
        text = text[:start] + text[text.index("  requires:"):]
        text = text.replace("  release_sha256: null\n", "").replace("requires: [weave-network.target, etcd2.service]",
                                                                      "requires: []")
    for n in range(2, masters + 1):
        text = text.replace(f"  azure-prd-0{n}:\n    address: 10.1.0.{n}\n",
                            f"  azure-prd-0{n}:\n    address: 10.1.0.{n}\n    role: master\n")
    text = text.replace("    service_cluster_ip_range: 10.100.0.0/16\n",
                        "    service_cluster_ip_range: 10.100.0.0/16\n" + apiserver)
    (tmp_path / "hosts.yaml").write_text(text)
    return tmp_path / "hosts.yaml"


def files(inv, name: str) -> dict:
    """The host's files by path, from a real PKI made in the inventory's folder."""
    return render.render_host(inv, inv.host(name), pki.ensure(inv, NOW))


# -- the inventory's refusals ------------------------------------------------------------------

def test_three_masters_load_with_every_default(tmp_path):
    inv = load(hosts(tmp_path), ENV)
    assert [m.name for m in inv.masters] == ["azure-prd-01", "azure-prd-02", "azure-prd-03"]
    assert inv.master.name == "azure-prd-01" and inv.local_balancer
    api = inv.kubernetes.apiserver
    assert (api.endpoint, api.extra_sans, api.load_balancer) == (None, (), "haproxy")


@pytest.mark.parametrize("version,masters,says", [
    ("v1.37.1", 2, "hosts.azure-prd-02.role: 2 hosts have role: master (azure-prd-01, azure-prd-02): "
                   "etcd needs an odd number of members (1, 3, 5) to keep a majority; add a master or make one a node"),
    ("v1.37.1", 4, "4 hosts have role: master"),
    ("v1.0.1", 2, "hosts.azure-prd-02.role: 2 hosts have role: master (azure-prd-01, azure-prd-02); "
                  "the v1.0 profile (v1.0 to v1.19) runs exactly one: keep one, the others nodes, or raise "
                  "kubernetes.version to v1.35 or later for several"),
])
def test_master_counts_refused_in_one_line(tmp_path, version, masters, says):
    with pytest.raises(InventoryError) as e:
        load(hosts(tmp_path, version, masters), ENV)
    assert says in str(e.value) and "\n" not in str(e.value)
    line = int(str(e.value).split("hosts.yaml:", 1)[1].split(":")[0])  # the second master's role line
    assert (tmp_path / "hosts.yaml").read_text().splitlines()[line - 1].strip() == "role: master"


def test_the_v1_0_profile_refuses_the_keys_of_several_masters(tmp_path):
    with pytest.raises(InventoryError, match=r"kubernetes.apiserver.endpoint: applies to several masters, which the "
                                             r"v1.0 profile .* raise kubernetes.version to v1.35 or later"):
        load(hosts(tmp_path, "v1.0.1", 1, "    endpoint: k8s.example.com\n"), ENV)


@pytest.mark.parametrize("line,says", [
    ("    endpoint: https://k8s.example.com\n", "no address or DNS name with an optional port"),
    ("    endpoint: k8s.example.com:99999\n", "'99999' is no port"),
    ("    load_balancer: envoy\n", "expected one of haproxy, nginx"),
    ("    extra_sans: [not_a name]\n", "neither an IP address nor a DNS name"),
])
def test_bad_keys_of_several_masters(tmp_path, line, says):
    with pytest.raises(InventoryError, match=says):
        load(hosts(tmp_path, apiserver=line), ENV)


# -- the render per master ------------------------------------------------------------------

def test_each_master_runs_its_own_member(tmp_path):
    inv = load(hosts(tmp_path), ENV)
    first, second = files(inv, "azure-prd-01"), files(inv, "azure-prd-02")
    unit = second["/etc/systemd/system/kubernetes.etcd.service"].content
    assert "--name=azure-prd-02" in unit and "--initial-advertise-peer-urls=https://10.1.0.2:2380" in unit
    assert "--initial-cluster=" not in unit and "--initial-cluster-state" not in unit  # the environment file's
    assert f"EnvironmentFile=-{L.ETCD_ENV}" in unit
    # the first master bootstraps, alone; a joining one gets its file from `member add`
    assert first[L.ETCD_ENV].content == ('ETCD_INITIAL_CLUSTER="azure-prd-01=https://10.1.0.1:2380"\n'
                                         'ETCD_INITIAL_CLUSTER_STATE="new"\n')
    assert L.ETCD_ENV not in second
    api = second["/etc/systemd/system/kubernetes.apiserver.service"].content
    assert ("--etcd-servers=https://127.0.0.1:2379,https://10.1.0.1:2379,https://10.1.0.3:2379" in api
            and "--advertise-address=10.1.0.2" in api and "--shutdown-delay-duration=4s" in api)
    assert "ConditionHost=azure-prd-02\n" in second["/etc/systemd/system/kubernetes.master.target"].content
    member = x509.load_pem_x509_certificate(second[L.ETCD_CERT].content.encode())
    ips = member.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
        x509.IPAddress)
    assert {str(ip) for ip in ips} == {"10.1.0.2", "127.0.0.1"}
    assert first[L.ETCD_CERT].content != second[L.ETCD_CERT].content


def test_one_apiserver_certificate_names_every_master_the_endpoint_and_extra_sans(tmp_path):
    inv = load(hosts(tmp_path, apiserver="    endpoint: k8s.example.com:8443\n    extra_sans: [10.9.9.9, api.corp]\n"),
               ENV)
    dns, ips = pki.apiserver_sans(inv)
    assert {"azure-prd-01", "azure-prd-02", "azure-prd-03", "kubernetes", "k8s.example.com", "api.corp"} <= set(dns)
    assert {"10.1.0.1", "10.1.0.2", "10.1.0.3", "10.9.9.9"} <= set(ips) and "10.1.0.4" not in ips


def test_a_node_reaches_the_masters_through_its_own_balancer(tmp_path):
    inv = load(hosts(tmp_path), ENV)
    node = files(inv, "azure-prd-04")
    config = node[L.LB_HAPROXY_CONFIG].content
    assert "bind 127.0.0.1:6443" in config and "balance leastconn" in config and "option httpchk GET /readyz" in config
    assert [line.split()[1:3] for line in config.splitlines() if line.strip().startswith("server ")] == \
        [["azure-prd-01", "10.1.0.1:6443"], ["azure-prd-02", "10.1.0.2:6443"], ["azure-prd-03", "10.1.0.3:6443"]]
    lb = node["/etc/systemd/system/kubernetes.apiserver-lb.service"].content
    assert f"ExecStart={L.HAPROXY} -Ws -f {L.LB_HAPROXY_CONFIG}" in lb and "Type=notify" in lb
    kubeconfig = node[L.KUBELET_KUBECONFIG].content
    assert 'server: "https://127.0.0.1:6443"' in kubeconfig and 'tls-server-name: "kubernetes"' in kubeconfig
    assert [f"ConditionHost=!azure-prd-0{n}" in node["/etc/systemd/system/kubernetes.node.target"].content
            for n in (1, 2, 3)] == [True] * 3


def test_nginx_instead_of_haproxy(tmp_path):
    inv = load(hosts(tmp_path, apiserver="    load_balancer: nginx\n"), ENV)
    node = files(inv, "azure-prd-04")
    assert L.LB_HAPROXY_CONFIG not in node
    config = node[L.LB_NGINX_CONFIG].content
    assert "least_conn;" in config and "server 10.1.0.2:6443;" in config and "listen 127.0.0.1:6443;" in config
    assert "daemon off;" in config and f"ExecStart={L.NGINX} -c {L.LB_NGINX_CONFIG}\n" in \
        node["/etc/systemd/system/kubernetes.apiserver-lb.service"].content


def test_an_endpoint_replaces_the_nodes_balancers(tmp_path):
    inv = load(hosts(tmp_path, apiserver="    endpoint: k8s.example.com\n"), ENV)
    node = files(inv, "azure-prd-04")
    assert not inv.local_balancer and L.LB_HAPROXY_CONFIG not in node
    assert "/etc/systemd/system/kubernetes.apiserver-lb.service" not in node
    kubeconfig = node[L.KUBELET_KUBECONFIG].content
    assert 'server: "https://k8s.example.com:6443"' in kubeconfig and "tls-server-name" not in kubeconfig
    admin = (tmp_path / "pki" / pki.ADMIN_KUBECONFIG).read_text()
    assert "server: https://k8s.example.com:6443" in admin


def test_one_master_renders_as_before(tmp_path):
    inv = load(hosts(tmp_path, masters=1), ENV)
    node = files(inv, "azure-prd-04")
    assert not inv.local_balancer and L.LB_HAPROXY_CONFIG not in node
    assert 'server: "https://10.1.0.1:6443"' in node[L.KUBELET_KUBECONFIG].content


# -- quorum: what removing a master may do -------------------------------------------------------

@pytest.mark.parametrize("members,healthy,leaving,refused", [
    (3, 3, 1, False),  # 2 of 2 stay up
    (3, 2, 1, True),   # the third is down: 1 would be left of 2
    (2, 2, 1, False),  # the last step of 3 -> 1
    (1, 1, 1, True),   # the last member
    (5, 4, 1, False),
])
def test_removing_a_master_keeps_quorum_or_is_refused(members, healthy, leaving, refused):
    why = quorum.refusal(members, healthy, leaving=leaving, what="removing azure-prd-03's etcd member")
    assert bool(why) == refused
    if why:
        assert why.startswith("removing azure-prd-03's etcd member: etcd would lose quorum") and "\n" not in why


FIRST = '{"Endpoint":"https://10.1.0.1:2379","Status":{"header":{"member_id":1,"raft_term":2},"leader":1}}'
SECOND = '{"Endpoint":"https://10.1.0.2:2379","Status":{"header":{"member_id":2,"raft_term":2},"leader":1}}'
STATUS = f"[{FIRST},{SECOND}]"  # `endpoint status --cluster -w json` with the third member down
MEMBERS = ('{"members":[{"ID":1,"name":"azure-prd-01","peerURLs":["https://10.1.0.1:2380"]},'
           '{"ID":2,"name":"azure-prd-02","peerURLs":["https://10.1.0.2:2380"]},'
           '{"ID":3,"name":"azure-prd-03","peerURLs":["https://10.1.0.3:2380"]}]}')


def test_status_names_the_down_member_the_leader_and_lost_quorum():
    masters = ["azure-prd-01", "azure-prd-02", "azure-prd-03"]
    cp, problems = controlplane.report(masters, MEMBERS, STATUS, None, ["azure-prd-03"], "azure-prd-01")
    assert [(r["name"], r["healthy"], r["leader"]) for r in cp["members"]] == \
        [("azure-prd-01", True, True), ("azure-prd-02", True, False), ("azure-prd-03", False, False)]
    assert problems == ["etcd: member azure-prd-03 (3) not healthy"]
    one = f"[{FIRST}]"
    _, problems = controlplane.report(masters, MEMBERS, one, None, ["azure-prd-02", "azure-prd-03"], "azure-prd-01")
    assert any(p.startswith("etcd: quorum lost: 1 of 3 members healthy, 2 needed") for p in problems)
    _, problems = controlplane.report(masters, None, None, None, ["azure-prd-02", "azure-prd-03"], None)
    assert "quorum lost (1 of 3 masters up, 2 needed)" in problems[0]


def test_reset_takes_a_joined_members_environment_file_too(tmp_path):
    """A joining master's /etc/etcd/etcd.env is written by the join, not rendered: its
    footprint names it all the same (reset and nodes.remove take it away)."""
    from kubefab import footprint
    inv = load(hosts(tmp_path), ENV)
    second = inv.host("azure-prd-02")
    fp = footprint.of_host(inv, second, files(inv, "azure-prd-02"), inv.profile.unit_order(second),
                           inv.profile.target(second))
    assert L.ETCD_ENV in fp.paths and L.ETCD_ENV not in files(inv, "azure-prd-02")

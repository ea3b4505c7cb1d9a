"""The cluster's identity on a v1.37 lab (kubefab.identity): a second folder without the
cluster's pki/ is refused before any change; a dry run of a changed inventory writes
nothing anywhere; settings that cannot change (the service range, a role, the master's
address) are refused; units of a role a host no longer has are reported and retired; the
key that encrypts Secrets is rotated, never replaced; a rollback puts back the local
certificates the hosts get back. Each compares the hosts' files, their units' starts and
the local files before and after."""
import shutil

import pytest

from kubefab.inventory import load
from kubefab import layout
from kubefab.layout import APISERVER, UNIT_DIR

from .helpers import fab, on_host
from .modernlab import deployed_lab, folder, hosts, kubectl, variant

pytestmark = pytest.mark.lab

MASTER, NODE = "azure-prd-01", "azure-prd-02"
NOOP = "no changes: files, units and release already as wanted"


@pytest.fixture(scope="module")
def lab():
    with deployed_lab("lab-trust-identity", 40) as lab:
        yield lab


@pytest.fixture(scope="module")
def inventory(lab):
    return lab.inventory_path


def node_bind(data) -> None:
    """azure-prd-02's services on another of its loopback addresses: its kubelet certificate,
    which names its bind address, is re-issued (a change a running cluster takes)."""
    host = data["hosts"]["azure-prd-02"]
    host["bind_address"] = host["address"].rsplit(".", 1)[0] + ".99"


def converged(inventory) -> None:
    fab(inventory, "deploy")
    assert fab(inventory, "deploy").stdout.count(NOOP) == 5


def test_a_second_folder_is_refused_before_any_change(lab, inventory, tmp_path):
    """The same inventory in another folder, without the cluster's pki/ (a colleague's
    checkout): the dry run and the run refuse, naming the CA's fingerprint; no host file,
    unit or local file changes, and no pki/ is made there."""
    second = tmp_path / "colleague"
    second.mkdir()
    for name in ("hosts.yaml", "id_ed25519", "known_hosts", "registry.token"):
        shutil.copy(inventory.parent / name, second / name)
    before, local = hosts(lab), folder(inventory.parent / "pki")
    for args in (["--dry-run"], []):
        r = fab(second / "hosts.yaml", "deploy", *args, check=False)
        assert r.returncode == 1, r.stdout
        assert "refused: " in r.stdout and "pki/ca.crt is missing, the cluster CA of the running cluster is " \
               "sha256:" in r.stdout, r.stdout
        assert "`fab pki.import`" in r.stdout and "Traceback" not in r.stdout + r.stderr
        assert sorted(p.name for p in second.iterdir()) == ["hosts.yaml", "id_ed25519", "known_hosts",
                                                          "registry.token"]
    assert hosts(lab) == before and folder(inventory.parent / "pki") == local


@pytest.mark.parametrize("name, change", [
    ("node-bind", node_bind),
    ("master-typo", lambda d: d["hosts"]["azure-prd-01"].update(address=d["hosts"]["azure-prd-01"]["address"]
                                                                .rsplit(".", 1)[0] + ".50")),
    ("service-range", lambda d: d["kubernetes"]["apiserver"].update(service_cluster_ip_range="10.101.0.0/16")),
])
def test_a_dry_run_of_a_changed_inventory_writes_nothing_anywhere(lab, inventory, name, change):
    """Regression: the dry run re-issued certificates and rewrote pki/admin.kubeconfig."""
    changed = variant(inventory, name, change)
    before, local = hosts(lab), folder(inventory.parent / "pki")
    r = fab(changed, "deploy", "--dry-run", check=False)
    assert folder(inventory.parent / "pki") == local, r.stdout  # bytes and mtimes
    assert hosts(lab) == before
    if name == "node-bind":
        assert r.returncode == 0 and "pki: would: " in r.stdout and \
            "kubelet-azure-prd-02.crt: its names (SANs) differ; fab deploy re-issues it" in r.stdout, r.stdout


def test_a_typo_in_the_masters_address_points_no_node_at_it(lab, inventory):
    """Regression: every node wrote kubeconfigs for the wrong address before the master
    failed; a node rebooted then never came back."""
    typo = variant(inventory, "typo", lambda d: d["hosts"]["azure-prd-01"].update(
        address=d["hosts"]["azure-prd-01"]["address"].rsplit(".", 1)[0] + ".50"))
    before, local = hosts(lab), folder(inventory.parent / "pki")
    r = fab(typo, "deploy", check=False)
    assert r.returncode == 1 and f"not touched: the master {MASTER} did not answer" in r.stdout, r.stdout
    assert hosts(lab) == before and folder(inventory.parent / "pki") == local


@pytest.mark.parametrize("name, change, says", [
    ("range", lambda d: d["kubernetes"]["apiserver"].update(service_cluster_ip_range="10.101.0.0/16"),
     "refused: kubernetes.apiserver.service_cluster_ip_range is 10.101.0.0/16 in hosts-range.yaml, the cluster was "
     "made with 10.100.0.0/16: it cannot change on a running cluster"),
    ("swap", lambda d: (d["hosts"]["azure-prd-01"].pop("role"), d["hosts"]["azure-prd-02"].update(role="master")),
     "refused: hosts.azure-prd-01.role is node in hosts-swap.yaml, the cluster has azure-prd-01 as its master"),
])
def test_settings_that_cannot_change_are_refused(lab, inventory, name, change, says):
    """Regression: a new service range was applied (certificate, kubelets' DNS); swapped
    roles planned a fresh etcd on the new master."""
    before, local = hosts(lab), folder(inventory.parent / "pki")
    r = fab(variant(inventory, name, change), "deploy", check=False)
    assert r.returncode == 1 and says in r.stdout, r.stdout
    assert hosts(lab) == before and folder(inventory.parent / "pki") == local


def test_a_unit_of_another_role_is_reported_then_stopped_and_disabled(inventory):
    """Regression: after swapped roles were swapped back, status said OK while a host kept
    the other role's units enabled (a leftover register-node job held its boot)."""
    unit = f"{UNIT_DIR}/{APISERVER}"
    text = on_host(inventory, MASTER, ["cat", unit]).stdout
    on_host(inventory, NODE, ["sh", "-c", f"cat > {unit} <<'EOF'\n{text}EOF\nsystemctl daemon-reload && "
                                          f"systemctl enable --quiet {APISERVER}"])
    st = fab(inventory, "status", check=False)
    assert st.returncode == 1 and f"{NODE}: {APISERVER} is enabled, but a node does not run it; fab deploy stops " \
                                  f"and disables it" in st.stdout, st.stdout
    assert f"[{NODE}] stop and disable {APISERVER} (a node does not run it)" in \
        fab(inventory, "deploy", "--dry-run").stdout
    assert f"stopped and disabled {APISERVER}" in fab(inventory, "deploy").stdout
    assert on_host(inventory, NODE, ["systemctl", "is-enabled", APISERVER], check=False).stdout.strip() == "disabled"
    assert fab(inventory, "status").returncode == 0
    on_host(inventory, NODE, ["sh", "-c", f"rm {unit} && systemctl daemon-reload"])


def test_the_encryption_key_is_rotated_and_every_secret_stays_readable(inventory):
    kubectl_ = kubectl(inventory)
    kubectl_("create", "-f", "-", stdin='{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "trust", '
                                       '"namespace": "default"}, "data": {"a": "b2xk"}}')
    inv = load(inventory)
    etcd_key = ["/opt/bin/etcdctl", f"--endpoints=https://{inv.master.address}:2379",
                "--cacert=/var/lib/kubernetes/etcd-ca.crt", "--cert=/var/lib/kubernetes/apiserver-etcd-client.crt",
                "--key=/var/lib/kubernetes/apiserver-etcd-client.key", "get", "/registry/secrets/default/trust",
                "--print-value-only"]
    assert on_host(inventory, MASTER, etcd_key).stdout.startswith("k8s:enc:secretbox:v1:kubefab-1:")
    dry = fab(inventory, "secrets.rotate-key", "--dry-run")
    assert "would: a new key made (kept in pki/ first) and added as the second key" in dry.stdout
    r = fab(inventory, "secrets.rotate-key")
    assert "rewrote 1 Secrets with the new key" in r.stdout and "encryption keys now kubefab-2" in r.stdout, r.stdout
    assert on_host(inventory, MASTER, etcd_key).stdout.startswith("k8s:enc:secretbox:v1:kubefab-2:")
    assert kubectl_("get", "secret", "trust", "-o", "jsonpath={.data.a}").stdout == "b2xk"
    record = on_host(inventory, MASTER, ["cat", layout.CLUSTER_FILE]).stdout
    assert "encryption-key\tsecretbox/kubefab-2\tsha256:" in record and "kubefab-1" not in record
    assert (inv.kubernetes.pki_dir / "secretbox.key").read_text().startswith("kubefab-2 ")
    assert fab(inventory, "deploy").stdout.count(NOOP) == 5


def test_rollback_puts_back_the_local_certificate_the_hosts_get_back(lab, inventory):
    """Regression: rollback put back the hosts' files but not the local PKI they came from;
    status then reported the certificate as differing."""
    moved = variant(inventory, "bind", node_bind)
    local = folder(inventory.parent / "pki")
    fab(moved, "deploy")
    assert folder(inventory.parent / "pki")["kubelet-azure-prd-02.crt"] != local["kubelet-azure-prd-02.crt"]
    r = fab(inventory, "rollback")
    assert "pki: put back kubelet-azure-prd-02.crt and .key" in r.stdout, r.stdout
    after = folder(inventory.parent / "pki")
    assert after["kubelet-azure-prd-02.crt"][0] == local["kubelet-azure-prd-02.crt"][0]
    st = fab(inventory, "status", check=False)
    assert st.returncode == 0, st.stdout  # status and rollback agree: the hosts are as hosts.yaml says
    assert fab(inventory, "deploy").stdout.count(NOOP) == 5

"""fab status on the lab's deployed cluster: it only reads (no PKI made, no file written
on a host), says each file difference in one line, and says `apiserver ok` only from
the port nodes use. Every test leaves the cluster as deployed."""
import time

import pytest

from kubefab import health, render, status
from kubefab.inventory import load

from .helpers import fab, on_host
from kubefab import layout
from kubefab.profiles.legacy import paths as legacy_paths

pytestmark = pytest.mark.lab

MASTER, NODE = "azure-prd-01", "azure-prd-02"


@pytest.fixture(scope="module")
def inventory(lab):
    fab(lab.inventory_path, "deploy")  # as test_deploy.py left it, or deployed now
    return lab.inventory_path


def problems(stdout: str) -> list[str]:
    return [line.strip() for line in stdout.partition("PROBLEMS:")[2].strip().splitlines()]


def kubefab_files(lab, inv) -> dict:
    """What status could have touched on the hosts: the rendered files and kubefab's state."""
    out = {}
    for h in inv.hosts:
        upper = lab.upper_dir(h.name)
        paths = [upper / p.lstrip("/") for p in status.wanted(inv)[0][h.name]]
        paths += [p for p in (upper / "var/lib/kubefab").rglob("*") if p.is_file()]
        out[h.name] = {str(p): (p.read_bytes(), p.stat().st_mtime_ns, p.stat().st_mode) for p in paths if p.exists()}
    return out


def back_to_ok(inventory, timeout=60):
    deadline = time.monotonic() + timeout
    while (r := fab(inventory, "status", check=False)).returncode != 0:
        assert time.monotonic() < deadline, r.stdout
        time.sleep(2)


def test_status_after_deploy_says_the_secure_port_is_ok(inventory):
    inv = load(inventory)
    r = fab(inventory, "status")
    assert f"apiserver ok ({inv.profile.health().says})" in r.stdout  # https://127.0.0.2:6443, TLS, ...
    assert inv.profile.health().says.startswith("https://")
    assert "loopback :8080 ok" in r.stdout
    assert r.stdout.count("node Ready") == 4 and "OK: the cluster is as the inventory says" in r.stdout


def test_status_reports_an_edited_file_and_a_key_left_readable(inventory):
    on_host(inventory, NODE, ["sh", "-c", "echo '# edited by hand' >> /etc/kubernetes.env"])
    on_host(inventory, NODE, ["chmod", "0644", legacy_paths.KUBELET_KEY])
    try:
        r = fab(inventory, "status", check=False)
        assert r.returncode == 1
        assert problems(r.stdout) == [f"{NODE}: /etc/kubernetes.env differs",
                                      f"{NODE}: {legacy_paths.KUBELET_KEY} mode 0644, wanted 0600"]
        assert "PRIVATE KEY" not in r.stdout + r.stderr
    finally:
        fab(inventory, "deploy")
    fab(inventory, "status")


def test_status_makes_nothing_without_the_local_pki(lab, inventory):
    inv = load(inventory)
    folder = inv.kubernetes.pki_dir
    aside = folder.with_name(folder.name + ".aside")
    before = kubefab_files(lab, inv)
    folder.rename(aside)
    try:
        r = fab(inventory, "status", check=False)
        assert not folder.exists()  # no CA made, nothing renewed
        assert r.returncode == 1 and "pki:" not in r.stderr
        wanted, _ = status.wanted(inv)  # as status saw it: the PKI's files unknown
        unknown = {h.name: [p for p, f in wanted[h.name].items() if f.content is None] for h in inv.hosts}
        assert all(unknown.values())
        said = problems(r.stdout)
        assert said[0].startswith("identity: ") and "pki/ca.crt is missing, the cluster CA of the running cluster " \
            "is sha256:" in said[0], said  # deploy would refuse (it never makes a CA for a running cluster)
        assert said[1:] == [f"{name}: {', '.join(paths)} unknown (the local pki lacks what they hold)"
                            for name, paths in unknown.items()]
        assert "apiserver ok (https://" in r.stdout  # the hosts keep their certificates
    finally:
        aside.rename(folder)
    assert kubefab_files(lab, inv) == before  # nothing written on a host either
    fab(inventory, "status")


def test_apiserver_ok_comes_from_the_secure_port_not_the_loopback(inventory):
    """With the master's copy of the operator's key broken, the secure check fails while
    the loopback port still answers; deploy puts the key back and waits with the same
    check."""
    inv = load(inventory)
    on_host(inventory, MASTER, ["truncate", "-s", "0", legacy_paths.ADMIN_KEY])
    try:
        r = fab(inventory, "status", check=False)
        assert r.returncode == 1
        said = problems(r.stdout)
        assert said[0] == f"{MASTER}: {legacy_paths.ADMIN_KEY} differs"
        assert said[1].startswith(f"{MASTER}: apiserver not ok ({inv.profile.health().says}): curl: (58)"), said
        assert len(said) == 2
        assert "loopback :8080 ok" in r.stdout and r.stdout.count("node Ready") == 4
    finally:
        d = fab(inventory, "deploy")
    assert f"[{MASTER}] update {legacy_paths.ADMIN_KEY}" in d.stdout
    fab(inventory, "status")


def test_with_the_apiserver_stopped_nodes_are_unknown(inventory):
    inv = load(inventory)
    on_host(inventory, MASTER, ["systemctl", "stop", layout.APISERVER])
    try:
        r = fab(inventory, "status", check=False)
        assert r.returncode == 1
        said = problems(r.stdout)
        assert f"{MASTER}: {layout.APISERVER} is inactive" in said
        assert any(p.startswith(f"{MASTER}: apiserver not ok ({inv.profile.health().says}): curl: (7)") for p in said)
        assert any(p.startswith(f"{MASTER}: loopback not ok (loopback :8080)") for p in said)
        assert f"{MASTER}: nodes unknown: kubectl on the master did not list them" in said
        assert r.stdout.count("node unknown") == 4 and "not registered" not in r.stdout
    finally:
        on_host(inventory, MASTER, ["systemctl", "start", layout.APISERVER])
    back_to_ok(inventory)

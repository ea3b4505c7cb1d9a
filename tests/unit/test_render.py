"""render: golden files for the seed cluster, the original's flags against ours, tables
of modes/owners/units/versions, and the rendered scripts run for real against stubs.
Each with tls off (the original's plain HTTP, byte for byte as before TLS) and on
(hosts.yaml's; certificates from FAKE_PKI, fixed strings, as real ones are random).

KUBEFAB_UPDATE_GOLDEN=1 rewrites tests/unit/golden/ from the current templates."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tarfile
from dataclasses import replace
from pathlib import Path

import jinja2
import pytest

from kubefab import profiles, render
from stalling import stalling_server
from kubefab.model import MANUAL, MASTER, NODE, SELF, Host, Inventory, Kubernetes, Registry
from kubefab.pki import Pair, Pki
from kubefab import layout
from kubefab.profiles.legacy import paths as legacy_paths
from kubefab.profiles.legacy import render as legacy_render
from kubefab import templating

REPO = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).resolve().parent / "golden"
SEED = REPO / "tests" / "data" / "seed-cluster" / "units.yaml"  # the original's units (tests/data/README.md)
FAKE_TOKEN = "FAKE-QUAY-TOKEN"
UNITS = "/etc/systemd/system/"


def seed_inventory(*, version="v1.0.1", registration=MANUAL, token=FAKE_TOKEN, registry=True,
                   release_sha256=None, tls=False, **kube) -> Inventory:
    """The repo's hosts.yaml as model dataclasses (with a fake registry token); tls off
    unless asked for (hosts.yaml has it on)."""
    k = Kubernetes(
        version=version,
        release_url=f"https://github.com/GoogleCloudPlatform/kubernetes/releases/download/{version}/kubernetes.tar.gz",
        release_sha256=release_sha256,
        etcd_servers=("http://10.1.0.1:2379", "http://10.1.0.2:2379"),
        registration=registration, tls=tls, **kube)
    env = ("environment", "production")

    def node(name, address, host, workload):
        return Host(name, address, NODE, labels=(env, ("host", host), ("workload", workload)))

    hosts = (Host("azure-prd-01", "10.1.0.1", MASTER),
             node("azure-prd-02", "10.1.0.2", "azure", "high-available"),
             node("azure-prd-03", "10.1.0.3", "azure", "high-available"),
             node("azure-prd-04", "10.1.0.4", "azure", "high-available"),
             node("ded-prd-01", "10.1.0.5", "dedicated", "processing-intensive"))
    reg = Registry("quay.io", token, "environment variable KUBEFAB_REGISTRY_TOKEN") if registry else None
    return Inventory(REPO / "hosts.yaml", k, hosts, reg, cluster="production", profile_class=profiles.kind(version))


def _fake(what: str) -> str:
    return f"-----FAKE {what.upper()}-----\n"


FAKE_PKI = Pki(
    dir=Path("/nonexistent/pki"), ca_cert=_fake("ca certificate"),
    apiserver=Pair(_fake("apiserver certificate"), _fake("apiserver key")),
    kubelets={n: Pair(_fake(f"kubelet {n} certificate"), _fake(f"kubelet {n} key"))
              for n in ("azure-prd-02", "azure-prd-03", "azure-prd-04", "ded-prd-01")},
    proxy=Pair(_fake("kube-proxy certificate"), _fake("kube-proxy key")),
    admin=Pair(_fake("admin certificate"), _fake("admin key")))
FAKE_KEYS = [p.key for p in (FAKE_PKI.apiserver, FAKE_PKI.proxy, FAKE_PKI.admin, *FAKE_PKI.kubelets.values())]


def rendered(inv: Inventory, host: Host):
    """render_host with FAKE_PKI (unused when tls is off)."""
    return render.render_host(inv, host, FAKE_PKI)


def units_of(files) -> dict[str, str]:
    return {p[len(UNITS):]: f.content for p, f in files.items() if p.startswith(UNITS)}


def unit_lines(content: str, key: str) -> list[str]:
    return [line.split("=", 1)[1] for line in content.splitlines() if line.startswith(key + "=")]


# --- golden files ---------------------------------------------------------------------

# tls off: golden/<host>/ and golden/cloud-config/ (the files as before TLS);
# tls on: golden/tls/<host>/ and golden/tls/cloud-config/.
@pytest.mark.parametrize("tls", [False, True], ids=["plain", "tls"])
@pytest.mark.parametrize("name", ["azure-prd-01", "azure-prd-02"])
def test_golden(name, tls):
    inv = seed_inventory(tls=tls)
    base = GOLDEN / "tls" if tls else GOLDEN
    files = rendered(inv, inv.host(name))
    wanted = {base / name / p.lstrip("/"): f.content for p, f in files.items()}
    wanted[base / "cloud-config" / f"{name}.yaml"] = render.cloud_config(inv, inv.host(name), FAKE_PKI)
    if os.environ.get("KUBEFAB_UPDATE_GOLDEN") == "1":
        shutil.rmtree(base / name, ignore_errors=True)
        for path, content in wanted.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)
    have = {p for p in (base / name).rglob("*") if p.is_file()}
    assert have == {p for p in wanted if p.is_relative_to(base / name)}, \
        "golden files differ in number; KUBEFAB_UPDATE_GOLDEN=1 regenerates them"
    for path, content in wanted.items():
        assert path.read_text() == content, f"{path} differs; review, then KUBEFAB_UPDATE_GOLDEN=1"


def test_hosts_yaml_renders_as_the_test_inventory():
    inventory = pytest.importorskip("kubefab.inventory", reason="kubefab/inventory.py not there yet")
    inv = inventory.load(REPO / "hosts.yaml", environ={"KUBEFAB_REGISTRY_TOKEN": FAKE_TOKEN})
    assert inv.kubernetes.tls is True
    ours = seed_inventory(tls=True)
    for host in ours.hosts:
        a, b = rendered(inv, inv.host(host.name)), rendered(ours, host)
        assert {p: (f.content, f.mode, f.owner, f.group) for p, f in a.items()} == \
               {p: (f.content, f.mode, f.owner, f.group) for p, f in b.items()}


# --- the original's flags against ours -------------------------------------------------

# unit -> {flag: (original value, kubefab's value, why)}; None: the flag is absent.
# The inventory is hosts.yaml's (v1.0.1, registration: manual), so every other flag
# the original set must come out with the original's value. FIXES hold with and
# without TLS; TLS_FIXES are the further changes tls: true (hosts.yaml's) makes.
FIXES = {
    "kubernetes.apiserver.service": {
        "--cloud-provider": ("vagrant", None, "the vagrant provider was deleted before v1.2; "
                             "the hosts are Azure VMs and a dedicated box"),
        "--bind-address": (None, "0.0.0.0", "the secure port listens where the insecure one does "
                           "(the original left it at the default, all addresses)"),
    },
    "kubernetes.scheduler.service": {
        "--master": ("127.0.0.1:8080", "http://127.0.0.1:8080", "inv.local_master_url, with its scheme"),
    },
    "kubernetes.controller-manager.service": {
        "--cloud-provider": ("vagrant", None, "as the apiserver"),
        "--master": ("127.0.0.1:8080", "http://127.0.0.1:8080", "inv.local_master_url, with its scheme"),
    },
    "kubernetes.kubelet.service": {
        "--hostname-override": (None, "azure-prd-02", "the node registers under its inventory name"),
        "--register-node": ("true", "false", "registration: manual; the original's manual "
                            "registration section asks for --register-node=false"),
    },
    "kubernetes.proxy.service": {},
}
TLS_FIXES = {
    "kubernetes.apiserver.service": {
        "--address": ("0.0.0.0", "127.0.0.1", "the insecure port (no authentication) listens on the "
                      "master's loopback only: scheduler, controller-manager, wupiao and kubefab's "
                      "kubectl over SSH run there; everyone else uses the secure port"),
        "--tls-cert-file": (None, "/etc/kubernetes/pki/apiserver.crt", "the secure port serves "
                            "kubefab's CA-signed certificate (names: master, its address, 127.0.0.1, "
                            "10.100.0.1, kubernetes.default...) instead of a self-signed one"),
        "--tls-private-key-file": (None, "/etc/kubernetes/pki/apiserver.key", "its key"),
        "--client-ca-file": (None, "/etc/kubernetes/pki/ca.crt", "clients authenticate with "
                             "certificates signed by kubefab's CA"),
    },
    "kubernetes.scheduler.service": {},
    "kubernetes.controller-manager.service": {},
    "kubernetes.kubelet.service": {
        "--api-servers": ("http://10.1.0.1:8080", "https://10.1.0.1:6443", "the secure port; the "
                          "insecure one is no longer reachable from the nodes"),
        "--kubeconfig": (None, "/etc/kubernetes/kubelet.kubeconfig", "v1.0's kubelet reads its "
                         "credentials (CA, client certificate system:node:<name>) from --kubeconfig"),
    },
    "kubernetes.proxy.service": {
        "--master": ("http://10.1.0.1:8080", "https://10.1.0.1:6443", "as the kubelet"),
        "--kubeconfig": (None, "/etc/kubernetes/proxy.kubeconfig", "its credentials: CA, client "
                         "certificate system:kube-proxy"),
    },
}


def exec_start(content: str, unit: str) -> dict[str, str | None]:
    """ExecStart's binary and flags; a bare `--flag` counts as `--flag=true`. Reads the
    continuation lines with or without `\\` (the original's kubelet and proxy lack them)."""
    lines = content.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith("ExecStart="))
    words = lines[start].strip()[len("ExecStart="):].split()
    for line in lines[start + 1:]:
        if not line.strip().startswith("--"):
            break
        words += line.split()
    words = [w for w in words if w != "\\"]
    flags = {"binary": words[0]}
    for word in words[1:]:
        assert word.startswith("--"), f"{unit}: unexpected word {word!r} on the command line"
        flag, _, value = word.partition("=")
        flags[flag] = value or "true"
    return flags


def seed_units() -> dict[str, str]:
    """The original's unit contents, by name, from its cloud-config units."""
    text, units = SEED.read_text(), {}
    for m in re.finditer(r"^( *)- name: (\S+)\n\1  enable: true\n(?:\1  command: start\n)?\1  content: \|\n", text, re.M):
        indent = len(m.group(1)) + 4
        body = []
        for line in text[m.end():].splitlines():
            if line.strip() and len(line) - len(line.lstrip()) < indent:
                break
            body.append(line[indent:])
        units[m.group(2)] = "\n".join(body).strip() + "\n"
    return units


@pytest.mark.parametrize("tls", [False, True], ids=["plain", "tls"])
@pytest.mark.parametrize("unit", sorted(FIXES))
def test_flags_differ_from_the_original_only_by_documented_fixes(unit, tls):
    inv = seed_inventory(tls=tls)
    host = inv.master if unit in legacy_render.MASTER_UNITS else inv.host("azure-prd-02")
    ours = exec_start(rendered(inv, host)[UNITS + unit].content, unit)
    theirs = exec_start(seed_units()[unit], unit)
    differ = {flag: (theirs.get(flag), ours.get(flag))
              for flag in theirs.keys() | ours.keys() if theirs.get(flag) != ours.get(flag)}
    fixes = {**FIXES[unit], **(TLS_FIXES[unit] if tls else {})}
    assert differ == {flag: (old, new) for flag, (old, new, _why) in fixes.items()}


def test_seed_parser_sees_every_original_unit():
    assert set(seed_units()) >= set(FIXES) | {"kubernetes.master.target", "kubernetes.node.target",
                                              "kubernetes.download.service", layout.REGISTER}


# --- tables ---------------------------------------------------------------------------

MASTER_FILES = {
    "/etc/kubernetes.env": (0o644, "root", False),
    "/opt/bin/wupiao": (0o755, "root", False),
    "/opt/bin/kubernetes-download": (0o755, "root", False),
    "/var/lib/kubelet/.dockercfg": (0o600, "core", True),
    "/home/core/.dockercfg": (0o600, "core", True),
    UNITS + "kubernetes.master.target": (0o644, "root", False),
    UNITS + "kubernetes.download.service": (0o644, "root", False),
    UNITS + "kubernetes.apiserver.service": (0o644, "root", False),
    UNITS + "kubernetes.scheduler.service": (0o644, "root", False),
    UNITS + "kubernetes.controller-manager.service": (0o644, "root", False),
}
_COMMON = {p: v for p, v in MASTER_FILES.items() if "master" not in p and "apiserver" not in p
           and "scheduler" not in p and "controller" not in p}
NODE_FILES = {
    **_COMMON,
    UNITS + "kubernetes.node.target": (0o644, "root", False),
    UNITS + "kubernetes.kubelet.service": (0o644, "root", False),
    UNITS + "kubernetes.proxy.service": (0o644, "root", False),
}
MANUAL_FILES = {
    "/opt/bin/register_node.sh": (0o755, "root", False),
    UNITS + "kubernetes.register-node.service": (0o644, "root", False),
}
MASTER_TLS_FILES = {
    "/etc/kubernetes/pki/ca.crt": (0o644, "root", False),
    "/etc/kubernetes/pki/apiserver.crt": (0o644, "root", False),
    "/etc/kubernetes/pki/apiserver.key": (0o600, "root", True),
    "/etc/kubernetes/pki/admin.crt": (0o644, "root", False),
    "/etc/kubernetes/pki/admin.key": (0o600, "root", True),
}
NODE_TLS_FILES = {
    "/etc/kubernetes/pki/ca.crt": (0o644, "root", False),
    "/etc/kubernetes/pki/kubelet.crt": (0o644, "root", False),
    "/etc/kubernetes/pki/kubelet.key": (0o600, "root", True),
    "/etc/kubernetes/pki/kube-proxy.crt": (0o644, "root", False),
    "/etc/kubernetes/pki/kube-proxy.key": (0o600, "root", True),
    "/etc/kubernetes/kubelet.kubeconfig": (0o644, "root", False),
    "/etc/kubernetes/proxy.kubeconfig": (0o644, "root", False),
}


@pytest.mark.parametrize("name, registration, tls, expected", [
    ("azure-prd-01", MANUAL, False, MASTER_FILES),
    ("azure-prd-01", SELF, False, MASTER_FILES),
    ("azure-prd-02", SELF, False, NODE_FILES),
    ("ded-prd-01", MANUAL, False, {**NODE_FILES, **MANUAL_FILES}),
    ("azure-prd-01", MANUAL, True, {**MASTER_FILES, **MASTER_TLS_FILES}),
    ("azure-prd-02", SELF, True, {**NODE_FILES, **NODE_TLS_FILES}),
    ("ded-prd-01", MANUAL, True, {**NODE_FILES, **MANUAL_FILES, **NODE_TLS_FILES}),
])
def test_files_modes_owners_per_role(name, registration, tls, expected):
    inv = seed_inventory(registration=registration, tls=tls)
    files = rendered(inv, inv.host(name))
    assert list(files) == sorted(files)
    assert {p: (f.mode, f.owner, f.secret) for p, f in files.items()} == expected
    for f in files.values():
        assert f.group == f.owner


def test_no_registry_no_dockercfg():
    inv = seed_inventory(registry=False)
    assert not [p for p in render.render_host(inv, inv.host("azure-prd-02")) if "dockercfg" in p]


@pytest.mark.parametrize("token", [FAKE_TOKEN, 'a"b\\c', "tok'en\n$x`y`"])
def test_dockercfg_is_json_of_the_original_shape(token):
    inv = seed_inventory(token=token)
    files = render.render_host(inv, inv.host("azure-prd-03"))
    for path in ("/var/lib/kubelet/.dockercfg", "/home/core/.dockercfg"):
        assert json.loads(files[path].content) == {"quay.io": {"auth": token, "email": ""}}
    others = [f for f in files.values() if not f.secret]
    assert others and not [f.path for f in others if token in f.content]  # never on a command line


def test_redact_keeps_path_and_mode_and_hides_the_token():
    inv = seed_inventory()
    files = render.render_host(inv, inv.host("azure-prd-02"))
    secret = render.redact(files["/home/core/.dockercfg"])
    assert (secret.path, secret.mode, secret.owner, secret.secret) == ("/home/core/.dockercfg", 0o600, "core", True)
    assert secret.content == "<secret: registry token from environment variable KUBEFAB_REGISTRY_TOKEN>\n"
    plain = files["/opt/bin/wupiao"]
    assert render.redact(plain) is plain


@pytest.mark.parametrize("name, order", [
    ("azure-prd-01", ("kubernetes.download.service", "kubernetes.apiserver.service",
                      "kubernetes.scheduler.service", "kubernetes.controller-manager.service")),
    ("azure-prd-02", ("kubernetes.download.service", "kubernetes.register-node.service",
                      "kubernetes.kubelet.service", "kubernetes.proxy.service")),
])
def test_unit_order_target_and_restarts(name, order):
    inv = seed_inventory()
    host = inv.host(name)
    assert inv.profile.unit_order(host) == order
    files = render.render_host(inv, host)
    units = units_of(files)
    assert set(units) == {inv.profile.target(host), *order}  # master units only on the master, ...
    assert unit_lines(units[inv.profile.target(host)], "Wants") == list(order)
    assert unit_lines(units[inv.profile.target(host)], "WantedBy") == ["multi-user.target"]
    assert files[UNITS + inv.profile.target(host)].restarts == ()
    for unit in order:
        assert files[UNITS + unit].restarts == (unit,)
        assert unit_lines(units[unit], "WantedBy") == [inv.profile.target(host)]
    restarting = {p: f.restarts for p, f in files.items() if f.restarts and not p.startswith(UNITS)}
    assert restarting == ({} if host.is_master else
                          {"/opt/bin/register_node.sh": ("kubernetes.register-node.service",)})


def test_self_registration_drops_the_register_unit():
    inv = seed_inventory(registration=SELF)
    assert inv.profile.unit_order(inv.host("azure-prd-04")) == (
        "kubernetes.download.service", "kubernetes.kubelet.service", "kubernetes.proxy.service")
    kubelet = render.render_host(inv, inv.host("azure-prd-04"))[UNITS + "kubernetes.kubelet.service"]
    assert "--register-node=true" in kubelet.content


@pytest.mark.parametrize("name", ["azure-prd-01", "azure-prd-02", "ded-prd-01"])
def test_every_service_has_its_own_condition_host(name):
    inv = seed_inventory()
    host = inv.host(name)
    units = units_of(render.render_host(inv, host))
    want = "azure-prd-01" if host.is_master else "!azure-prd-01"
    for unit, content in units.items():
        assert unit_lines(content, "ConditionHost") == [want], unit
        if unit.endswith(".service"):
            assert "kubernetes.download.service" in " ".join(unit_lines(content, "After")) or \
                unit == "kubernetes.download.service", unit
            if "Type=oneshot" not in content:
                assert "Restart=always" in content and "RestartSec=10" in content, unit


def test_master_wiring():
    inv = seed_inventory()
    units = units_of(render.render_host(inv, inv.master))
    for unit in ("kubernetes.scheduler.service", "kubernetes.controller-manager.service"):
        pre = unit_lines(units[unit], "ExecStartPre")
        assert pre == ["/opt/bin/wupiao http://127.0.0.1:8080/healthz",
                       "/bin/bash -c 'test \"$$(curl --silent --fail http://127.0.0.1:8080/healthz)\" = ok'"]
        assert "wget" not in units[unit]
    node = units_of(render.render_host(inv, inv.host("azure-prd-02")))
    assert unit_lines(node["kubernetes.register-node.service"], "ExecStart") == [
        "/opt/bin/register_node.sh azure-prd-02 http://10.1.0.1:8080"]


def test_bind_address_and_ports_come_from_the_inventory():
    inv = seed_inventory()
    master = replace(inv.master, address="127.0.0.2", bind_address="127.0.0.2")
    node = replace(inv.host("azure-prd-02"), address="127.0.0.3", bind_address="127.0.0.3")
    k = replace(inv.kubernetes, kubelet_port=11250, log_level=5,
                apiserver=replace(inv.kubernetes.apiserver, insecure_port=18080, secure_port=16443))
    inv = replace(inv, hosts=(master, node), kubernetes=k)
    m = exec_start(render.render_host(inv, master)[UNITS + "kubernetes.apiserver.service"].content, "")
    assert (m["--address"], m["--port"], m["--secure-port"], m["--v"]) == ("127.0.0.2", "18080", "16443", "5")
    s = exec_start(render.render_host(inv, master)[UNITS + "kubernetes.scheduler.service"].content, "")
    assert s["--master"] == "http://127.0.0.2:18080"
    n = exec_start(render.render_host(inv, node)[UNITS + "kubernetes.kubelet.service"].content, "")
    assert (n["--address"], n["--port"], n["--api-servers"]) == ("127.0.0.3", "11250", "http://127.0.0.2:18080")


# version -> (apiserver flags, kubelet flags that changed, kubeconfig file rendered)
VERSIONS = {
    "v1.0.1": ({"--address": "0.0.0.0", "--port": "8080"},
               {"--api-servers": "http://10.1.0.1:8080", "--config": "/etc/kubernetes/manifests/"}, False),
    "v1.2.7": ({"--address": "0.0.0.0", "--port": "8080"},
               {"--api-servers": "http://10.1.0.1:8080", "--config": "/etc/kubernetes/manifests/"}, False),
    "v1.4.0": ({"--insecure-bind-address": "0.0.0.0", "--insecure-port": "8080"},
               {"--api-servers": "http://10.1.0.1:8080", "--pod-manifest-path": "/etc/kubernetes/manifests/"}, False),
    "v1.8.0": ({"--insecure-bind-address": "0.0.0.0", "--insecure-port": "8080"},
               {"--kubeconfig": legacy_paths.KUBELET_KUBECONFIG, "--pod-manifest-path": "/etc/kubernetes/manifests/"}, True),
    "v1.19.0": ({"--insecure-bind-address": "0.0.0.0", "--insecure-port": "8080"},
                {"--kubeconfig": legacy_paths.KUBELET_KUBECONFIG, "--pod-manifest-path": "/etc/kubernetes/manifests/"}, True),
}
API_VERSIONED = {"--address", "--port", "--insecure-bind-address", "--insecure-port"}
KUBELET_VERSIONED = {"--api-servers", "--kubeconfig", "--config", "--pod-manifest-path"}


@pytest.mark.parametrize("version", sorted(VERSIONS))
def test_version_table(version):
    api, kubelet, kubeconfig = VERSIONS[version]
    inv = seed_inventory(version=version)
    master = render.render_host(inv, inv.master)
    node = render.render_host(inv, inv.host("azure-prd-02"))
    a = exec_start(master[UNITS + "kubernetes.apiserver.service"].content, "")
    k = exec_start(node[UNITS + "kubernetes.kubelet.service"].content, "")
    assert {f: v for f, v in a.items() if f in API_VERSIONED} == api
    assert {f: v for f, v in k.items() if f in KUBELET_VERSIONED} == kubelet
    assert a["--kubelet-https"] == "true"
    assert (legacy_paths.KUBELET_KUBECONFIG in node) is kubeconfig
    assert legacy_paths.KUBELET_KUBECONFIG not in master
    if kubeconfig:
        f = node[legacy_paths.KUBELET_KUBECONFIG]
        assert (f.mode, f.restarts) == (0o644, ("kubernetes.kubelet.service",))
        import yaml
        doc = yaml.safe_load(f.content)
        assert doc["clusters"][0]["cluster"]["server"] == "http://10.1.0.1:8080"
        assert doc["current-context"] == "kubelet"


@pytest.mark.parametrize("version", ["v0.21.0", "v1.20.0", "v1.33.1"])
def test_unsupported_versions_are_refused(version):
    """No profile renders them (the inventory refuses them too: test_inventory)."""
    with pytest.raises(ValueError, match="v1.0.0 up to v1.19.x"):
        profiles.kind(version)


def test_strict_undefined_raises():
    env = templating.environment("kubefab.profiles.legacy")
    with pytest.raises(jinja2.UndefinedError):
        env.from_string("--master={{ master_url }}").render()
    with pytest.raises(jinja2.UndefinedError):
        env.get_template("kubernetes.proxy.service.j2").render(master=seed_inventory().master)


def test_every_template_is_used_and_files_are_clean():
    used = set()
    for registration, version, tls in ((MANUAL, "v1.0.1", False), (SELF, "v1.8.0", False),
                                       (MANUAL, "v1.0.1", True), (SELF, "v1.19.0", True)):
        inv = seed_inventory(registration=registration, version=version, tls=tls)
        for host in inv.hosts:
            for spec in legacy_render.specs(inv, host):
                used.add(spec[1])
            for f in rendered(inv, host).values():
                assert f.content.endswith("\n") and not f.content.endswith("\n\n"), f.path
                assert not re.search(r"[ \t]$", f.content, re.M), f"{f.path}: trailing whitespace"
    legacy = Path(legacy_render.__file__).parent / "templates"
    shared = Path(render.__file__).parent / "templates"
    assert used == {p.name for p in (*legacy.glob("*.j2"), *shared.glob("*.j2"))}


def test_release_stamp_goes_into_the_env_file():
    inv = seed_inventory(release_sha256="ab" * 32)
    env = render.render_host(inv, inv.master)["/etc/kubernetes.env"].content
    values = dict(line.split("=", 1) for line in env.splitlines() if not line.startswith("#"))
    assert values["KUBE_RELEASE_STAMP"] == f"'{inv.profile.release_stamp()}'"
    assert values["KUBE_RELEASE_SHA256"] == "ab" * 32
    assert values["KUBE_RELEASE_TARBALL"] == inv.kubernetes.release_url
    assert inv.profile.release_stamp() != (seed_inventory()).profile.release_stamp()
    assert inv.profile.release_stamp() != (seed_inventory(version="v1.0.2")).profile.release_stamp()


@pytest.mark.parametrize("value", ["a b", 'x"y', "50%", "$HOME"])
def test_unit_words_are_escaped_or_refused(value):
    if " " in value or '"' in value:
        with pytest.raises(ValueError):
            templating.unit_arg(value)
    else:
        assert templating.unit_arg(value) == value.replace("%", "%%").replace("$", "$$")


# --- the rendered scripts, run -----------------------------------------------------------

def write_exec(path: Path, content: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)
    path.chmod(0o755)
    return path


def run(argv, **kw):
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, **kw)


@pytest.mark.parametrize("tls", [False, True], ids=["plain", "tls"])
@pytest.mark.parametrize("path, shell", [("/opt/bin/wupiao", "bash"), ("/opt/bin/kubernetes-download", "bash"),
                                         ("/opt/bin/register_node.sh", "sh")])
def test_scripts_parse(tmp_path, path, shell, tls):
    inv = seed_inventory(tls=tls)
    script = write_exec(tmp_path / "s", rendered(inv, inv.host("azure-prd-02"))[path].content)
    assert run([shell, "-n", str(script)]).returncode == 0


def test_wupiao(tmp_path):
    inv = seed_inventory()
    wupiao = write_exec(tmp_path / "wupiao", render.render_host(inv, inv.master)["/opt/bin/wupiao"].content)
    r = run([str(wupiao)])
    assert r.returncode == 2 and "usage: wupiao" in r.stderr
    write_exec(tmp_path / "stub" / "curl", f'#!/bin/sh\necho "$@" >> {tmp_path}/curl.log\n')
    env = {**os.environ, "PATH": f"{tmp_path}/stub:{os.environ['PATH']}"}
    assert run([str(wupiao), "10.1.0.1:8080"], env=env).returncode == 0
    assert run([str(wupiao), "http://127.0.0.1:8080/healthz"], env=env).returncode == 0
    assert (tmp_path / "curl.log").read_text().splitlines() == [
        "-o /dev/null -sf http://10.1.0.1:8080", "-o /dev/null -sf http://127.0.0.1:8080/healthz"]


def _tarball(path: Path, files: dict[str, str | bytes], mode=0o755) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, content in files.items():
            src = path.parent / "member"
            src.write_bytes(content.encode() if isinstance(content, str) else content)
            src.chmod(mode)
            tar.add(src, arcname=name)
    return path


def _release(dirpath: Path, tag: str, *, standalone=False) -> Path:
    dirpath.mkdir(parents=True, exist_ok=True)
    server = _tarball(dirpath / "kubernetes-server-linux-amd64.tar.gz",
                      {f"kubernetes/server/bin/{b}": f"#!/bin/sh\necho {tag} {b}\n"
                       for b in ("kubectl", "kube-apiserver", "kubelet")}, mode=0o700)
    if standalone:
        return server
    return _tarball(dirpath / "kubernetes.tar.gz", {
        "kubernetes/server/kubernetes-server-linux-amd64.tar.gz": server.read_bytes(),
        "kubernetes/README.md": "release\n"})


def _sha256(path: Path) -> str:
    import hashlib
    return hashlib.sha256(path.read_bytes()).hexdigest()


class FakeRoot:
    """A directory standing in for a host's / while the download script runs."""

    def __init__(self, root: Path):
        self.root = root
        self.install, self.bin = root / "opt" / "kubernetes", root / "opt" / "bin"

    def download(self, url: str, sha256: str | None, *args: str, version="v1.0.1", env=None):
        inv = seed_inventory(version=version, release_sha256=sha256,
                             install_dir=str(self.install), bin_dir=str(self.bin))
        inv = replace(inv, kubernetes=replace(inv.kubernetes, release_url=url))
        files = render.render_host(inv, inv.master)
        environ = {"PATH": os.environ["PATH"], **(env or {})}
        env = self.root / "etc" / "kubernetes.env"
        env.parent.mkdir(parents=True, exist_ok=True)
        env.write_text(files["/etc/kubernetes.env"].content)
        script = write_exec(self.bin / "kubernetes-download", files[f"{self.bin}/kubernetes-download"].content)
        # The env file as sh reads it: what systemd's EnvironmentFile= gives the script.
        r = run(["bash", "-c", 'set -a; . "$1"; set +a; exec "$2" "${@:3}"', "sh", str(env), str(script), *args],
                env=environ)
        return r, inv.profile.release_stamp()

    def kubectl(self) -> str:
        return run([str(self.bin / "kubectl")]).stdout.strip()

    def stamp(self) -> str:
        return (self.install / ".kubefab-release").read_text()

    def leftovers(self) -> list[str]:
        return sorted(p.name for p in self.install.parent.iterdir() if ".download." in p.name)


def test_download_installs_verifies_and_keeps_previous_binaries(tmp_path):
    host = FakeRoot(tmp_path / "host")
    one, two = _release(tmp_path / "r1", "one"), _release(tmp_path / "r2", "two")

    r, stamp = host.download(one.as_uri(), _sha256(one))
    assert r.returncode == 0, r.stderr
    assert host.kubectl() == "one kubectl" and host.stamp() == stamp + "\n"
    assert (host.bin / "kubectl").is_symlink()
    assert (host.install / "server" / "bin" / "kube-apiserver").stat().st_mode & 0o005 == 0o005
    r, _ = host.download(one.as_uri(), _sha256(one))  # stamp matches: nothing to do
    assert r.returncode == 0 and "installed in" in r.stdout and "already" in r.stdout

    r, _ = host.download(two.as_uri(), "0" * 64, version="v1.0.2")  # wrong checksum
    assert r.returncode == 1 and "does not have sha256" in r.stderr and "keeping the binaries" in r.stderr
    assert host.kubectl() == "one kubectl" and host.stamp() == stamp + "\n"

    r, _ = host.download((tmp_path / "missing.tar.gz").as_uri(), None, version="v1.0.2")
    assert r.returncode == 1 and "downloading" in r.stderr and "failed" in r.stderr
    assert host.kubectl() == "one kubectl"

    r, stamp2 = host.download(two.as_uri(), _sha256(two), version="v1.0.2")
    assert r.returncode == 0, r.stderr
    assert host.kubectl() == "two kubectl" and host.stamp() == stamp2 + "\n"
    assert host.leftovers() == []


def test_download_accepts_the_server_tarball_on_its_own_and_refuses_junk(tmp_path):
    host = FakeRoot(tmp_path / "host")
    server = _release(tmp_path / "r", "solo", standalone=True)
    r, _ = host.download(server.as_uri(), None, version="v1.19.0")
    assert r.returncode == 0, r.stderr
    assert "not verified" in r.stdout and host.kubectl() == "solo kubectl"
    junk = _tarball(tmp_path / "junk.tar.gz", {"something/else": "x\n"})
    r, _ = host.download(junk.as_uri(), None, "--force", version="v1.19.0")
    assert r.returncode == 1 and "holds no kubernetes/server/bin/kubectl" in r.stderr
    assert host.kubectl() == "solo kubectl" and host.leftovers() == []


@pytest.mark.standin  # a server that stalls, and curl's real retries: seconds, not a pure test's
def test_a_stalled_release_server_fails_the_download_in_bounded_time(tmp_path):
    """A server that accepts, promises a body and sends nothing: the download fails with
    the reason instead of hanging, and the host keeps what it had."""
    host = FakeRoot(tmp_path / "host")
    one = _release(tmp_path / "r1", "one")
    assert host.download(one.as_uri(), _sha256(one))[0].returncode == 0
    with stalling_server() as url:
        r, _ = host.download(url, None, version="v1.0.2", env={"KUBE_DOWNLOAD_STALL_SECONDS": "1"})
    assert r.returncode == 1 and "too slow" in r.stderr.lower() and "keeping the binaries" in r.stderr, r.stderr
    assert host.kubectl() == "one kubectl" and host.leftovers() == []


# tls -> (the URL register-node.service passes, kubectl's options, curl's options)
REGISTER_TLS = {
    False: ("http://10.1.0.1:8080", "", "--silent --fail"),
    True: ("https://10.1.0.1:6443", "--kubeconfig /etc/kubernetes/kubelet.kubeconfig ",
           "--silent --fail --cacert /etc/kubernetes/pki/ca.crt --cert /etc/kubernetes/pki/kubelet.crt "
           "--key /etc/kubernetes/pki/kubelet.key"),
}


@pytest.mark.parametrize("tls", [False, True], ids=["plain", "tls"])
@pytest.mark.parametrize("registered", [False, True])
def test_register_node_script(tmp_path, registered, tls):
    url, opts, curl = REGISTER_TLS[tls]
    inv = seed_inventory(bin_dir=str(tmp_path / "bin"), tls=tls)
    files = rendered(inv, inv.host("ded-prd-01"))
    assert unit_lines(files[UNITS + layout.REGISTER].content, "ExecStart") == [
        f"{tmp_path}/bin/register_node.sh ded-prd-01 {url}"]
    script = write_exec(tmp_path / "register_node.sh", files[f"{tmp_path}/bin/register_node.sh"].content)
    log = tmp_path / "kubectl.log"
    write_exec(tmp_path / "bin" / "kubectl", f"""#!/bin/sh
echo "ARGS $*" >> {log}
case "$*" in *" get node "*) exit {0 if registered else 1} ;; *" create --validate=false -f -") cat >> {log} ;; esac
""")
    write_exec(tmp_path / "stub" / "curl", f'#!/bin/sh\necho "$*" >> {tmp_path}/curl.log\necho ok\n')
    env = {"PATH": f"{tmp_path}/stub:{os.environ['PATH']}"}
    r = run([str(script), "ded-prd-01", url], env=env)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "curl.log").read_text().splitlines() == [f"{curl} {url}/healthz"]
    lines = log.read_text().splitlines()
    assert lines[0] == f"ARGS {opts}-s {url} get node ded-prd-01"
    if registered:
        assert lines[1:] == [f"ARGS {opts}-s {url} label --overwrite node ded-prd-01 "
                             "environment=production host=dedicated name=ded-prd-01 workload=processing-intensive"]
    else:
        assert lines[1] == f"ARGS {opts}-s {url} create --validate=false -f -"
        assert json.loads("\n".join(lines[2:])) == {
            "kind": "Node", "apiVersion": "v1",
            "metadata": {"name": "ded-prd-01", "labels": inv.node_labels(inv.host("ded-prd-01"))}}


def test_register_node_script_gives_up_and_checks_its_arguments(tmp_path):
    inv = seed_inventory(bin_dir=str(tmp_path / "bin"))
    content = render.render_host(inv, inv.host("azure-prd-02"))[f"{tmp_path}/bin/register_node.sh"].content
    script = write_exec(tmp_path / "register_node.sh", content)
    write_exec(tmp_path / "stub" / "curl", "#!/bin/sh\necho 'healthz check failed'; exit 22\n")
    write_exec(tmp_path / "stub" / "sleep", "#!/bin/sh\n")
    env = {"PATH": f"{tmp_path}/stub:{os.environ['PATH']}"}
    r = run([str(script), "azure-prd-02", "http://10.1.0.1:8080"], env=env)
    assert r.returncode == 1 and "did not answer ok after 60 tries" in r.stderr
    assert run([str(script)], env=env).returncode == 2
    r = run([str(script), 'bad"name', "http://10.1.0.1:8080"], env=env)
    assert r.returncode == 2 and "not a valid node name" in r.stderr


def test_lab_shape_no_prerequisites_and_loopback_binds():
    inv = seed_inventory(requires=())
    master = replace(inv.master, address="127.0.0.2", bind_address="127.0.0.2")
    node = replace(inv.host("azure-prd-02"), address="127.0.0.3", bind_address="127.0.0.3")
    inv = replace(inv, hosts=(master, node))
    m, n = units_of(render.render_host(inv, master)), units_of(render.render_host(inv, node))
    for target in (m["kubernetes.master.target"], n["kubernetes.node.target"]):
        assert unit_lines(target, "After") == unit_lines(target, "Requires") == []
    assert unit_lines(m["kubernetes.apiserver.service"], "Wants") == ["kubernetes.download.service"]
    assert "--master=http://127.0.0.2:8080" in m["kubernetes.scheduler.service"]
    assert "wupiao http://127.0.0.2:8080/healthz" in m["kubernetes.controller-manager.service"]
    assert "0.0.0.0" not in "".join([*m.values(), *n.values()])

"""kubefab.inventory: the repo's hosts.yaml as the model, defaults, paths, and one
clear `file:line: key: problem; fix` error for every kind of bad input."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from kubefab.inventory import InventoryError, inventory_path, load
from kubefab.model import Apiserver, Host, Inventory, Kubernetes, Registry, Ssh

REPO = Path(__file__).resolve().parents[2]
TOKEN = "s3cret-token"
ENV = {"KUBEFAB_REGISTRY_TOKEN": TOKEN, "HOME": "/home/tester"}
CONFIGS = (Path("/home/tester/.ssh/config"), Path("/etc/ssh/ssh_config"))  # the OpenSSH configs read by default
HERE_CONFIGS = (Path.home() / ".ssh/config", Path("/etc/ssh/ssh_config"))  # without HOME in the environment

# The line numbers in the error table below refer to this text.
BASE = """\
cluster: production
kubernetes:
  version: v1.0.1
  release_url: https://example.com/v1.0.1/kubernetes.tar.gz
  release_sha256: null
  etcd_servers:
    - http://10.1.0.1:2379
    - http://10.1.0.2:2379
  requires: [weave-network.target, etcd2.service]
  registration: manual
  bind_address: 0.0.0.0
  apiserver:
    insecure_port: 8080
    service_cluster_ip_range: 10.100.0.0/16
registry:
  server: quay.io
  token_env: KUBEFAB_REGISTRY_TOKEN
ssh:
  user: core
  port: 22
labels:
  environment: production
hosts:
  azure-prd-01:
    address: 10.1.0.1
    role: master
  azure-prd-02:
    address: 10.1.0.2
    labels: {host: azure, workload: high-available}
  ded-prd-01:
    address: 10.1.0.5
    labels: {host: dedicated}
"""


def mutate(old: str, new: str) -> str:
    assert BASE.count(old) == 1, f"{old!r} must occur once in BASE"
    return BASE.replace(old, new)


def write(folder: Path, text: str, name: str = "hosts.yaml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text)
    return folder / name


def error(tmp_path: Path, monkeypatch, text: str, environ=ENV) -> str:
    """The message of loading `text` as ./hosts.yaml, checked for shape."""
    write(tmp_path, text)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InventoryError) as caught:
        load("hosts.yaml", environ)
    message = str(caught.value)
    assert message.startswith("hosts.yaml")
    assert message.count("\n") <= 1 and "Traceback" not in message
    assert TOKEN not in message
    return message


# --- the repo's inventory, defaults, paths ----------------------------------------

def test_repo_hosts_yaml_loads_as_the_original_cluster():
    path = REPO / "hosts.yaml"
    inv = load(path, ENV)
    ssh = Ssh(user="core", port=22, identity=None, known_hosts=Path("/home/tester/.ssh/known_hosts"),
              config=CONFIGS, given=frozenset({"user", "port"}))
    env = ("environment", "production")
    ha = (env, ("host", "azure"), ("workload", "high-available"))
    assert inv == Inventory(
        path=path,
        cluster="production",
        kubernetes=Kubernetes(
            version="v1.0.1",
            release_url="https://github.com/GoogleCloudPlatform/kubernetes/releases/download/v1.0.1/kubernetes.tar.gz",
            release_sha256=None,
            install_dir="/opt/kubernetes",
            bin_dir="/opt/bin",
            etcd_servers=("http://10.1.0.1:2379", "http://10.1.0.2:2379"),
            requires=("weave-network.target", "etcd2.service"),
            registration="manual",
            apiserver=Apiserver(insecure_port=8080, secure_port=6443, service_cluster_ip_range="10.100.0.0/16"),
            kubelet_port=10250,
            log_level=3,
            tls=True,
            pki_dir=REPO / "pki",
        ),
        registry=Registry(server="quay.io", token=TOKEN, email="", user="core",
                          token_source="environment variable KUBEFAB_REGISTRY_TOKEN"),
        hosts=(
            Host("azure-prd-01", "10.1.0.1", "master", (env,), "0.0.0.0", ssh, line=43),
            Host("azure-prd-02", "10.1.0.2", "node", ha, "0.0.0.0", ssh, line=46),
            Host("azure-prd-03", "10.1.0.3", "node", ha, "0.0.0.0", ssh, line=49),
            Host("azure-prd-04", "10.1.0.4", "node", ha, "0.0.0.0", ssh, line=52),
            Host("ded-prd-01", "10.1.0.5", "node",
                 (env, ("host", "dedicated"), ("workload", "processing-intensive")), "0.0.0.0", ssh, line=55),
        ),
    )
    assert inv.master.name == "azure-prd-01"
    assert [h.name for h in inv.nodes] == ["azure-prd-02", "azure-prd-03", "azure-prd-04", "ded-prd-01"]
    assert TOKEN not in repr(inv)


def test_defaults_and_overrides(tmp_path):
    path = write(tmp_path, """\
kubernetes:
  version: v1.19.16
  release_url: http://127.0.0.1:8000/kubernetes.tar.gz
  etcd_servers: [http://127.0.0.1:2379]
labels:
  environment: lab
  tier: shared
hosts:
  m:
    address: 127.0.0.2
    role: master
    bind_address: 127.0.0.2
  n:
    address: node.example.com
    labels: {tier: own, extra: ""}
    ssh: {user: admin, port: 2222}
""")
    inv = load(path, {})
    assert inv.cluster == "kubernetes" and inv.registry is None
    k = inv.kubernetes
    assert (k.registration, k.log_level, k.kubelet_port, k.requires, k.install_dir, k.bin_dir) == (
        "self", 3, 10250, ("weave-network.target", "etcd2.service"), "/opt/kubernetes", "/opt/bin")
    assert k.apiserver == Apiserver()
    assert (k.tls, k.pki_dir) == (True, tmp_path / "pki")  # pki/ beside the inventory
    master, node = inv.hosts
    assert (master.bind_address, master.local_address, master.ssh) == ("127.0.0.2", "127.0.0.2",
                                                                       Ssh(config=HERE_CONFIGS))
    assert node.role == "node" and node.bind_address == "0.0.0.0"
    assert node.labels == (("environment", "lab"), ("tier", "own"), ("extra", ""))
    assert node.ssh == Ssh(user="admin", port=2222, config=HERE_CONFIGS, given=frozenset({"user", "port"}))


def test_null_values_take_the_defaults(tmp_path):
    path = write(tmp_path, mutate("ssh:\n  user: core\n  port: 22\n", "ssh:\n  user:\n")
                 .replace("labels:\n  environment: production\n", "labels:\n"))
    inv = load(path, ENV)
    assert inv.host("azure-prd-01").ssh == Ssh(config=CONFIGS) and inv.host("azure-prd-01").labels == ()


def test_relative_paths_resolve_against_the_inventory_folder(tmp_path, monkeypatch):
    folder = tmp_path / "clusters" / "prod"
    write(folder / "secrets", "s3cret-token\n", name="token").chmod(0o600)
    text = mutate("  token_env: KUBEFAB_REGISTRY_TOKEN\n", "  token_file: secrets/token\n").replace(
        "ssh:\n  user: core\n", "ssh:\n  user: core\n  identity: keys/id_ed25519\n  known_hosts: ~/kh\n").replace(
        "    role: master\n", "    role: master\n    ssh: {identity: ../keys/id_rsa}\n")
    write(folder, text)
    monkeypatch.chdir(tmp_path)
    inv = load("clusters/prod/hosts.yaml", {"HOME": "/home/tester"})
    assert inv.path == Path("clusters/prod/hosts.yaml")
    assert inv.registry.token == TOKEN
    assert inv.registry.token_source == f"file {folder}/secrets/token"
    node, master = inv.host("azure-prd-02").ssh, inv.host("azure-prd-01").ssh
    assert node.identity == folder / "keys/id_ed25519"
    assert master.identity == tmp_path / "clusters/keys/id_rsa"
    assert node.known_hosts == master.known_hosts == Path("/home/tester/kh")
    assert inv.kubernetes.pki_dir == folder / "pki"


@pytest.mark.parametrize("lines, tls, pki_dir", [
    ("", True, "{folder}/pki"),
    ("  tls: false\n", False, "{folder}/pki"),
    ("  tls: true\n  pki_dir: ../keys/pki\n", True, "{folder}/../keys/pki"),
    ("  pki_dir: /srv/kubefab/pki\n", True, "/srv/kubefab/pki"),
    ("  pki_dir: ~/pki\n", True, "/home/tester/pki"),
    ("  tls:\n  pki_dir:\n", True, "{folder}/pki"),  # null: the defaults
])
def test_tls_and_pki_dir(tmp_path, lines, tls, pki_dir):
    folder = tmp_path / "clusters" / "prod"
    inv = load(write(folder, mutate("  registration: manual\n", "  registration: manual\n" + lines)), ENV)
    assert inv.kubernetes.tls is tls
    assert inv.kubernetes.pki_dir == Path(os.path.normpath(pki_dir.format(folder=folder)))


def test_inventory_path():
    assert inventory_path({}) == Path("hosts.yaml")
    assert inventory_path({}, "lab.yaml") == Path("lab.yaml")
    assert inventory_path({"KUBEFAB_INVENTORY": "x.yaml"}, "lab.yaml") == Path("x.yaml")
    assert inventory_path({"KUBEFAB_INVENTORY": ""}, None, "build/lab/hosts.yaml") == Path("build/lab/hosts.yaml")


# --- bad input: one case per row; expected substrings include the line -------------

HOST_RULE = "RFC 1123"
CASES = [
    # the file and its YAML
    ("empty file", "", ["hosts.yaml: the file is empty"]),
    ("top level a list", "- a\n- b\n", ["hosts.yaml:1: expected a mapping", "got a list"]),
    ("malformed yaml", mutate("  registration: manual", "  registration: manual: x"),
     ["hosts.yaml:10:", "invalid YAML: mapping values are not allowed here"]),
    ("unclosed flow mapping", mutate("{host: dedicated}", "{host: dedicated"),
     ["hosts.yaml:", "invalid YAML:", "while parsing a flow mapping at line 32"]),
    ("tab indent", mutate("    role: master", "\trole: master"), ["hosts.yaml:26:1: invalid YAML:", "not tabs"]),
    ("control character", mutate("quay.io", "quay.io\x07"), ["hosts.yaml:16: invalid YAML:", "remove it"]),
    ("two documents", BASE + "---\nx: 1\n", ["hosts.yaml:33:1: invalid YAML: expected a single document in the stream, but found another document"]),
    ("unknown tag", mutate("server: quay.io", "server: !host quay.io"),
     ["hosts.yaml:16: registry.server: cannot read this value", "!host"]),
    ("merge key", mutate("  port: 22\n", "  port: 22\n  <<: {user: x}\n"),
     ["hosts.yaml:21: ssh: YAML merge keys (<<) are not supported"]),
    ("non-string key", mutate("  ded-prd-01:", "  123:"),
     ["hosts.yaml:30: hosts: keys must be strings, got the number 123; quote it: '123'"]),
    # unknown keys, at every level
    ("unknown top-level key", mutate("hosts:\n", "hostz:\n"), ["hosts.yaml:23: hostz: unknown key; did you mean 'hosts'?"]),
    ("unknown kubernetes key", mutate("  etcd_servers:", "  etcd_server:"),
     ["hosts.yaml:6: kubernetes.etcd_server: unknown key; did you mean 'etcd_servers'?"]),
    ("unknown tls key", mutate("  registration: manual\n", "  registration: manual\n  tsl: true\n"),
     ["hosts.yaml:11: kubernetes.tsl: unknown key; did you mean 'tls'?"]),
    ("unknown apiserver key", mutate("    insecure_port", "    insecure-port"),
     ["hosts.yaml:13: kubernetes.apiserver.insecure-port: unknown key; did you mean 'insecure_port'?"]),
    ("unknown host key", mutate("    role: master", "    roles: master"),
     ["hosts.yaml:26: hosts.azure-prd-01.roles: unknown key; did you mean 'role'?"]),
    ("unknown key, nothing close", mutate("    role: master", "    role: master\n    zzz: 1"),
     ["hosts.yaml:27: hosts.azure-prd-01.zzz: unknown key; known keys here: address, role"]),
    ("host ssh: no known_hosts", mutate("    role: master", "    role: master\n    ssh: {known_hosts: kh}"),
     ["hosts.yaml:27: hosts.azure-prd-01.ssh.known_hosts: unknown key"]),
    # wrong types
    ("port a word", mutate("  port: 22", "  port: abc"),
     ["hosts.yaml:20: ssh.port: expected a port number from 1 to 65535, got the string 'abc'"]),
    ("port quoted", mutate("  port: 22", "  port: '22'"), ["hosts.yaml:20: ssh.port:", "write it without quotes"]),
    ("port a bool", mutate("  port: 22", "  port: yes"), ["hosts.yaml:20: ssh.port:", "got the boolean true"]),
    ("labels a list", mutate("labels:\n  environment: production", "labels: [environment]"),
     ["hosts.yaml:21: labels: expected a mapping (key: value), got a list"]),
    ("host a list", mutate("  ded-prd-01:\n    address: 10.1.0.5\n    labels: {host: dedicated}", "  ded-prd-01: [a]"),
     ["hosts.yaml:30: hosts.ded-prd-01: expected a mapping"]),
    ("label value yes", mutate("workload: high-available", "spot: yes"),
     ["hosts.yaml:29: hosts.azure-prd-02.labels.spot: expected a string, got the boolean true",
      "yes/no/on/off", "quote it: 'yes'"]),
    ("label value on", mutate("environment: production", "environment: on"),
     ["hosts.yaml:22: labels.environment: expected a string, got the boolean true", "quote it: 'on'"]),
    ("label value a number", mutate("{host: dedicated}", "{host: dedicated, cores: 64}"),
     ["hosts.yaml:32: hosts.ded-prd-01.labels.cores: expected a string, got the number 64; quote it: '64'"]),
    ("label value null", mutate("{host: dedicated}", "{host: }"),
     ["hosts.yaml:32: hosts.ded-prd-01.labels.host: expected a string, got nothing (null); quote it: ''"]),
    ("string wanted, bool given", mutate("  user: core", "  user: no"),
     ["hosts.yaml:19: ssh.user: expected a string, got the boolean false", "quote it: 'no'"]),
    ("etcd_servers a string", mutate("  etcd_servers:\n    - http://10.1.0.1:2379\n    - http://10.1.0.2:2379",
                                     "  etcd_servers: http://10.1.0.1:2379,http://10.1.0.2:2379"),
     ["hosts.yaml:6: kubernetes.etcd_servers: expected a list"]),
    # missing keys
    ("missing kubernetes", "hosts: {}\n",
     ["hosts.yaml: kubernetes: required key missing; add 'kubernetes:' at the top level"]),
    ("missing version", mutate("  version: v1.0.1\n", ""),
     ["hosts.yaml:2: kubernetes.version: required key missing; add 'version:' under 'kubernetes:'"]),
    ("empty version", mutate("  version: v1.0.1\n", "  version:\n"),
     ["hosts.yaml:3: kubernetes.version: is empty"]),
    ("missing etcd_servers", mutate("  etcd_servers:\n    - http://10.1.0.1:2379\n    - http://10.1.0.2:2379\n", ""),
     ["hosts.yaml:2: kubernetes.etcd_servers: required key missing"]),
    ("no etcd_servers", mutate("  etcd_servers:\n    - http://10.1.0.1:2379\n    - http://10.1.0.2:2379",
                               "  etcd_servers: []"), ["hosts.yaml:6: kubernetes.etcd_servers: expected at least one item"]),
    ("missing address", mutate("    address: 10.1.0.2\n", ""),
     ["hosts.yaml:27: hosts.azure-prd-02.address: required key missing; add 'address:' under 'hosts.azure-prd-02:'"]),
    ("host with nothing", mutate("  ded-prd-01:\n    address: 10.1.0.5\n    labels: {host: dedicated}", "  ded-prd-01:"),
     ["hosts.yaml:30: hosts.ded-prd-01.address: required key missing"]),
    ("missing registry server", mutate("  server: quay.io\n", ""),
     ["hosts.yaml:15: registry.server: required key missing"]),
    ("missing hosts", BASE.split("hosts:\n")[0], ["hosts.yaml: hosts: required key missing"]),
    # masters and names
    ("zero masters", mutate("role: master", "role: node"),
     ["hosts.yaml:23: hosts: no host has role: master; set role: master on exactly one host"]),
    ("several masters", mutate("    address: 10.1.0.2\n", "    address: 10.1.0.2\n    role: master\n"),
     ["hosts.yaml:29: hosts.azure-prd-02.role: 2 hosts have role: master (azure-prd-01, azure-prd-02)"]),
    ("bad role", mutate("role: master", "role: worker"),
     ["hosts.yaml:26: hosts.azure-prd-01.role: expected one of master, node, got 'worker'"]),
    ("duplicate host name", mutate("  ded-prd-01:", "  azure-prd-02:"),
     ["hosts.yaml:30: hosts: duplicate key 'azure-prd-02' (first at line 27)", "remove or rename one"]),
    ("duplicate key", mutate("  version: v1.0.1\n", "  version: v1.0.1\n  version: v1.0.2\n"),
     ["hosts.yaml:4: kubernetes: duplicate key 'version' (first at line 3)"]),
    ("duplicate address", mutate("address: 10.1.0.5", "address: 10.1.0.2"),
     ["hosts.yaml:31: hosts.ded-prd-01.address: 10.1.0.2 is also the address of azure-prd-02 (line 27)"]),
    ("host name with capitals", mutate("  ded-prd-01:", "  Ded_Prd_01:"),
     ["hosts.yaml:30: hosts: 'Ded_Prd_01' is not a valid host name", HOST_RULE, "use e.g. 'ded-prd-01'"]),
    ("host name leading dash", mutate("  ded-prd-01:", "  -ded:"), ["hosts.yaml:30: hosts: '-ded' is not a valid host name"]),
    ("host name label too long", mutate("  ded-prd-01:", f"  {'a' * 64}.example.com:"),
     ["hosts.yaml:30: hosts:", "is not a valid host name", "at most 63"]),
    ("cluster name", mutate("cluster: production", "cluster: Production"),
     ["hosts.yaml:1: cluster: 'Production' is not a valid cluster name", "use e.g. 'production'"]),
    # labels Kubernetes would reject
    ("label key with a space", mutate("{host: azure, workload", "{host: azure, Bad Key: x, workload"),
     ["hosts.yaml:29: hosts.azure-prd-02.labels: 'Bad Key' is not a valid label key (", "use e.g. 'Bad-Key'"]),
    ("label key bad prefix", mutate("  environment: production", "  Example.com/env: production"),
     ["hosts.yaml:22: labels: 'Example.com/env' is not a valid label key", "use e.g. 'example.com/env'"]),
    ("label key name too long", mutate("  environment: production", f"  {'k' * 64}: production"),
     ["hosts.yaml:22: labels:", "is not a valid label key"]),
    ("label key empty name", mutate("  environment: production", "  example.com/: production"),
     ["hosts.yaml:22: labels: 'example.com/' is not a valid label key"]),
    ("label value with a space", mutate("workload: high-available", "workload: high available"),
     ["hosts.yaml:29: hosts.azure-prd-02.labels.workload: 'high available' is not a valid label value",
      "use e.g. 'high-available'"]),
    ("label value too long", mutate("{host: dedicated}", f"{{host: {'v' * 64}}}"),
     ["hosts.yaml:32: hosts.ded-prd-01.labels.host:", "is not a valid label value"]),
    # values
    ("cidr host bits", mutate("10.100.0.0/16", "10.100.0.1/16"),
     ["hosts.yaml:14: kubernetes.apiserver.service_cluster_ip_range: '10.100.0.1/16' is not a CIDR range",
      "has host bits set", "use 10.100.0.0/16"]),
    ("cidr no prefix", mutate("10.100.0.0/16", "10.100.0.0"), ["hosts.yaml:14:", "use e.g. 10.100.0.0/16"]),
    ("cidr nonsense", mutate("10.100.0.0/16", "10.100.0.0/33"), ["hosts.yaml:14:", "is not a CIDR range"]),
    ("url scheme", mutate("https://example.com/v1.0.1", "ftp://example.com/v1.0.1"),
     ["hosts.yaml:4: kubernetes.release_url: 'ftp://", "is not an http(s) URL with a host"]),
    ("url without host", mutate("https://example.com/v1.0.1/kubernetes.tar.gz", "https:///kubernetes.tar.gz"),
     ["hosts.yaml:4: kubernetes.release_url:", "is not an http(s) URL"]),
    ("etcd url without scheme", mutate("- http://10.1.0.2:2379", "- 10.1.0.2:2379"),
     ["hosts.yaml:8: kubernetes.etcd_servers[1]: '10.1.0.2:2379' is not an http(s) URL"]),
    ("etcd url bad port", mutate("- http://10.1.0.2:2379", "- http://10.1.0.2:99999"),
     ["hosts.yaml:8: kubernetes.etcd_servers[1]:"]),
    ("port out of range", mutate("insecure_port: 8080", "insecure_port: 70000"),
     ["hosts.yaml:13: kubernetes.apiserver.insecure_port: expected a port number from 1 to 65535, got the number 70000"]),
    ("port zero", mutate("  port: 22", "  port: 0"), ["hosts.yaml:20: ssh.port:", "got the number 0"]),
    ("same apiserver ports", mutate("insecure_port: 8080", "insecure_port: 6443"),
     ["hosts.yaml:12: kubernetes.apiserver.secure_port: is the same as insecure_port"]),
    ("sha256 short", mutate("release_sha256: null", "release_sha256: abc123"),
     ["hosts.yaml:5: kubernetes.release_sha256: 'abc123' is not a sha256 digest", "64 lowercase hex"]),
    ("sha256 uppercase", mutate("release_sha256: null", f"release_sha256: {'AB' * 32}"),
     ["hosts.yaml:5: kubernetes.release_sha256:", "is not a sha256 digest"]),
    ("bind_address not an IP", mutate("bind_address: 0.0.0.0", "bind_address: 0.0.0.256"),
     ["hosts.yaml:11: kubernetes.bind_address: '0.0.0.256' is not an IP address"]),
    ("host bind_address a name", mutate("role: master", "role: master\n    bind_address: localhost"),
     ["hosts.yaml:27: hosts.azure-prd-01.bind_address: 'localhost' is not an IP address"]),
    ("address bad IP", mutate("address: 10.1.0.5", "address: 10.1.0.300"),
     ["hosts.yaml:31: hosts.ded-prd-01.address: '10.1.0.300' is not an IP address"]),
    ("address a URL", mutate("address: 10.1.0.5", "address: http://node"),
     ["hosts.yaml:31: hosts.ded-prd-01.address:", "is neither an IP address nor a DNS name"]),
    ("registry server a URL", mutate("server: quay.io", "server: https://quay.io"),
     ["hosts.yaml:16: registry.server: 'https://quay.io' is not a registry host name", "no scheme"]),
    ("version without v", mutate("version: v1.0.1", "version: 1.0.1"),
     ["hosts.yaml:3: kubernetes.version: '1.0.1' is not a Kubernetes release version; write it like v1.0.1"]),
    ("version 1.20", mutate("version: v1.0.1", "version: v1.20.0"),
     ["hosts.yaml:3: kubernetes.version: v1.20.0 is not supported: kubefab supports v1.0.0 up to v1.19.x",
      "insecure serving was removed in 1.20"]),
    ("version 2", mutate("version: v1.0.1", "version: v2.0.0"), ["hosts.yaml:3:", "v2.0.0 is not supported"]),
    ("version 0.x", mutate("version: v1.0.1", "version: v0.21.4"), ["hosts.yaml:3:", "v0.21.4 is not supported"]),
    ("tls a string", mutate("  registration: manual\n", "  registration: manual\n  tls: 'true'\n"),
     ["hosts.yaml:11: kubernetes.tls: expected true or false, got the string 'true'; write it without quotes"]),
    ("tls a word", mutate("  registration: manual\n", "  registration: manual\n  tls: https\n"),
     ["hosts.yaml:11: kubernetes.tls: expected true or false, got the string 'https'"]),
    ("pki_dir empty", mutate("  registration: manual\n", "  registration: manual\n  pki_dir: ''\n"),
     ["hosts.yaml:11: kubernetes.pki_dir: expected a path, got an empty string"]),
    ("pki_dir a number", mutate("  registration: manual\n", "  registration: manual\n  pki_dir: 7\n"),
     ["hosts.yaml:11: kubernetes.pki_dir: expected a string, got the number 7"]),
    ("registration", mutate("registration: manual", "registration: auto"),
     ["hosts.yaml:10: kubernetes.registration: expected one of self, manual, got 'auto'"]),
    ("log level", mutate("  registration: manual\n", "  registration: manual\n  log_level: 11\n"),
     ["hosts.yaml:11: kubernetes.log_level: expected an integer from 0 to 10, got the number 11"]),
    ("backups zero", mutate("  registration: manual\n", "  registration: manual\n  backups: 0\n"),
     ["hosts.yaml:11: kubernetes.backups: expected a number of versions from 1 to 50, got the number 0"]),
    ("backups quoted", mutate("  registration: manual\n", "  registration: manual\n  backups: '3'\n"),
     ["hosts.yaml:11: kubernetes.backups: expected a number of versions from 1 to 50, got the string '3'; "
      "write it without quotes"]),
    ("relative install_dir", mutate("  registration: manual\n", "  registration: manual\n  install_dir: opt/k8s\n"),
     ["hosts.yaml:11: kubernetes.install_dir: 'opt/k8s' is not a valid absolute directory"]),
    ("unit without type", mutate("[weave-network.target, etcd2.service]", "[weave-network.target, etcd2]"),
     ["hosts.yaml:9: kubernetes.requires[1]: 'etcd2' is not a valid systemd unit name", "use e.g. 'etcd2.service'"]),
    ("ssh user with a space", mutate("  user: core", "  user: core user"),
     ["hosts.yaml:19: ssh.user: 'core user' is not a valid user name"]),
    # the registry token
    ("token_env and token_file", mutate("  token_env: KUBEFAB_REGISTRY_TOKEN", "  token_env: T\n  token_file: t"),
     ["hosts.yaml:18: registry.token_file: set exactly one of token_env: VARIABLE or token_file: PATH, not both"]),
    ("no token", mutate("  token_env: KUBEFAB_REGISTRY_TOKEN\n", ""),
     ["hosts.yaml:15: registry: set exactly one of token_env"]),
    ("token_env not a name", mutate("token_env: KUBEFAB_REGISTRY_TOKEN", "token_env: $TOKEN"),
     ["hosts.yaml:17: registry.token_env: '$TOKEN' is not a valid environment variable name"]),
]


@pytest.mark.parametrize("text, expected", [pytest.param(t, e, id=i) for i, t, e in CASES])
def test_bad_inventory(tmp_path, monkeypatch, text, expected):
    message = error(tmp_path, monkeypatch, text)
    for part in expected:
        assert part in message


def test_base_is_valid(tmp_path):
    assert load(write(tmp_path, BASE), ENV).master.name == "azure-prd-01"


@pytest.mark.parametrize("environ, expected", [
    ({}, "hosts.yaml:17: registry.token_env: environment variable KUBEFAB_REGISTRY_TOKEN is not set; "
         "export KUBEFAB_REGISTRY_TOKEN=<registry token>"),
    ({"KUBEFAB_REGISTRY_TOKEN": ""}, "hosts.yaml:17: registry.token_env: environment variable "
                                     "KUBEFAB_REGISTRY_TOKEN is empty"),
], ids=["unset", "empty"])
def test_token_variable(tmp_path, monkeypatch, environ, expected):
    assert expected in error(tmp_path, monkeypatch, BASE, environ)


@pytest.mark.parametrize("content, mode, expected", [
    (None, None, "hosts.yaml:17: registry.token_file: {path} does not exist"),
    ("", 0o600, "hosts.yaml:17: registry.token_file: {path} is empty"),
    ("\n", 0o600, "{path} is empty"),
    (TOKEN, 0o644, "hosts.yaml:17: registry.token_file: {path} is readable or writable by group or others "
                   "(mode 644); run chmod 600 {path}"),
    (TOKEN, 0o620, "(mode 620); run chmod 600 {path}"),
    (TOKEN, 0o606, "chmod 600 {path}"),
], ids=["missing", "empty", "just a newline", "world-readable", "group-writable", "others-writable"])
def test_token_file(tmp_path, monkeypatch, content, mode, expected):
    token = tmp_path / "token"
    if content is not None:
        token.write_text(content)
        token.chmod(mode)
    text = mutate("token_env: KUBEFAB_REGISTRY_TOKEN", "token_file: token")
    assert expected.format(path=token) in error(tmp_path, monkeypatch, text)


def test_token_file_directory(tmp_path, monkeypatch):
    (tmp_path / "token").mkdir()
    text = mutate("token_env: KUBEFAB_REGISTRY_TOKEN", "token_file: token")
    assert "is not a regular file" in error(tmp_path, monkeypatch, text)


def test_token_file_strips_the_trailing_newline(tmp_path):
    token = write(tmp_path, TOKEN + "\n", name="token")
    token.chmod(0o600)
    inv = load(write(tmp_path, mutate("token_env: KUBEFAB_REGISTRY_TOKEN", f"token_file: {token}")), {})
    assert inv.registry.token == TOKEN and inv.registry.token_source == f"file {token}"


def test_missing_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InventoryError, match=r"^nope\.yaml: no such file; .*KUBEFAB_INVENTORY"):
        load("nope.yaml", ENV)


def test_unreadable_file(tmp_path):
    with pytest.raises(InventoryError, match=f"^{tmp_path}: cannot read it: Is a directory$"):
        load(tmp_path, ENV)

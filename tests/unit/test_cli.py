"""The command line as an operator meets it, without hosts: `kubefab --list`, bad input,
and the files `kubefab render` / `kubefab cloud-config` write. Tests that render use a copy
of hosts.yaml in a temporary folder, so the PKI they make (pki/ beside it) stays there.

Most run kubefab's own Program in this process (argv, the environment, the repo as the
current folder; its exit code, stdout and stderr): a process each made this file the
slowest of the pure tests. A few run the entry points as processes: `kubefab --list`, a
deploy dry run, and a bad flag through Fabric's runner (`fab`, with the repo's fabfile)."""
import copy
import io
import os
import re
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
import yaml

from kubefab import cli, report

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
TOKEN = "TOKEN-cli-0123456789abcdef"


def process(program, *args, inventory="hosts.yaml", **env) -> subprocess.CompletedProcess:
    """An entry point (kubefab, fab) as a process, in the repo's folder."""
    environ = {**os.environ, "KUBEFAB_INVENTORY": str(inventory), "KUBEFAB_REGISTRY_TOKEN": TOKEN, **env}
    return subprocess.run([str(BIN / program), *args], cwd=ROOT, env=environ, capture_output=True, text=True,
                          timeout=60)


def program():
    """kubefab's Program as its process starts it: a Program runs once (it keeps what it
    parsed, and invoke's tasks give their flags' help away as they are parsed)."""
    fresh = copy.copy(cli.program)
    fresh.namespace = copy.deepcopy(cli.program.namespace)
    return fresh


@pytest.fixture
def kubefab(monkeypatch):
    """kubefab's Program run in this process, as `kubefab ARGS` would run in the repo's folder."""
    def run(*args, inventory="hosts.yaml", **env) -> subprocess.CompletedProcess:
        monkeypatch.chdir(ROOT)
        for name, value in {"KUBEFAB_INVENTORY": str(inventory), "KUBEFAB_REGISTRY_TOKEN": TOKEN, **env}.items():
            monkeypatch.setenv(name, value)
        out, err, code = io.StringIO(), io.StringIO(), 0
        with redirect_stdout(out), redirect_stderr(err):
            try:
                program().run(["kubefab", *args])
            except SystemExit as e:
                code = e.code if isinstance(e.code, int) else int(e.code is not None)
            finally:
                report._progress["stream"] = None  # --json sends progress to the stderr it saw
        return subprocess.CompletedProcess(["kubefab", *args], code, out.getvalue(), err.getvalue())
    return run


@pytest.fixture
def hosts_yaml(tmp_path) -> Path:
    copy = tmp_path / "cluster" / "hosts.yaml"
    copy.parent.mkdir()
    copy.write_text((ROOT / "hosts.yaml").read_text())
    return copy


def test_list_shows_every_task_with_help():
    """The installed command, as a process."""
    out = process("kubefab", "--list").stdout
    for task in ("deploy", "status", "render", "cloud-config", "unlock", "master.restart",
                 "nodes.register", "lab.up", "lab.down", "lab.status"):
        line = next((l for l in out.splitlines() if l.strip().startswith(task + " ")), "")
        assert len(line.split()) > 1, f"{task} has no help line"


AS_INSTALLED = """
import importlib.metadata, sys
found = importlib.metadata.entry_points
importlib.metadata.entry_points = lambda **kw: [] if kw.get("group") == "kubefab.tasks" else found(**kw)
sys.argv = ["kubefab", *sys.argv[1:]]
from kubefab.cli import program
try:
    program.run()
except SystemExit as e:
    assert not e.code, e.code
print(" ".join(sorted(m for m in sys.modules if m.split(".")[0] in ("paramiko", "fabric", "cryptography", "jinja2")
                  or m.startswith(("kubefab.ops", "kubefab.remote.ssh", "kubefab.inventory", "kubefab.pki")))))
"""


@pytest.mark.parametrize("args", [["--list"], ["--help", "deploy"], ["--help", "etcd.restore"]])
def test_listing_and_help_import_no_ssh_pki_templates_or_operations(args):
    """A task imports what it runs when it runs: the tree and every task's help come from
    the task modules alone (as installed: the lab's tasks, test infrastructure, left out)."""
    r = subprocess.run([sys.executable, "-c", AS_INSTALLED, *args], cwd=ROOT, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[-1] == "", r.stdout.splitlines()[-1]


PLUGGED = """
import sys
sys.argv = ["kubefab", *sys.argv[1:]]
from kubefab.cli import program
try:
    program.run()
except SystemExit as e:
    assert not e.code, e.code
print("lab:", "kubefab_lab" in sys.modules)
"""


@pytest.mark.parametrize("args, lab", [(["--help", "deploy"], False), (["--help", "status"], False),
                                       (["--list"], True), (["--help", "lab.up"], True),
                                       (["--help", "deploy", "lab.up"], True)])
def test_a_plugins_package_is_imported_only_when_its_tasks_may_be_named(args, lab):
    """The lab's tasks (an entry point) cost a deploy's start its package's imports (the
    lab, its machines, SSH) though kubefab's own task is named: loaded only for a command
    line that may name one of the plugin's tasks."""
    from importlib.metadata import entry_points
    if not any(p.name == "lab" for p in entry_points(group="kubefab.tasks")):
        pytest.skip("the lab is not installed beside kubefab")
    r = subprocess.run([sys.executable, "-c", PLUGGED, *args], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[-1] == f"lab: {lab}"


DEPLOY_START = """
import sys
sys.argv = ["kubefab", *sys.argv[1:]]
from kubefab.cli import main
try:
    main()
except SystemExit as e:
    print("exit", e.code)
print("imported:", " ".join(m for m in ("importlib.metadata", "kubefab_lab") if m in sys.modules))
"""


def test_a_deploys_start_looks_up_neither_plugins_nor_its_version(tmp_path):
    """Each word of a deploy's command line is kubefab's own task, a flag or a flag's value:
    no plugin can be named, so none is looked for, and the version is read only for
    --version: importlib.metadata's imports (15 ms) are not paid. Fails before: it was."""
    argv = ["deploy", "--parallel", "500", "--hosts", "azure-prd-02", "--dry-run", "--inventory",
            str(tmp_path / "none.yaml")]
    r = subprocess.run([sys.executable, "-c", DEPLOY_START, *argv], cwd=ROOT, capture_output=True, text=True,
                       timeout=60)
    assert r.stdout.splitlines()[-2:] == ["exit 2", "imported: "], (r.stdout, r.stderr)
    assert "none.yaml" in r.stderr  # refused as ever: the inventory is missing


BEFORE_CONNECTING = ("jinja2", "cryptography.x509", "uuid", "kubefab.rollout", "kubefab_lab")


def test_a_deploy_imports_only_what_it_needs_before_it_connects():
    """Refused after its flags and inventory are read (an unknown --hosts), where it would
    begin its connections: templates, X.509, uuid, the upgrade's batches and the lab's
    tasks wait until after the connections began, or are never needed. Fails before:
    each was imported first."""
    probe = DEPLOY_START.replace('("importlib.metadata", "kubefab_lab")', repr(BEFORE_CONNECTING))
    assert probe != DEPLOY_START
    r = subprocess.run([sys.executable, "-c", probe, "deploy", "--hosts", "nosuch", "--parallel", "500"], cwd=ROOT,
                       capture_output=True, text=True, timeout=60,
                       env={**os.environ, "KUBEFAB_INVENTORY": "hosts.yaml", "KUBEFAB_REGISTRY_TOKEN": TOKEN})
    assert r.stdout.splitlines()[-2:] == ["exit 2", "imported: "], (r.stdout, r.stderr)
    assert "--hosts: nosuch not in" in r.stderr


@pytest.mark.parametrize("argv, strange", [
    (["deploy", "--parallel", "500", "--hosts", "a,b", "--dry-run"], []),
    (["deploy", "--parallel=500", "--ignore-preflight", "port", "status"], []),
    (["deploy", "--dry-run", "lab.up"], ["lab.up"]),  # a bool flag: the next word is a task
    (["deploy", "--no-such-flag", "lab.up"], ["lab.up"]),  # an unknown flag's next word may be a task
    (["-f", "fabric.yaml", "deploy"], ["fabric.yaml"]),  # a core flag: looked for rather than missed
    (["--complete", "--", "kubefab", "dep"], ["kubefab", "dep"]),
    (["nodes.remove", "azure-prd-02"], ["azure-prd-02"]),  # a positional value: looked for
    (["--help", "deploy"], []),
])
def test_the_words_that_may_name_a_plugins_task(argv, strange):
    from kubefab.tasks import strangers
    assert strangers(argv) == strange


def test_version_is_the_installed_packages(kubefab):
    from importlib.metadata import version
    r = kubefab("--version")
    assert (r.returncode, r.stdout) == (0, f"kubefab {version('kubefab')}\n"), r


LOADED = """
import sys
from kubefab.inventory import load
inv = load(sys.argv[1])
print(type(inv.profile).__name__, " ".join(m for m in ("jinja2", "cryptography.x509", "kubefab.certs") if m in sys.modules))
"""


@pytest.mark.parametrize("version, profile", [("v1.0.1", "Legacy"), ("v1.37.1", "Modern")])
def test_loading_an_inventory_imports_neither_templates_nor_x509(tmp_path, version, profile):
    """A deploy begins its connections once the inventory is loaded: Jinja and
    cryptography's X.509 (25 ms of imports) wait for the files' rendering and the PKI's
    reading, which go on while the handshakes do. Fails before: both profiles imported both."""
    text = (ROOT / "hosts.yaml").read_text().replace("version: v1.0.1", f"version: {version}")
    if version != "v1.0.1":  # a modern cluster runs its own etcd (a plain-http one is refused)
        text = re.sub(r"\n  etcd_servers:\n(    - .*\n)+", "\n", text)
    (tmp_path / "hosts.yaml").write_text(text)
    r = subprocess.run([sys.executable, "-c", LOADED, str(tmp_path / "hosts.yaml")], cwd=ROOT, capture_output=True,
                       text=True, timeout=60, env={**os.environ, "KUBEFAB_REGISTRY_TOKEN": TOKEN})
    assert r.returncode == 0, r.stderr
    assert r.stdout.split("\n")[-2] == f"{profile} ", r.stdout


def test_every_flag_has_help(kubefab):
    for task in ("deploy", "status", "render", "cloud-config", "master.restart", "nodes.register", "unlock",
                 "lab.up"):
        out = kubefab("--help", task).stdout
        options = [l for l in out.splitlines() if l.startswith("  -")]
        assert options, task
        for line in options:  # "  -d, --dry-run     help text": the flag, a gap, the help
            assert re.match(r"  -\S.*?\s{2,}\S", line), f"kubefab {task}: no help for {line.strip()}"
        assert not re.search(r"--(parallel|timeout)=STRING", out), f"{task}: a number parsed as text"


def test_bad_inventory_is_one_clear_error_and_no_traceback(tmp_path):
    """A deploy dry run as a process: what the operator sees is one line and exit 2."""
    bad = tmp_path / "hosts.yaml"
    bad.write_text((ROOT / "hosts.yaml").read_text().replace("role: master", "role: boss"))
    r = process("kubefab", "deploy", "--dry-run", inventory=bad)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr + r.stdout
    lines = r.stderr.strip().splitlines()
    assert 1 <= len(lines) <= 2, r.stderr
    assert f"{bad}:" in lines[0] and "hosts.azure-prd-01.role" in lines[0] and "boss" in lines[0]


def test_missing_token_variable_names_it(kubefab, tmp_path):
    """Only a task that writes the token asks for it (render without --with-secrets does not)."""
    r = kubefab("render", "--with-secrets", "--out", str(tmp_path / "out"), KUBEFAB_REGISTRY_TOKEN="")
    assert r.returncode == 2 and "KUBEFAB_REGISTRY_TOKEN" in r.stderr and "Traceback" not in r.stderr


def test_unknown_host_in_hosts_flag(kubefab, hosts_yaml):
    r = kubefab("render", "--host", "azure-prd-09", "--out", "/dev/null", inventory=hosts_yaml)
    assert r.returncode == 2 and "azure-prd-09 not in" in r.stderr
    assert not (hosts_yaml.parent / "pki").exists()  # refused before anything was made


def test_render_writes_every_file_with_placeholders_for_token_and_keys(kubefab, tmp_path, hosts_yaml):
    out = tmp_path / "out"
    r = kubefab("render", "--out", str(out), inventory=hosts_yaml)
    assert r.returncode == 0, r.stderr
    assert "pki: created the cluster CA" in r.stderr and "PRIVATE KEY" not in r.stdout + r.stderr
    files = [p for p in out.rglob("*") if p.is_file()]
    assert len(files) == 15 + 4 * 18  # master: 15 files; manual-mode nodes with tls: 18 each
    cfg = out / "azure-prd-02/home/core/.dockercfg"
    assert TOKEN not in cfg.read_text() and "secret" in cfg.read_text()
    assert not any(TOKEN in p.read_text() or "PRIVATE KEY" in p.read_text() for p in files)
    assert (out / "azure-prd-02/etc/kubernetes/pki/kubelet.key").read_text() == "<secret: kubelet private key>\n"
    assert (out / "azure-prd-02/etc/kubernetes/pki/ca.crt").read_text() == \
        (hosts_yaml.parent / "pki/ca.crt").read_text()
    again = kubefab("render", "--out", str(tmp_path / "again"), inventory=hosts_yaml)
    assert again.returncode == 0 and "pki:" not in again.stderr  # the same PKI, nothing new
    secret = kubefab("render", "--out", str(tmp_path / "s"), "--host", "azure-prd-02", "--with-secrets",
                 inventory=hosts_yaml)
    assert TOKEN in (tmp_path / "s/azure-prd-02/home/core/.dockercfg").read_text(), secret.stderr
    key = tmp_path / "s/azure-prd-02/etc/kubernetes/pki/kubelet.key"
    assert key.read_text() == (hosts_yaml.parent / "pki/kubelet-azure-prd-02.key").read_text()
    for path in (tmp_path / "s/azure-prd-02/home/core/.dockercfg", key):
        assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_render_with_a_broken_pki_is_one_clear_error(kubefab, tmp_path, hosts_yaml):
    assert kubefab("render", "--out", str(tmp_path / "out"), inventory=hosts_yaml).returncode == 0
    (hosts_yaml.parent / "pki/ca.key").unlink()
    for task in ("render", "cloud-config"):
        r = kubefab(task, "--out", str(tmp_path / "out"), inventory=hosts_yaml)
        assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
        assert r.stderr.startswith("error: ") and "ca.key is missing" in r.stderr


def test_cloud_config_is_yaml_per_host(kubefab, tmp_path, hosts_yaml):
    r = kubefab("cloud-config", "--out", str(tmp_path), inventory=hosts_yaml)
    assert r.returncode == 0, r.stderr
    doc = (tmp_path / "azure-prd-01.yml").read_text()
    assert doc.startswith("#cloud-config\n") and TOKEN not in doc and "PRIVATE KEY" not in doc
    data = yaml.safe_load(doc)
    names = {u["name"] for u in data["coreos"]["units"]}
    assert "kubernetes.apiserver.service" in names and "kubernetes.kubelet.service" not in names


BAD_FLAGS = [  # (task and flags, what the one line must name)
    (("deploy", "--timeout", "abc"), "--timeout 'abc'"),
    (("deploy", "--timeout", "0"), "--timeout '0'"),
    (("deploy", "--timeout", "-5"), "--timeout '-5'"),
    (("deploy", "--timeout", "nan"), "--timeout 'nan'"),
    (("deploy", "--parallel", "0"), "--parallel '0'"),
    (("deploy", "--parallel", "-3"), "--parallel '-3'"),
    (("deploy", "--parallel", "1.5"), "--parallel '1.5'"),
    (("deploy", "--parallel", "many"), "--parallel 'many'"),
    (("deploy", "--hosts", ","), "--hosts ','"),
    (("deploy", "--hosts", ""), "--hosts ''"),
    (("deploy", "--hosts", "azure-prd-02,"), "--hosts 'azure-prd-02,'"),
    (("deploy", "--hosts", "nope"), "--hosts: nope not in"),
    (("status", "--parallel", "0"), "--parallel '0'"),
    (("unlock", "--hosts", ""), "--hosts ''"),
    (("master.restart", "--timeout", "x"), "--timeout 'x'"),
    (("nodes.register", "--hosts", ","), "--hosts ','"),
    (("nodes.register", "--label", ""), "--label '': wants key=value"),  # was: environment= on every node
    (("nodes.register", "--label", " "), "--label ' ': wants key=value"),
    (("nodes.register", "--label", "="), "--label '=': '' is not a valid label key"),
    (("nodes.register", "--label", "=prod"), "--label '=prod': '' is not a valid label key"),
    (("nodes.register", "--label", "a=b=c"), "--label 'a=b=c': 'b=c' is not a valid label value"),
    (("nodes.register", "--label", "-bad"), "--label '-bad': '-bad' is not a valid label value"),
    (("nodes.register", "--label", "ok", "--label", ""), "--label ''"),
    (("render", "--host", ""), "--host ''"),
    (("upgrade", "--batch", "0"), "--batch '0': wants a number of nodes above 0"),
    (("upgrade", "--batch", "0%"), "--batch '0%'"),
    (("upgrade", "--batch", "150%"), "--batch '150%': wants a percentage from 1% to 100%"),
    (("upgrade", "--batch", "two"), "--batch 'two'"),
    (("upgrade", "--drain-timeout", "0"), "--drain-timeout '0'"),
    (("upgrade", "--drain-timeout", "soon"), "--drain-timeout 'soon'"),
    (("upgrade", "--hosts", "nope"), "--hosts: nope not in"),
    (("deploy", "--inventory", "no/such/hosts.yaml"), "no/such/hosts.yaml"),
]


@pytest.mark.parametrize("args,names", BAD_FLAGS, ids=[" ".join(a) for a, _ in BAD_FLAGS])
def test_bad_flag_values_are_one_line_and_exit_2(kubefab, args, names, hosts_yaml):
    r = kubefab(*args, inventory=hosts_yaml)
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert "Traceback" not in r.stdout + r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and names in lines[0], r.stderr
    assert not (hosts_yaml.parent / "pki").exists()  # refused before anything was made


def test_fabs_runner_refuses_a_bad_flag_the_same_way(hosts_yaml):
    """Fabric's runner with the repo's fabfile, as a process: the same tree, the same refusal."""
    r = process("fab", "deploy", "--parallel", "0", inventory=hosts_yaml)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip() == "error: --parallel '0': wants a number of hosts above 0", r.stderr


def test_dash_h_is_help_not_hosts(kubefab):
    r = kubefab("deploy", "-h")
    assert r.returncode == 0 and "--hosts" in r.stdout and "Docstring" in r.stdout


def test_inventory_flag_beats_the_environment(kubefab, hosts_yaml, tmp_path):
    r = kubefab("render", "--inventory", str(hosts_yaml), "--out", str(tmp_path / "out"),
            inventory="no/such/file.yaml")
    assert r.returncode == 0, r.stderr
    assert (hosts_yaml.parent / "pki/ca.crt").is_file()


def test_kubeconfig_writes_and_merges_the_admin_context(kubefab, hosts_yaml, tmp_path):
    r = kubefab("kubeconfig", "--out", str(tmp_path / "k"), inventory=hosts_yaml)
    assert r.returncode == 2 and "run kubefab deploy" in r.stderr  # no PKI yet: nothing made
    assert kubefab("render", "--out", str(tmp_path / "r"), inventory=hosts_yaml).returncode == 0
    mine = tmp_path / "home/.kube/config"
    mine.parent.mkdir(parents=True)
    mine.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "Config", "current-context": "other",
                                    "clusters": [{"name": "other", "cluster": {"server": "https://x"}}],
                                    "users": [{"name": "other", "user": {"token": "t"}}],
                                    "contexts": [{"name": "other", "context": {"cluster": "other", "user": "other"}}]}))
    r = kubefab("kubeconfig", "--merge", "--context", "prd", inventory=hosts_yaml, HOME=str(tmp_path / "home"),
            KUBECONFIG="")
    assert r.returncode == 0, r.stderr
    doc = yaml.safe_load(mine.read_text())
    assert doc["current-context"] == "prd"
    assert [c["name"] for c in doc["contexts"]] == ["other", "prd"]
    ours = next(u for u in doc["users"] if u["name"] == "prd")["user"]
    assert "client-key-data" in ours and oct(mine.stat().st_mode & 0o777) == "0o600"
    server = next(c for c in doc["clusters"] if c["name"] == "prd")["cluster"]["server"]
    assert server.startswith("https://") and server.endswith(":6443")


def test_label_flags_follow_kubernetes_rules():
    from kubefab.tasks.nodes import parse_labels
    assert parse_labels(["production", "rack=r1", "spare="]) == {
        "environment": "production", "rack": "r1", "spare": ""}  # key= is an empty value, as kubectl's
    assert parse_labels(None) == {}

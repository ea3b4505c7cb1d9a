"""The command line as an operator meets it, without hosts: `fab --list`, bad input,
and the files `fab render` / `fab cloud-config` write."""
import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
FAB = str(Path(sys.executable).parent / "fab")
TOKEN = "TOKEN-cli-0123456789abcdef"


def fab(*args, inventory="hosts.yaml", **env):
    environ = {**os.environ, "KUBEFAB_INVENTORY": str(inventory), "KUBEFAB_REGISTRY_TOKEN": TOKEN, **env}
    return subprocess.run([FAB, *args], cwd=ROOT, env=environ, capture_output=True, text=True, timeout=60)


def test_list_shows_every_task_with_help():
    out = fab("--list").stdout
    for task in ("deploy", "status", "render", "cloud-config", "unlock", "master.restart",
                 "nodes.register", "lab.up", "lab.down", "lab.status"):
        line = next((l for l in out.splitlines() if l.strip().startswith(task + " ")), "")
        assert len(line.split()) > 1, f"{task} has no help line"


def test_every_flag_has_help():
    for task in ("deploy", "status", "render", "cloud-config", "master.restart", "nodes.register", "lab.up"):
        out = fab("--help", task).stdout
        options = [l for l in out.splitlines() if l.startswith("  -")]
        assert options, task
        for line in options:  # "  -d, --dry-run     help text": the flag, a gap, the help
            assert re.match(r"  -\S.*?\s{2,}\S", line), f"fab {task}: no help for {line.strip()}"
        assert not re.search(r"--(parallel|timeout)=STRING", out), f"{task}: a number parsed as text"


def test_bad_inventory_is_one_clear_error_and_no_traceback(tmp_path):
    bad = tmp_path / "hosts.yaml"
    bad.write_text((ROOT / "hosts.yaml").read_text().replace("role: master", "role: boss"))
    r = fab("deploy", "--dry-run", inventory=bad)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr + r.stdout
    lines = r.stderr.strip().splitlines()
    assert 1 <= len(lines) <= 2, r.stderr
    assert f"{bad}:" in lines[0] and "hosts.azure-prd-01.role" in lines[0] and "boss" in lines[0]


def test_missing_token_variable_names_it():
    r = fab("render", "--out", "/dev/null", KUBEFAB_REGISTRY_TOKEN="")
    assert r.returncode == 2 and "KUBEFAB_REGISTRY_TOKEN" in r.stderr and "Traceback" not in r.stderr


def test_unknown_host_in_hosts_flag():
    r = fab("render", "--host", "azure-prd-09", "--out", "/dev/null")
    assert r.returncode == 2 and "azure-prd-09 not in" in r.stderr


def test_render_writes_every_file_with_a_placeholder_for_the_token(tmp_path):
    r = fab("render", "--out", str(tmp_path))
    assert r.returncode == 0, r.stderr
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(files) == 10 + 4 * 11  # master: 10 files; manual-mode nodes: 11 each
    cfg = tmp_path / "azure-prd-02/home/core/.dockercfg"
    assert TOKEN not in cfg.read_text() and "secret" in cfg.read_text()
    assert not any(TOKEN in p.read_text() for p in files)
    secret = fab("render", "--out", str(tmp_path / "s"), "--host", "azure-prd-02", "--with-secrets")
    assert TOKEN in (tmp_path / "s/azure-prd-02/home/core/.dockercfg").read_text(), secret.stderr
    assert oct((tmp_path / "s/azure-prd-02/home/core/.dockercfg").stat().st_mode & 0o777) == "0o600"


def test_cloud_config_is_yaml_per_host(tmp_path):
    r = fab("cloud-config", "--out", str(tmp_path))
    assert r.returncode == 0, r.stderr
    doc = (tmp_path / "azure-prd-01.yml").read_text()
    assert doc.startswith("#cloud-config\n") and TOKEN not in doc
    data = yaml.safe_load(doc)
    names = {u["name"] for u in data["coreos"]["units"]}
    assert "kubernetes.apiserver.service" in names and "kubernetes.kubelet.service" not in names

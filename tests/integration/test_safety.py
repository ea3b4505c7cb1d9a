"""Safety on real hosts: SSH host keys are verified before anything is written, and
the registry token never leaves the files it belongs in.

Every test gets a lab of its own, with bare hosts, so "nothing was written" means
something and nothing here touches the shared `lab`."""
import re
import secrets
import shutil
import subprocess

import pytest
import yaml

from kubefab import pki, render
from kubefab.inventory import load
from kubefab_lab import Lab
from kubefab_lab.machines import mounts_under

from .conftest import NET, free_port_pair, lab_prerequisites, slotted
from .helpers import ROOT, fab, on_host

pytestmark = pytest.mark.lab

UNKNOWN = "ded-prd-01"  # the host whose key is left out or changed
DOCKERCFGS = ("/home/core/.dockercfg", "/var/lib/kubelet/.dockercfg")
BACKUP = "/var/lib/kubefab/backup"


@pytest.fixture
def own_lab(tmp_path, request):
    """The repo's five hosts, freshly booted on 127.0.0.230-234, in a cgroup of their own
    (at the version a test's `version` parameter names, if any).

    Like conftest's private_lab, but not in its shared cgroup `lab-test`: a Lab's up and
    down kill every host in their cgroup, so two private labs (e.g. test_lab.py's, run
    by someone else) would kill each other's hosts."""
    reason = lab_prerequisites()
    if reason:
        pytest.skip(f"no lab: {reason}")
    lab = Lab(tmp_path / "state", tmp_path / "build", first_address=230, net=NET,
              etcd_port=free_port_pair(), cgroup=slotted("lab-safety"),
              log=lambda message: None)
    try:
        lab.up(ROOT / "hosts.yaml", version=getattr(request, "param", None))
        yield lab
    finally:
        lab.down()
        if not mounts_under(lab.layout.root):  # the hosts' disks hold a release each
            shutil.rmtree(lab.layout.root, ignore_errors=True)


# -- helpers -------------------------------------------------------------------------
def with_known_hosts(lab, name, text):
    """A copy of the lab inventory beside it whose ssh.known_hosts is a new file
    holding `text`; (inventory, known_hosts path)."""
    known = lab.build_dir / f"known_hosts-{name}"
    known.write_text(text)
    data = yaml.safe_load(lab.inventory_path.read_text())
    data["ssh"]["known_hosts"] = known.name
    inventory = lab.build_dir / f"hosts-{name}.yaml"
    inventory.write_text(yaml.safe_dump(data, sort_keys=False))
    return inventory, known


def key_lines(lab):
    """The lab's known_hosts: {host name: its line}."""
    by_address = {line.split()[0]: line for line in lab.known_hosts.read_text().splitlines()}
    return {h.name: by_address[h.address] for h in load(lab.inventory_path).hosts}


def files_on_hosts(lab):
    """Per host, every path in its overlay upper dir: all it has beyond the base."""
    return {h.name: sorted(p.relative_to(lab.upper_dir(h.name)).as_posix()
                           for p in lab.upper_dir(h.name).rglob("*"))
            for h in load(lab.inventory_path).hosts}


def assert_refused_before_any_write(r, before, lab):
    out = r.stdout + r.stderr
    assert r.returncode != 0, out
    assert "Traceback" not in out, out
    after = files_on_hosts(lab)
    assert after[UNKNOWN] == before[UNKNOWN], f"{UNKNOWN}, whose key is bad, was written"
    written = [name for name in before if after[name] != before[name]]
    assert not written, f"written on {written}: the run must stop before any write\n{out}"


def write_token(path, token):
    path.write_text(token + "\n")
    path.chmod(0o600)


def token_inventory(lab, folder, token):
    """The lab inventory copied into `folder` beside a new registry.token (0600)."""
    folder.mkdir()
    data = yaml.safe_load(lab.inventory_path.read_text())
    data["ssh"]["identity"] = str(lab.identity)
    data["ssh"]["known_hosts"] = str(lab.known_hosts)
    data["registry"]["token_file"] = "registry.token"
    write_token(folder / "registry.token", token)
    (folder / "hosts.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    return folder / "hosts.yaml"


def ran(r):
    """A fab run as text to search: its output, and that it succeeded."""
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout + r.stderr


def host_traces(inventory, name):
    """What a host shows of what ran on it: its whole journal (sudo logs each command
    line, sshd each login), every process's command line, and `ps`."""
    journal = on_host(inventory, name, ["journalctl", "--no-pager"]).stdout
    assert "COMMAND=" in journal  # sudo's lines are there: the search is not vacuous
    cmdlines = on_host(inventory, name, ["sh", "-c", 'for f in /proc/[0-9]*/cmdline; do '
                                                     'tr "\\0" " " < "$f"; echo; done']).stdout
    ps = on_host(inventory, name, ["ps", "-eo", "args"]).stdout
    return {"journal": journal, "/proc/*/cmdline": cmdlines, "ps -eo args": ps}


def stat(inventory, name, path):
    return on_host(inventory, name, ["stat", "-c", "%a %U %G", path]).stdout.split()


# -- host keys -----------------------------------------------------------------------
@pytest.mark.parametrize("known", ["no key", "all keys but one"])
def test_an_unknown_host_key_stops_the_run_before_anything_is_written(own_lab, known):
    keys = key_lines(own_lab)
    text = "" if known == "no key" else "".join(f"{keys[n]}\n" for n in keys if n != UNKNOWN)
    inventory, known_hosts = with_known_hosts(own_lab, "partial", text)
    before = files_on_hosts(own_lab)
    r = fab(inventory, "deploy", check=False)
    assert_refused_before_any_write(r, before, own_lab)
    unknown = list(keys) if known == "no key" else [UNKNOWN]
    for host in load(inventory).hosts:
        if host.name in unknown:
            line = next(l for l in r.stdout.splitlines() if l.startswith(f"  {host.name} "))
            assert f"host key of {host.name} ({host.address}) is not in {known_hosts}" in line
            assert f"`ssh-keyscan -p 22 {host.address} | ssh-keygen -lf -`" in line
            assert "--accept-new-host-keys" in line
    assert known_hosts.read_text() == text  # nothing recorded without the flag


@pytest.mark.parametrize("known", ["no key", "all keys but one, no newline at the end"])
def test_accept_new_host_keys_records_them_and_the_deploy_goes_on(own_lab, known):
    keys = key_lines(own_lab)
    text = "" if known == "no key" else "\n".join(keys[n] for n in keys if n != UNKNOWN)
    inventory, known_hosts = with_known_hosts(own_lab, "accept", text)
    fab(inventory, "deploy", "--accept-new-host-keys")
    recorded = known_hosts.read_text()
    assert recorded.endswith("\n"), recorded
    assert sorted(recorded.splitlines()) == sorted(keys.values())  # OpenSSH's format, one a host
    for line in recorded.splitlines():
        assert re.fullmatch(r"127\.0\.\d+\.\d+ ssh-ed25519 AAAA[A-Za-z0-9+/=]+", line), line  # any lab slot
    again = fab(inventory, "deploy")  # the recorded keys verify without the flag
    assert again.stdout.count("no changes: files, units and release already as wanted") == 5


def test_a_changed_host_key_is_refused_even_with_accept_new(own_lab, tmp_path):
    keys = key_lines(own_lab)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "other")],
                   check=True, stdin=subprocess.DEVNULL)
    other = " ".join((tmp_path / "other.pub").read_text().split()[:2])
    address = load(own_lab.inventory_path).host(UNKNOWN).address
    text = "".join(f"{address} {other}\n" if n == UNKNOWN else f"{keys[n]}\n" for n in keys)
    inventory, known_hosts = with_known_hosts(own_lab, "changed", text)
    real = subprocess.run(["ssh-keygen", "-lf", "-"], input=keys[UNKNOWN], text=True,
                          capture_output=True, check=True).stdout.split()[1]  # SHA256:...
    before = files_on_hosts(own_lab)
    r = fab(inventory, "deploy", "--accept-new-host-keys", check=False)
    assert_refused_before_any_write(r, before, own_lab)
    line = next(l for l in r.stdout.splitlines() if l.startswith(f"  {UNKNOWN} "))
    assert f"host key of {UNKNOWN} (core@{address}:22) CHANGED: got ssh-ed25519 {real}" in line
    assert f"`ssh-keygen -R {address} -f {known_hosts}`" in line
    assert known_hosts.read_text() == text  # accept-new replaced nothing


# -- the registry token --------------------------------------------------------------
def token_files(inventory) -> dict[str, list]:
    """Per host, the rendered files that carry the registry token (v1.0: the two
    .dockercfg; modern: the kubelet's config.json and containerd's hosts.toml)."""
    inv = load(inventory)
    keys, _ = pki.load(inv)  # made by the dry run before
    return {h.name: [f for f in render.render_host(inv, h, keys).values()
                     if f.secret and f.secret_note.startswith("registry token")] for h in inv.hosts}


@pytest.mark.parametrize("own_lab", [None, "v1.37.1"], ids=["v1.0.1", "v1.37.1"], indirect=True)
def test_the_registry_token_never_leaks(own_lab, tmp_path):
    first, second = (f"TOKEN-{secrets.token_hex(16)}" for _ in range(2))
    inventory = token_inventory(own_lab, tmp_path / "inventory", first)
    hosts = load(inventory).hosts
    said = {}  # what kubefab printed or wrote locally, by where
    dry = ran(fab(inventory, "deploy", "--dry-run"))
    carriers = token_files(inventory)
    assert all(carriers[h.name] for h in hosts if not h.is_master), carriers  # not vacuous
    if load(inventory).profile.name != "modern":
        assert all({f.path for f in carriers[h.name]} == set(DOCKERCFGS) for h in hosts), carriers
    for h in hosts:
        for f in carriers[h.name]:
            assert f"[{h.name}] secret created: {f.path} (content not shown)" in dry
    said["deploy --dry-run"] = dry
    said["deploy"] = ran(fab(inventory, "deploy"))
    write_token(inventory.parent / "registry.token", second)
    said["deploy, token changed"] = ran(fab(inventory, "deploy"))
    for h in hosts:
        for f in carriers[h.name]:
            assert f"[{h.name}] secret changed: {f.path} (content not shown)" in said["deploy, token changed"]
    said["status"] = ran(fab(inventory, "status"))
    said["status --json"] = ran(fab(inventory, "status", "--json"))
    said["render"] = ran(fab(inventory, "render", "--out", str(tmp_path / "rendered")))
    said["cloud-config"] = ran(fab(inventory, "cloud-config", "--out", str(tmp_path / "cloud")))
    for folder in ("rendered", "cloud"):
        for f in (tmp_path / folder).rglob("*"):
            if f.is_file():
                said[str(f)] = f.read_text()
    for h in hosts:
        for what, text in host_traces(inventory, h.name).items():
            said[f"{h.name}: {what}"] = text

    leaks = [where for where, text in said.items() if first in text or second in text]
    assert not leaks, f"the registry token shows in: {leaks}"

    for h in hosts:  # where it belongs, it is, and private; `fab render` has a placeholder
        paths = [f.path for f in carriers[h.name]]
        for f in carriers[h.name]:
            placeholder = (tmp_path / "rendered" / h.name / f.path.lstrip("/")).read_text()
            assert placeholder.startswith("<secret: registry token from file "), placeholder
            assert stat(inventory, h.name, f.path) == ["600", f.owner, f.group], (h.name, f.path)
            assert second in on_host(inventory, h.name, ["cat", f.path]).stdout, (h.name, f.path)
        if not paths:
            continue
        backup_dir = stat(inventory, h.name, BACKUP)
        for path in paths:  # the copy the token change replaced: the newest backup, root's only
            backup = BACKUP + path + ".1"
            assert first in on_host(inventory, h.name, ["cat", backup]).stdout, (h.name, backup)
            assert stat(inventory, h.name, backup) == ["600", "root", "root"], (h.name, backup)
            assert backup_dir == ["700", "root", "root"], (h.name, backup_dir)

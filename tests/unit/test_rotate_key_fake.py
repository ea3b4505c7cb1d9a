"""kubefab secrets.rotate-key on a fake modern master: the stages in the Kubernetes
docs' order, each one resumable; the local PKI always holds every key a host has; a
foreign key is refused before any change."""
import base64

import pytest

from fakehost import FakeCluster, FakeFile, Unit, recap
from kubefab import identity, pki, render
from kubefab.inventory import load
from kubefab.layout import APISERVER, CLUSTER_FILE
from kubefab.ops.operation import Options
from kubefab.ops.rotate_key import RotateKey
from kubefab.profiles.modern import paths, pki as modern_pki

MASTER = "azure-prd-01"


@pytest.fixture
def modern(inv):
    """hosts.yaml at v1.37.1 (kubefab's etcd), its PKI made, its master as deploy leaves it."""
    text = inv.path.read_text().replace("version: v1.0.1", "version: v1.37.1")
    inv.path.write_text(text)
    inv = load(inv.path)
    keys = pki.ensure(inv)
    cluster = FakeCluster(inv)
    master = cluster[MASTER]
    for f in render.render_host(inv, inv.master, keys).values():
        master.files[f.path] = FakeFile(f.content, f.mode, f.owner, f.group)
    master.files[CLUSTER_FILE] = FakeFile(identity.of(inv, keys).text(), 0o600)
    master.files[f"{inv.kubernetes.bin_dir}/kubectl"] = FakeFile("#!kubectl v1.37.1\n", 0o755)
    master.units[APISERVER] = Unit(enabled=True, active="active")
    cluster.api.secrets = [{"metadata": {"name": "s1", "namespace": "default"}}]
    return inv, cluster


def rotate(inv, cluster, **opts) -> int:
    return RotateKey(inv, Options(**opts), connect=cluster.connect).run()


def local_keys(inv):
    return modern_pki.encryption_keys(pki.pki_dir(inv) / modern_pki.ENCRYPTION)


def on_master(cluster) -> tuple[str, str]:
    """The key names in the master's encryption config and in the cluster's record."""
    config = cluster[MASTER].files[paths.ENCRYPTION_CONFIG].content
    names = [line.split(": ")[1] for line in config.splitlines() if line.strip().startswith("- name:")]
    record = identity.parse(cluster[MASTER].files[CLUSTER_FILE].content)
    return names, [name for name, _ in record.keys]


def test_a_rotation_adds_makes_first_rewrites_and_drops_the_old_key(modern, capsys):
    inv, cluster = modern
    (old,) = local_keys(inv)
    assert rotate(inv, cluster, dry_run=True) == 0
    assert local_keys(inv) == (old,) and on_master(cluster) == (["key1"], ["key1"])  # a dry run writes nothing
    assert rotate(inv, cluster) == 0
    out = capsys.readouterr().out
    assert recap(out)[MASTER][0] == "changed" and "rewrote 1 Secrets with the new key" in out
    assert [name for name, _ in local_keys(inv)] == ["key2"] and local_keys(inv)[0][1] != old[1]
    assert on_master(cluster) == (["key2"], ["key2"])
    assert cluster.api.rewritten == 1
    assert cluster[MASTER].unit(APISERVER).starts == 3  # added, made first, old dropped
    assert "nothing to do" not in out


def test_a_rotation_stopped_after_the_new_key_was_kept_finishes(modern, capsys):
    """The local PKI has [key1, key2], the master still key1 alone: the next run writes it,
    then goes on; nothing is lost whichever step a run stops at."""
    inv, cluster = modern
    (old,) = local_keys(inv)
    modern_pki.write_encryption_keys(pki.pki_dir(inv), [old, ("key2", base64.b64encode(b"2" * 32).decode())])
    assert rotate(inv, cluster, dry_run=True) == 0
    assert "would: the master's encryption config as pki/ holds it" in capsys.readouterr().out
    assert rotate(inv, cluster) == 0
    assert on_master(cluster) == (["key2"], ["key2"]) and [n for n, _ in local_keys(inv)] == ["key2"]


def test_a_foreign_key_is_refused_before_any_change(modern, capsys):
    inv, cluster = modern
    modern_pki.write_encryption_keys(pki.pki_dir(inv), [("key1", "A" * 43 + "=")])
    before = {p: f.content for p, f in cluster[MASTER].files.items()}
    assert rotate(inv, cluster) == 1
    out = capsys.readouterr().out
    assert "with another key every Secret would be unreadable" in out
    assert {p: f.content for p, f in cluster[MASTER].files.items()} == before

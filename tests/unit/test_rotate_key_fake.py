"""kubefab secrets.rotate-key on a fake modern master: the stages in the Kubernetes
docs' order, each one resumable; the local PKI always holds every key a host has; a
foreign key is refused before any change; an older cluster's read-only aescbc key stays
until every Secret was rewritten, then goes with the old secretbox key."""
import base64

import pytest

from fakehost import FakeCluster, FakeFile, Unit, recap
from kubefab import identity, pki, render
from kubefab.inventory import load
from kubefab.layout import APISERVER, CLUSTER_FILE
from kubefab.ops.operation import Options
from kubefab.ops.rotate_key import RotateKey
from kubefab.profiles.modern import atrest, paths

MASTER = "azure-prd-01"
PLAIN_ETCD = "version: v1.37.1\n  etcd_insecure: true"  # hosts.yaml's etcd servers are plain http


def deployed_master(inv, keys) -> FakeCluster:
    """A fake cluster whose master is as deploy leaves it: its files, record, kubectl, a
    running apiserver holding one Secret."""
    cluster = FakeCluster(inv)
    master = cluster[MASTER]
    for f in render.render_host(inv, inv.master, keys).values():
        master.files[f.path] = FakeFile(f.content, f.mode, f.owner, f.group)
    master.files[CLUSTER_FILE] = FakeFile(identity.of(inv, keys).text(), 0o600)
    master.files[f"{inv.kubernetes.bin_dir}/kubectl"] = FakeFile("#!kubectl v1.37.1\n", 0o755)
    master.units[APISERVER] = Unit(enabled=True, active="active")
    cluster.api.secrets = [{"metadata": {"name": "s1", "namespace": "default"}}]
    return cluster


@pytest.fixture
def modern(inv):
    """hosts.yaml at v1.37.1 (its plain-http etcd accepted), its PKI made, its master as
    deploy leaves it."""
    text = inv.path.read_text().replace("version: v1.0.1", PLAIN_ETCD)
    inv.path.write_text(text)
    inv = load(inv.path)
    keys = pki.ensure(inv)
    return inv, deployed_master(inv, keys)


def rotate(inv, cluster, **opts) -> int:
    return RotateKey(inv, Options(**opts), connect=cluster.connect).run()


def local_keys(inv):
    return atrest.read_keys(pki.pki_dir(inv) / atrest.SECRETBOX, atrest.FIRST)


def on_master(cluster) -> tuple[list[str], list[str]]:
    """The key names in the master's encryption config (every provider's, in order) and
    in the cluster's record."""
    config = cluster[MASTER].files[paths.ENCRYPTION_CONFIG].content
    names = [line.split(": ")[1] for line in config.splitlines() if line.strip().startswith("- name:")]
    record = identity.parse(cluster[MASTER].files[CLUSTER_FILE].content)
    return names, [name for name, _ in record.keys]


def test_a_rotation_adds_makes_first_rewrites_and_drops_the_old_key(modern, capsys):
    inv, cluster = modern
    (old,) = local_keys(inv)
    assert rotate(inv, cluster, dry_run=True) == 0
    assert local_keys(inv) == (old,) and on_master(cluster) == (["kubefab-1"], ["secretbox/kubefab-1"])  # a dry run writes nothing
    assert rotate(inv, cluster) == 0
    out = capsys.readouterr().out
    assert recap(out)[MASTER][0] == "changed" and "rewrote 1 Secrets with the new key" in out
    assert [name for name, _ in local_keys(inv)] == ["kubefab-2"] and local_keys(inv)[0][1] != old[1]
    assert on_master(cluster) == (["kubefab-2"], ["secretbox/kubefab-2"])
    assert cluster.api.rewritten == 1
    assert cluster[MASTER].unit(APISERVER).starts == 3  # added, made first, old dropped
    assert "nothing to do" not in out


def test_a_rotation_stopped_after_the_new_key_was_kept_finishes(modern, capsys):
    """The local PKI has [kubefab-1, kubefab-2], the master still kubefab-1 alone: the next run writes it,
    then goes on; nothing is lost whichever step a run stops at."""
    inv, cluster = modern
    (old,) = local_keys(inv)
    atrest.write_keys(pki.pki_dir(inv), [old, ("kubefab-2", base64.b64encode(b"2" * 32).decode())])
    assert rotate(inv, cluster, dry_run=True) == 0
    assert "would: the master's encryption config as pki/ holds it" in capsys.readouterr().out
    assert rotate(inv, cluster) == 0
    assert on_master(cluster) == (["kubefab-2"], ["secretbox/kubefab-2"]) and \
        [n for n, _ in local_keys(inv)] == ["kubefab-2"]


def test_a_foreign_key_is_refused_before_any_change(modern, capsys):
    inv, cluster = modern
    atrest.write_keys(pki.pki_dir(inv), [("kubefab-1", "A" * 43 + "=")])
    before = {p: f.content for p, f in cluster[MASTER].files.items()}
    assert rotate(inv, cluster) == 1
    out = capsys.readouterr().out
    assert "with another key every Secret would be unreadable" in out
    assert {p: f.content for p, f in cluster[MASTER].files.items()} == before


AESCBC = base64.b64encode(b"o" * 32).decode()


@pytest.fixture
def older(inv):
    """hosts.yaml at v1.37.1 whose pki/ still has the aescbc key kubefab used before
    secretbox (pki/encryption.key): its master as deploy leaves it, both providers."""
    inv.path.write_text(inv.path.read_text().replace("version: v1.0.1", PLAIN_ETCD))
    inv = load(inv.path)
    folder = pki.pki_dir(inv)
    folder.mkdir(mode=0o700, exist_ok=True)
    (folder / atrest.ENCRYPTION).write_text(AESCBC + "\n")
    keys = pki.ensure(inv)
    assert keys.encryption_key == AESCBC
    return inv, deployed_master(inv, keys)


def test_an_older_clusters_aescbc_key_reads_until_the_rotation_has_rewritten_every_secret(older, capsys):
    """Both providers on the master and in the record (secretbox first: it encrypts);
    the rotation keeps aescbc through the rewrite, then drops it with the old key,
    here and on the master."""
    inv, cluster = older
    assert on_master(cluster) == (["kubefab-1", "key1"], ["secretbox/kubefab-1", "aescbc/key1"])
    config = cluster[MASTER].files[paths.ENCRYPTION_CONFIG].content
    assert config.index("- secretbox:") < config.index("- aescbc:") < config.index("- identity:")
    assert rotate(inv, cluster, dry_run=True) == 0
    assert "would: the old key and the older aescbc key dropped" in capsys.readouterr().out
    assert (pki.pki_dir(inv) / atrest.ENCRYPTION).exists()
    assert rotate(inv, cluster) == 0
    out = capsys.readouterr().out
    assert out.index("rewrote 1 Secrets with the new key") < out.index("encryption.key (the older aescbc key) "
                                                                       "removed"), out
    assert not (pki.pki_dir(inv) / atrest.ENCRYPTION).exists()
    assert on_master(cluster) == (["kubefab-2"], ["secretbox/kubefab-2"])
    assert "aescbc" not in cluster[MASTER].files[paths.ENCRYPTION_CONFIG].content.split("apiVersion")[1]


def test_a_rotation_stopped_before_the_rewrite_keeps_the_aescbc_key(older, capsys):
    """A rewrite that fails (a conflicting write) leaves the aescbc key here and on the
    master: Secrets it wrote stay readable; the next run finishes."""
    inv, cluster = older
    cluster.api.replace_conflicts = True
    assert rotate(inv, cluster) == 1
    assert (pki.pki_dir(inv) / atrest.ENCRYPTION).read_text() == AESCBC + "\n"
    assert on_master(cluster)[0] == ["kubefab-2", "kubefab-1", "key1"]
    cluster.api.replace_conflicts = False
    assert rotate(inv, cluster) == 0
    assert on_master(cluster) == (["kubefab-2"], ["secretbox/kubefab-2"])
    assert not (pki.pki_dir(inv) / atrest.ENCRYPTION).exists()


def test_an_aescbc_key_removed_here_by_hand_is_dropped_only_after_every_secret_is_rewritten(older, capsys):
    """pki/encryption.key deleted by hand while Secrets may still be aescbc's: deploy
    would refuse (a rotation under way); rotate-key rewrites every Secret with secretbox
    (the master still reads aescbc) before its sync drops the key there.
    Failed before the save stage: the sync dropped it, no Secret rewritten."""
    inv, cluster = older
    (pki.pki_dir(inv) / atrest.ENCRYPTION).unlink()
    assert rotate(inv, cluster, dry_run=True) == 0
    out = capsys.readouterr().out
    assert "would: every Secret rewritten with secretbox first" in out, out
    assert rotate(inv, cluster) == 0
    out = capsys.readouterr().out
    assert cluster.api.rewritten == 1 and "rewrote 1 Secrets with secretbox" in out, out
    assert on_master(cluster) == (["kubefab-1"], ["secretbox/kubefab-1"])

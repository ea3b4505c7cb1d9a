"""The cluster's identity (kubefab.identity) and the key rotation's stages
(kubefab.keyrotation), as tables: a record read back as written; each difference from the
record one line naming the setting or fingerprint, both sides and the way; what a
rotation still has to do from each state it can stop in."""
from dataclasses import replace

import pytest

from kubefab import identity, keyrotation
from kubefab.identity import Identity

pytestmark = pytest.mark.pure

A, B, C = "sha256:" + "a" * 64, "sha256:" + "b" * 64, "sha256:" + "c" * 64
RECORD = Identity({"ca": A, "etcd-ca": B, "front-proxy-ca": C}, (("secretbox/kubefab-1", C),),
                  {"service-range": "10.32.0.0/24", "pod-range": "10.200.0.0/16", "cluster-domain": "cluster.local",
                   "etcd": "none (kubefab's etcd on the master)"},
                  ("m1", "10.1.0.1"), {"m1": "master", "n1": "node", "n2": "node"})


def test_the_record_reads_back_as_written_and_holds_no_key():
    text = RECORD.text()
    assert identity.parse(text) == RECORD
    assert text.startswith("# kubefab: this cluster's identity")
    keys = [line.split("\t") for line in text.splitlines() if line.startswith("encryption-key")]
    assert keys and all(len(k) == 3 and k[2].startswith("sha256:") for k in keys)  # fingerprints, never a key
    assert identity.parse(None) is None


def differs(**changes) -> list[str]:
    return identity.differences(RECORD, replace(RECORD, **changes), "hosts.yaml", "pki")


CASES = {
    "the same": ({}, []),
    "a new host, and one no longer in hosts.yaml": (
        dict(roles={"m1": "master", "n1": "node", "n3": "node"}), []),
    "no pki here": (dict(fingerprints={}, keys=()), [
        "pki/ca.crt is missing, the cluster CA of the running cluster is sha256:aaaaaaaaaaaaaaaa: this is not "
        "the PKI that made the cluster, and kubefab never replaces a running cluster's CA; copy the cluster's pki "
        "folder here (or `kubefab pki.import`); a new CA is a new cluster",
        "pki/etcd-ca.crt is missing, etcd's CA of the running cluster is sha256:bbbbbbbbbbbbbbbb",
        "pki/front-proxy-ca.crt is missing, the front proxy's CA of the running cluster is sha256:cccccccccccccccc",
        "pki/secretbox.key holds none, the cluster encrypts its Secrets with secretbox/kubefab-1 sha256:cccccccccccccccc: with "
        "another key every Secret would be unreadable; copy the cluster's pki folder here (or `kubefab "
        "pki.import`); to change the key: `kubefab secrets.rotate-key`"]),
    "another cluster's CA": (dict(fingerprints={"ca": C, "etcd-ca": B, "front-proxy-ca": C}), [
        "pki/ca.crt is sha256:cccccccccccccccc, the cluster CA of the running cluster is sha256:aaaaaaaaaaaaaaaa"]),
    "a rotation under way": (dict(keys=(("secretbox/kubefab-1", C), ("secretbox/kubefab-2", A))), [
        "pki/secretbox.key holds secretbox/kubefab-1 sha256:cccccccccccccccc, secretbox/kubefab-2 "
        "sha256:aaaaaaaaaaaaaaaa, the cluster's apiserver secretbox/kubefab-1 sha256:cccccccccccccccc: a key rotation "
        "is under way; finish it with `kubefab secrets.rotate-key`"]),
    "an older cluster's aescbc key, missing here": (dict(keys=(("secretbox/kubefab-1", C), ("aescbc/key1", B))), [
        "pki/secretbox.key and pki/encryption.key hold secretbox/kubefab-1 sha256:cccccccccccccccc, aescbc/key1 "
        "sha256:bbbbbbbbbbbbbbbb, the cluster's apiserver secretbox/kubefab-1 sha256:cccccccccccccccc: a key "
        "rotation is under way"]),
    "another front proxy CA": (dict(fingerprints={"ca": A, "etcd-ca": B, "front-proxy-ca": A}), [
        "pki/front-proxy-ca.crt is sha256:aaaaaaaaaaaaaaaa, the front proxy's CA of the running cluster is "
        "sha256:cccccccccccccccc"]),
    "the service range": (dict(settings={**RECORD.settings, "service-range": "10.33.0.0/24"}), [
        "kubernetes.apiserver.service_cluster_ip_range is 10.33.0.0/24 in hosts.yaml, the cluster was made with "
        "10.32.0.0/24: it cannot change on a running cluster (Services keep their addresses and the apiserver's "
        "certificate names the first one); set it back, or build a new cluster for it"]),
    "an external etcd": (dict(settings={**RECORD.settings, "etcd": "set (an external etcd)"}), [
        "kubernetes.etcd_servers is set (an external etcd) in hosts.yaml, the cluster was made with none"]),
    "an external etcd (no etcd CA of ours): the setting's line alone": (
        dict(fingerprints={"ca": A, "front-proxy-ca": C}, settings={**RECORD.settings, "etcd": "set (an external etcd)"}),
        ["kubernetes.etcd_servers is set (an external etcd) in hosts.yaml, the cluster was made with none"]),
    "a typo in the master's address": (dict(master=("m1", "10.1.0.50")), [
        "hosts.m1.address is 10.1.0.50 in hosts.yaml, the cluster's master answers at 10.1.0.1: the master's name "
        "and address cannot change"]),
    "two hosts swap roles": (dict(master=("n1", "10.1.0.2"), roles={"m1": "node", "n1": "master", "n2": "node"}), [
        "the master is n1 in hosts.yaml, the cluster's master is m1 (10.1.0.1)",
        "hosts.m1.role is node in hosts.yaml, the cluster has m1 as its master: a host changes role only by leaving "
        "the cluster (kubefab nodes.remove m1) and joining again (kubefab deploy --hosts m1); the master cannot "
        "change",
        "hosts.n1.role is master in hosts.yaml, the cluster has n1 as its node"]),
}


@pytest.mark.parametrize("changes, said", CASES.values(), ids=CASES.keys())
def test_each_difference_is_one_line_naming_both_sides_and_the_way(changes, said):
    lines = differs(**changes)
    assert len(lines) == len(said)
    for line, start in zip(lines, said):
        assert line.startswith(start) and "\n" not in line, line


K1, K2 = ("kubefab-1", "A"), ("kubefab-2", "B")  # secretbox's keys (kubefab.profiles.modern.atrest)
STAGES = {  # local keys, the master has them, the record names other keys, the master's aescbc key is
    # no longer here -> what is left
    "a rotation starts": ((K1,), True, False, False, ["add", "first", "rewrite", "drop"]),
    "stopped after the new key was kept, before the master had it": (
        (K1, K2), False, True, False, ["sync", "first", "rewrite", "drop"]),
    "added everywhere": ((K1, K2), True, False, False, ["first", "rewrite", "drop"]),
    "first everywhere: Secrets and the old key left": ((K2, K1), True, False, False, ["rewrite", "drop"]),
    "dropped here, not yet on the master": ((K2,), False, True, False, ["sync"]),
    "dropped here with the aescbc key, not yet on the master": ((K2,), False, True, True, ["save", "sync"]),
    "the aescbc key removed here by hand": ((K1,), False, True, True, ["save", "sync"]),
}


@pytest.mark.parametrize("keys, on_master, resuming, aescbc_leaves, todo", STAGES.values(), ids=STAGES.keys())
def test_a_rotation_resumes_where_it_stopped(keys, on_master, resuming, aescbc_leaves, todo):
    assert keyrotation.stages(keys, on_master, resuming, aescbc_leaves) == todo


def test_a_new_key_gets_a_name_no_key_has():
    assert keyrotation.next_name((("kubefab-1", "A"),)) == "kubefab-2"
    assert keyrotation.next_name((("kubefab-7", "A"), ("kubefab-2", "B"))) == "kubefab-8"
    assert keyrotation.related([A, B], [B]) and not keyrotation.related([A], [C])

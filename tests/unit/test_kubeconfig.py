"""The operator's kubeconfig: renamed to a context of their choosing, merged without
touching what else is there."""
from kubefab import kubeconfig

ADMIN = {"apiVersion": "v1", "kind": "Config", "current-context": "kubefab-admin@c",
         "clusters": [{"name": "c", "cluster": {"server": "https://10.0.0.1:6443", "certificate-authority-data": "CA"}}],
         "contexts": [{"name": "kubefab-admin@c", "context": {"cluster": "c", "user": "kubefab-admin"}}],
         "users": [{"name": "kubefab-admin", "user": {"client-certificate-data": "C", "client-key-data": "K"}}]}


def test_named_renames_cluster_user_and_context():
    doc = kubeconfig.named(ADMIN, "prd")
    assert doc["current-context"] == "prd"
    assert doc["contexts"] == [{"name": "prd", "context": {"cluster": "prd", "user": "prd"}}]
    assert doc["clusters"][0] == {"name": "prd", "cluster": ADMIN["clusters"][0]["cluster"]}
    assert doc["users"][0]["user"]["client-key-data"] == "K"


def test_merge_into_nothing_is_ours():
    ours = kubeconfig.named(ADMIN, "prd")
    assert kubeconfig.merge(None, ours) == ours


def test_merge_replaces_same_names_and_keeps_the_rest():
    other = {"apiVersion": "v1", "kind": "Config", "current-context": "dev", "preferences": {"colors": True},
             "clusters": [{"name": "dev", "cluster": {"server": "https://dev"}},
                          {"name": "prd", "cluster": {"server": "https://old"}}],
             "users": [{"name": "dev", "user": {"token": "t"}}],
             "contexts": [{"name": "dev", "context": {"cluster": "dev", "user": "dev"}}]}
    merged = kubeconfig.merge(other, kubeconfig.named(ADMIN, "prd"))
    assert merged["current-context"] == "prd" and merged["preferences"] == {"colors": True}
    assert [c["name"] for c in merged["clusters"]] == ["dev", "prd"]
    assert next(c for c in merged["clusters"] if c["name"] == "prd")["cluster"]["server"] == "https://10.0.0.1:6443"
    assert other["clusters"][1]["cluster"]["server"] == "https://old"  # the input is not changed

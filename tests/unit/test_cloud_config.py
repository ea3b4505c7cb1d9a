"""cloud_config: the host's files as a #cloud-config document laid out like the
original, with byte-for-byte the contents render_host gives."""
from __future__ import annotations

import pytest
import yaml

from kubefab import render
from kubefab.model import SELF
from kubefab import layout

try:
    from test_render import FAKE_PKI, FAKE_TOKEN, seed_inventory
except ImportError:  # tests/ imported as a package
    from tests.unit.test_render import FAKE_PKI, FAKE_TOKEN, seed_inventory


@pytest.mark.parametrize("tls", [False, True], ids=["plain", "tls"])
@pytest.mark.parametrize("name, registration", [("azure-prd-01", "manual"), ("azure-prd-02", "manual"),
                                                ("ded-prd-01", SELF)])
def test_same_contents_as_render_host(name, registration, tls):
    inv = seed_inventory(registration=registration, tls=tls)
    host = inv.host(name)
    files = render.render_host(inv, host, FAKE_PKI)
    text = render.cloud_config(inv, host, FAKE_PKI)
    assert text.startswith("#cloud-config\n")
    doc = yaml.safe_load(text)
    assert set(doc) == {"write_files", "coreos"}

    written = {w["path"]: w for w in doc["write_files"]}
    units = doc["coreos"]["units"]
    plain = {p: f for p, f in files.items() if not p.startswith(layout.UNIT_DIR + "/")}
    assert set(written) == set(plain)
    for path, f in plain.items():
        w = written[path]
        assert list(w) == ["path", "permissions", "owner", "content"]
        assert w["content"] == f.content
        assert w["permissions"] == f"{f.mode:04o}" and isinstance(w["permissions"], str)
        assert w["owner"] == f"{f.owner}:{f.group}"

    assert [u["name"] for u in units] == [inv.profile.target(host), *inv.profile.unit_order(host)]
    for u in units:
        assert u["content"] == files[f"{layout.UNIT_DIR}/{u['name']}"].content
        assert u["enable"] is True
        assert u.get("command") == ("start" if u["name"] == inv.profile.target(host) else None)


def test_reads_like_the_original():
    inv = seed_inventory()
    text = render.cloud_config(inv, inv.host("azure-prd-02"))
    assert "    content: |\n      [Unit]\n      Description=Kubernetes Cluster Node\n" in text
    assert "  permissions: '0755'\n" in text
    assert '"' not in text.split("content:", 1)[0]  # no quoted scalars before the first block


def test_secrets_only_when_the_caller_asks():
    inv = seed_inventory()
    host = inv.host("azure-prd-01")
    assert FAKE_TOKEN in render.cloud_config(inv, host)
    redacted = render.cloud_config(inv, host, redact=True)
    assert FAKE_TOKEN not in redacted
    doc = yaml.safe_load(redacted)
    cfg = {w["path"]: w for w in doc["write_files"]}["/home/core/.dockercfg"]
    assert cfg["content"] == "<secret: registry token from environment variable KUBEFAB_REGISTRY_TOKEN>\n"
    assert (cfg["permissions"], cfg["owner"]) == ("0600", "core:core")


def test_awkward_token_survives_yaml():
    token = 'x"y\\z: #not-a-comment \'q\''
    inv = seed_inventory(token=token)
    host = inv.host("azure-prd-03")
    doc = yaml.safe_load(render.cloud_config(inv, host))
    cfg = {w["path"]: w for w in doc["write_files"]}["/var/lib/kubelet/.dockercfg"]
    assert cfg["content"] == render.render_host(inv, host)["/var/lib/kubelet/.dockercfg"].content

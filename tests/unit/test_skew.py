"""The upgrade's version-skew rules, one table: running versions in, None or the one
line that refuses the upgrade (naming the path to take) out."""
import pytest

from kubefab import skew

CASES = {
    # running, wanted, kubelets, containerd -> None or text the refusal holds
    "next minor": ("v1.18.1", "v1.19.2", {"n1": "v1.18.1"}, {}, None),
    "legacy patch": ("v1.0.1", "v1.0.7", {"n1": "v1.0.1"}, {}, None),
    "modern patch": ("v1.37.1", "v1.37.2", {"n1": "v1.37.1"}, {"n1": "2.3.4"}, None),
    "same release (a resume)": ("v1.19.2", "v1.19.2", {"n1": "v1.18.1", "n2": "v1.19.2"}, {}, None),
    "patch downgrade": ("v1.19.3", "v1.19.2", {}, {}, None),
    "modern next minor": ("v1.35.0", "v1.36.4", {"n1": "v1.35.0"}, {"n1": "2.3.4"}, None),
    "skips a minor": ("v1.0.1", "v1.2.0", {}, {}, "v1.0.1 -> v1.2.0 skips v1.1; upgrade to v1.1.x first"),
    "skips two": ("v1.16.0", "v1.19.0", {}, {}, "skips v1.17, v1.18; upgrade to v1.17.x first"),
    "modern skips a minor": ("v1.36.4", "v1.38.0", {"n1": "v1.36.4"}, {"n1": "2.3.4"},
                             "v1.36.4 -> v1.38.0 skips v1.37; upgrade to v1.37.x first"),
    "modern minor downgrade": ("v1.37.1", "v1.36.4", {}, {}, "downgrades a minor"),
    "modern patch downgrade": ("v1.37.2", "v1.37.1", {"n1": "v1.37.2"}, {"n1": "2.3.4"}, None),
    "modern kubelet newer": ("v1.36.4", "v1.36.5", {"n1": "v1.37.1"}, {}, "newer than the apiserver"),
    "minor downgrade": ("v1.19.2", "v1.18.5", {}, {}, "downgrades a minor"),
    "kubelet newer": ("v1.18.1", "v1.18.2", {"n1": "v1.19.0"}, {},
                      "node n1 runs kubelet v1.19.0, newer than the apiserver would be (v1.18.2)"),
    "kubelet far behind": ("v1.18.1", "v1.19.0", {"n1": "v1.15.0"}, {}, "more than 3 minors older"),
    "v1.0 to modern": ("v1.19.2", "v1.35.0", {}, {}, "crosses from kubefab's v1.0 profile to the modern one"),
    "modern to v1.0": ("v1.35.0", "v1.19.2", {}, {}, "crosses from kubefab's modern profile to the v1.0 one"),
    "containerd gate": ("v1.35.2", "v1.36.0", {"n1": "v1.35.2"}, {"n1": "1.7.28"},
                        "node n1 runs containerd 1.7.28; kubelet v1.36 needs containerd 2.x: upgrade "
                        "containerd first at v1.35 (kubernetes.containerd_version: 2.3.4, fab upgrade), "
                        "then v1.36.0"),
    "containerd 1.x below the gate": ("v1.35.0", "v1.35.2", {}, {"n1": "1.7.28"}, None),
    "unsupported target": ("v1.19.2", "v1.20.0", {}, {}, "v1.20.0 is not supported"),
    "nothing installed": ("", "v1.0.1", {}, {}, "run fab deploy first"),
}


@pytest.mark.parametrize("name", CASES)
def test_refusal(name):
    running, wanted, kubelets, containerd, expected = CASES[name]
    got = skew.refusal(running, wanted, kubelets, containerd)
    if expected is None:
        assert got is None
    else:
        assert got is not None and expected in got, got
        assert "\n" not in got


def test_stamps():
    assert skew.stamp_version("v1.0.1 https://x/kubernetes.tar.gz sha256=unverified") == "v1.0.1"
    assert skew.stamp_version(None) is None
    assert skew.stamp_containerd("v1.35.0 etcd=3.6.14 containerd=1.7.28 runc=1.4.3") == "1.7.28"
    assert skew.stamp_containerd("v1.0.1 url") is None

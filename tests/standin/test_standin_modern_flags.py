"""Today's flags (1.35-1.38): the tables derived from k8s-flags-1.37.tsv, and the
built programs refusing a flag as the real ones do (exit 1, their own words)."""
from __future__ import annotations

import subprocess

import pytest

from kubefab_lab.standin import flags
from kubefab_lab.standin.flags import FlagError, parse

MODERN = ["v1.35.9", "v1.36.4", "v1.37.1", "v1.38.0"]
V137 = (1, 37, 1)

# The unit lines MODERN.md section 2 says to render: each must parse as it is.
UNIT_LINES = {
    "kube-apiserver": ["--allow-privileged=true", "--authorization-mode=Node,RBAC", "--bind-address=127.0.0.1",
                       "--secure-port=6443", "--client-ca-file=/k/ca.crt", "--event-ttl=1h",
                       "--enable-admission-plugins=NamespaceLifecycle,NodeRestriction,LimitRanger",
                       "--etcd-servers=https://127.0.0.1:2379", "--etcd-cafile=a", "--etcd-certfile=b",
                       "--etcd-keyfile=c", "--encryption-provider-config=/k/e.yaml", "--audit-log-path=/l",
                       "--audit-log-maxage=30", "--audit-log-maxbackup=3", "--audit-log-maxsize=100",
                       "--kubelet-certificate-authority=a", "--kubelet-client-certificate=b",
                       "--kubelet-client-key=c", "--service-account-issuer=https://s:6443",
                       "--service-account-key-file=a", "--service-account-signing-key-file=b",
                       "--service-cluster-ip-range=10.32.0.0/24", "--service-node-port-range=30000-32767",
                       "--tls-cert-file=a", "--tls-private-key-file=b", "--v=2"],
    "kube-controller-manager": ["--bind-address=127.0.0.1", "--cluster-cidr=10.200.0.0/16",
                                "--cluster-name=kubernetes", "--cluster-signing-cert-file=a",
                                "--cluster-signing-key-file=b", "--kubeconfig=k", "--root-ca-file=a",
                                "--service-account-private-key-file=b", "--service-cluster-ip-range=10.32.0.0/24",
                                "--use-service-account-credentials=true", "--allocate-node-cidrs=true",
                                "--node-cidr-mask-size=24", "--v=2"],
    "kube-scheduler": ["--config=/etc/kubernetes/config/kube-scheduler.yaml", "--v=2"],
    "kube-proxy": ["--config=/var/lib/kube-proxy/kube-proxy-config.yaml"],
    "kubelet": ["--config=/var/lib/kubelet/kubelet-config.yaml", "--kubeconfig=/var/lib/kubelet/kubeconfig",
                "--v=2", "--hostname-override=node-1", "--node-ip=127.0.0.5", "--node-labels=environment=prd",
                "--cert-dir=/x", "--root-dir=/y", "--config-dir=/z"],
}


@pytest.mark.parametrize("version", MODERN)
@pytest.mark.parametrize("program", sorted(UNIT_LINES))
def test_the_rendered_unit_lines_parse(program, version):
    v = tuple(int(x) for x in version[1:].split("."))
    p = parse(program, v, UNIT_LINES[program])
    assert not p.args and not p.warnings


@pytest.mark.parametrize("program, flag", [
    ("kube-apiserver", "--insecure-port=0"), ("kube-apiserver", "--insecure-bind-address=127.0.0.1"),
    ("kube-apiserver", "--port=8080"), ("kube-apiserver", "--address=127.0.0.1"),
    ("kube-apiserver", "--kubelet-https=true"), ("kube-apiserver", "--basic-auth-file=x"),
    ("kubelet", "--pod-infra-container-image=pause"), ("kubelet", "--network-plugin=cni"),
    ("kubelet", "--container-runtime=remote"), ("kubelet", "--api-servers=https://x"),
    ("kube-scheduler", "--port=0"), ("kube-controller-manager", "--address=127.0.0.1"),
])
@pytest.mark.parametrize("version", MODERN)
def test_removed_flags_are_unknown(program, flag, version):
    v = tuple(int(x) for x in version[1:].split("."))
    with pytest.raises(FlagError, match=f"^unknown flag: {flag.split('=')[0]}$"):
        parse(program, v, [flag])


def test_tls_curve_preferences_is_new_in_1_37():
    assert "tls-curve-preferences" in flags.flags_for("kube-apiserver", V137)
    assert "tls-curve-preferences" in flags.flags_for("kube-apiserver", (1, 38, 0))
    for v in ((1, 35, 0), (1, 36, 4)):
        assert "tls-curve-preferences" not in flags.flags_for("kube-apiserver", v)


def test_deprecated_flags_warn_like_pflag():
    p = parse("kubelet", V137, ["--fail-swap-on=false", "--hostname-override=n"])
    assert p["fail-swap-on"] is False
    assert p.warnings == ["Flag --fail-swap-on has been deprecated, This parameter should be set via the config "
                          "file specified by the Kubelet's --config flag. See https://kubernetes.io/docs/tasks/"
                          "administer-cluster/kubelet-config-file/ for more information."]
    assert parse("kube-apiserver", V137, ["--apiserver-count=3"]).warnings[0].startswith(
        "Flag --apiserver-count has been deprecated")


def test_bool_flags_take_no_value():
    p = parse("kube-controller-manager", V137, ["--leader-elect", "--allocate-node-cidrs", "--v", "2"])
    assert p["leader-elect"] is True and p["allocate-node-cidrs"] is True and p["v"] == 2 and not p.args


def test_the_old_tables_are_untouched():
    assert "insecure-port" in flags.flags_for("kube-apiserver", (1, 19, 0))
    assert "pod-infra-container-image" in flags.flags_for("kubelet", (1, 19, 0))


def run(path, *argv):
    return subprocess.run([str(path), *argv], capture_output=True, text=True, timeout=30)


@pytest.mark.parametrize("version", ["v1.35.9", "v1.37.1"])
def test_the_apiserver_prints_usage_then_the_error(standins, version):
    r = run(standins(version) / "kube-apiserver", "--insecure-port=0")
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.startswith("Usage:\n  kube-apiserver [flags]\n")
    assert r.stderr.endswith("\nError: unknown flag: --insecure-port\n")


def test_the_kubelet_logs_its_flag_error(standins):
    r = run(standins("v1.35.9") / "kubelet", "--pod-infra-container-image=registry.k8s.io/pause:3.10")
    assert r.returncode == 1
    assert r.stderr.rstrip("\n").endswith(' run.go:72] "command failed" err="failed to parse kubelet flag: '
                                          'unknown flag: --pod-infra-container-image"')
    assert r.stderr.startswith("E") and r.stderr.count("\n") == 1


def test_old_versions_keep_old_cobra_words(standins):
    r = run(standins("v1.0.1") / "kubelet", "--nonsense")
    assert r.returncode == 1
    assert r.stderr == "Error: unknown flag: --nonsense\nRun 'kubelet --help' for usage.\n"

"""Flag parsing as pflag/cobra do it, and the per-version flag tables, both in the
module and through the built programs (exit status and stderr as systemd sees them)."""
from __future__ import annotations

import subprocess

import pytest

from kubefab_lab.standin import flags
from kubefab_lab.standin.flags import FlagError, parse

V1 = (1, 0, 1)


def test_pflag_forms():
    p = parse("kube-apiserver", V1, ["--address=127.0.0.2", "--port", "8080", "--kubelet-https",
                                      "--logtostderr=false", "-v=3", "--etcd_servers=http://a:2379,http://b:2379"])
    assert p["address"] == "127.0.0.2" and p["port"] == 8080 and p["kubelet-https"] is True
    assert p["logtostderr"] is False and p["v"] == 3
    assert p["etcd-servers"] == ["http://a:2379", "http://b:2379"]
    assert p.given("port") and not p.given("secure-port") and p["secure-port"] == 6443


def test_a_bool_flag_never_takes_the_next_argument():
    p = parse("kubelet", V1, ["--register-node", "false"])
    assert p["register-node"] is True and p.args == ["false"]
    assert parse("kubelet", V1, ["--register-node=false"])["register-node"] is False
    assert parse("kubelet", V1, ["--register-node=0"])["register-node"] is False


@pytest.mark.parametrize("argv, message", [
    (["--x"], "unknown flag: --x"),
    (["-x"], "unknown shorthand flag: 'x' in -x"),
    (["--port=abc"], 'invalid argument "abc" for "--port" flag: strconv.ParseInt: parsing "abc": invalid syntax'),
    (["--kubelet-https=yes"], 'invalid argument "yes" for "--kubelet-https" flag: strconv.ParseBool'),
    (["--address=nowhere"], 'invalid argument "nowhere" for "--address" flag: failed to parse IP: "nowhere"'),
    (["--etcd-servers"], "flag needs an argument: --etcd-servers"),
])
def test_errors(argv, message):
    with pytest.raises(FlagError) as e:
        parse("kube-apiserver", V1, argv)
    assert str(e.value).startswith(message)


@pytest.mark.parametrize("program, flag, last_with, first_without", [
    ("kube-apiserver", "--kubelet-https=true", (1, 21, 0), (1, 22, 0)),
    ("kube-apiserver", "--insecure-port=0", (1, 23, 0), (1, 24, 0)),
    ("kube-apiserver", "--address=127.0.0.1", (1, 23, 0), (1, 24, 0)),
    ("kube-apiserver", "--logtostderr=true", (1, 25, 0), (1, 26, 0)),
    ("kubelet", "--api-servers=http://m:8080", (1, 7, 0), (1, 8, 0)),
    ("kubelet", "--allow-privileged=true", (1, 14, 0), (1, 15, 0)),
    ("kube-controller-manager", "--port=10252", (1, 23, 0), (1, 24, 0)),
])
def test_removed_flags(program, flag, last_with, first_without):
    parse(program, last_with, [flag])
    with pytest.raises(FlagError, match=f"unknown flag: {flag.split('=')[0]}"):
        parse(program, first_without, [flag])


@pytest.mark.parametrize("program, flag, first", [
    ("kubelet", "--pod-manifest-path=/etc/kubernetes/manifests", (1, 4, 0)),
    ("kubelet", "--node-labels=a=b", (1, 2, 0)),
    ("kube-apiserver", "--enable-admission-plugins=NodeRestriction", (1, 10, 0)),
])
def test_added_flags(program, flag, first):
    with pytest.raises(FlagError):
        parse(program, (first[0], first[1] - 1, 0), [flag])
    parse(program, first, [flag])


def test_the_scheduler_has_no_cloud_provider():
    with pytest.raises(FlagError, match="unknown flag: --cloud-provider"):
        parse("kube-scheduler", V1, ["--cloud-provider=vagrant"])
    parse("kube-controller-manager", V1, ["--cloud-provider=vagrant"])


def test_deprecation_warnings():
    p = parse("kube-apiserver", (1, 19, 0), ["--insecure-port=8080"])
    assert p.warnings == ["Flag --insecure-port has been deprecated, This flag will be removed in a future version."]


def test_every_table_parses_its_own_defaults():
    for program, table in flags.TABLES.items():
        names = [f.name for f in table]
        assert len(names) == len(set(names)), program
        for v in [(1, 0, 0), (1, 8, 0), (1, 19, 0), (1, 33, 0)]:
            parse(program, v, [])


# --- through the built programs -------------------------------------------------------------------


def run(bin_dir, program, *args, timeout=30, env=None):
    return subprocess.run([bin_dir / program, *args], capture_output=True, text=True, timeout=timeout, env=env)


@pytest.mark.parametrize("version, program, argv", [
    ("v1.22.0", "kube-apiserver", ["--kubelet-https=true"]),
    ("v1.24.0", "kube-apiserver", ["--insecure-port=8080"]),
    ("v1.8.0", "kubelet", ["--api-servers=http://127.0.0.71:8080"]),
    ("v1.0.1", "kube-apiserver", ["--no-such-flag"]),
    ("v1.0.1", "kube-proxy", ["--cloud-provider=gce"]),
])
def test_programs_refuse_unknown_flags(standins, version, program, argv):
    r = run(standins(version), program, *argv, "--v=1")
    assert r.returncode == 1
    flag = argv[0].split("=")[0]
    assert r.stderr.startswith(f"Error: unknown flag: {flag}\n"), r.stderr


def test_programs_accept_the_flags_of_their_version(standins):
    # --help after the flags: parsed, then usage and exit 0, without needing etcd
    r = run(standins("v1.21.0"), "kube-apiserver", "--kubelet-https=true", "--help")
    assert r.returncode == 0, r.stderr
    r = run(standins("v1.7.5"), "kubelet", "--api-servers=http://127.0.0.71:8080", "--help")
    assert r.returncode == 0, r.stderr


def test_vagrant_cloud_provider_is_gone_from_1_2(standins, tmp_path):
    r = run(standins("v1.2.0"), "kube-controller-manager", "--cloud-provider=vagrant", "--master=127.0.0.71:1")
    assert r.returncode == 1 and 'unknown cloud provider "vagrant"' in r.stderr


def test_apiserver_1_20_requires_service_account_flags_and_no_insecure_port(standins):
    r = run(standins("v1.20.0"), "kube-apiserver", "--etcd-servers=http://127.0.0.1:1", "--insecure-port=8080")
    assert r.returncode == 1
    assert r.stderr.strip().splitlines()[-1] == (
        "Error: [service-account-issuer is a required flag, --service-account-signing-key-file and "
        "--service-account-issuer are required flags, invalid port value 8080: only zero is allowed]")
    r = run(standins("v1.0.1"), "kube-apiserver", "--service-cluster-ip-range=10.0.0.0/24")
    assert r.returncode == 1 and "Error: --etcd-servers must be specified" in r.stderr


def test_positional_arguments(standins, tmp_path):
    # `--register-node false` leaves "false" as an argument: cobra refuses it from 1.20
    r = run(standins("v1.20.0"), "kubelet", "--register-node", "false")
    assert r.returncode == 1 and 'Error: "kubelet" does not take any arguments, got ["false"]' in r.stderr


def test_kubelet_config_is_a_file_from_1_6(standins, tmp_path):
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    r = run(standins("v1.6.0"), "kubelet", f"--config={manifests}/")
    assert r.returncode == 1 and f"read {manifests}/: is a directory" in r.stderr
    bad = tmp_path / "kubelet.yaml"
    bad.write_text("apiVersion: v1\nkind: Config\n")
    r = run(standins("v1.10.0"), "kubelet", f"--config={bad}")
    assert r.returncode == 1 and 'no kind "Config" is registered' in r.stderr


def test_kubelet_node_labels_in_kubernetes_io_are_refused_from_1_16(standins):
    r = run(standins("v1.16.0"), "kubelet", "--node-labels=node-role.kubernetes.io/master=,environment=production")
    assert r.returncode == 1 and "unknown 'kubernetes.io' or 'k8s.io' labels specified with --node-labels: " \
        "[node-role.kubernetes.io/master]" in r.stderr


def test_dispatch_on_the_program_name(standins, tmp_path):
    bin_dir = standins("v1.0.1")
    odd = tmp_path / "something-else"
    odd.symlink_to(bin_dir / "kubelet")
    r = subprocess.run([odd, "--version"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "unknown program 'something-else'" in r.stderr
    r = subprocess.run([odd, "kube-proxy", "--version"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and r.stdout == "Kubernetes v1.0.1\n"

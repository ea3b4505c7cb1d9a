"""Config files read as today's programs read them (1.35+): a wrong apiVersion or kind
stops every one; an unknown field stops the scheduler and the apiserver's encryption
config, while the kubelet and kube-proxy log it and go on (their lenient fallback)."""
from __future__ import annotations

import subprocess

import pytest

from kubefab_lab.standin import configfiles
from standin_helpers import wait_until

V = "v1.37.1"
KUBELET = """apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: 127.0.0.9
authentication:
  anonymous:
    enabled: false
  x509:
    clientCAFile: /var/lib/kubelet/ca.crt
authorization:
  mode: Webhook
cgroupDriver: systemd
containerRuntimeEndpoint: unix:///var/run/containerd/containerd.sock
memorySwap:
  swapBehavior: NoSwap
registerNode: true
"""
SCHEDULER = """apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
clientConnection:
  kubeconfig: /var/lib/kubernetes/kube-scheduler.kubeconfig
leaderElection:
  leaderElect: true
"""
PROXY = """kind: KubeProxyConfiguration
apiVersion: kubeproxy.config.k8s.io/v1alpha1
clientConnection:
  kubeconfig: /var/lib/kube-proxy/kubeconfig
mode: iptables
clusterCIDR: 10.200.0.0/16
"""
ENCRYPTION = """kind: EncryptionConfiguration
apiVersion: apiserver.config.k8s.io/v1
resources:
  - resources:
      - secrets
    providers:
      - aescbc:
          keys:
            - name: key1
              secret: MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=
      - identity: {}
"""


@pytest.mark.parametrize("program, text", [("kubelet", KUBELET), ("kube-scheduler", SCHEDULER),
                                           ("kube-proxy", PROXY), ("encryption", ENCRYPTION)])
def test_the_rendered_files_decode_cleanly(program, text):
    doc, lenient = configfiles.decode(configfiles.KINDS[program], text)
    assert lenient is None and doc["kind"]


def test_unknown_fields_are_named_by_their_json_path():
    text = ENCRYPTION.replace("      - identity: {}", "      - identity: {}\n        pandas: best") \
        .replace("name: key1", "name: key1\n              colour: red")
    with pytest.raises(configfiles.DecodeError) as e:
        configfiles.decode(configfiles.KINDS["encryption"], text)
    assert str(e.value) == ('strict decoding error: unknown field "resources[0].providers[0].aescbc.keys[0].colour", '
                            'unknown field "resources[0].providers[1].pandas"')
    doc, lenient = configfiles.decode(configfiles.KINDS["kubelet"], KUBELET + "swapOn: true\n")
    assert lenient == 'strict decoding error: unknown field "swapOn"' and doc["registerNode"] is True


def run(path, *argv):
    return subprocess.run([str(path), *argv], capture_output=True, text=True, timeout=30)


def failed_line(r) -> str:
    assert r.returncode == 1, r.stderr
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("E") and ' run.go:72] "command failed" err=' in last
    return last.split(' err=', 1)[1]


def test_kubelet_wrong_api_version(standins, tmp_path):
    path = tmp_path / "kubelet-config.yaml"
    path.write_text(KUBELET.replace("v1beta1", "v1"))
    err = failed_line(run(standins(V) / "kubelet", f"--config={path}"))
    assert err == (f'"failed to load kubelet config file, path: {path}, error: failed to load Kubelet config file '
                   f'{path}, error failed to decode: no kind \\"KubeletConfiguration\\" is registered for version '
                   f'\\"kubelet.config.k8s.io/v1\\" in scheme \\"pkg/kubelet/apis/config/scheme/scheme.go:33\\""')


def test_kubelet_missing_file(standins, tmp_path):
    err = failed_line(run(standins(V) / "kubelet", f"--config={tmp_path}/nope.yaml"))
    assert err.endswith(f'failed to read kubelet config file \\"{tmp_path}/nope.yaml\\", error: open '
                        f'{tmp_path}/nope.yaml: no such file or directory"')


def test_kubelet_unknown_field_is_logged_and_passed(standins, procs, tmp_path):
    path = tmp_path / "kubelet-config.yaml"
    path.write_text(KUBELET + "port: 0\nfailSwapOnn: false\n")
    proc = procs.start([standins(V) / "kubelet", f"--config={path}", "--hostname-override=n1"])
    wait_until(lambda: "No API server defined" in proc.log() or not proc.alive(), 10, "the kubelet to run")
    assert proc.alive()
    assert ('"Using lenient decoding as strict decoding failed" err="strict decoding error: unknown field '
            '\\"failSwapOnn\\""') in proc.log()


@pytest.mark.parametrize("change, err", [
    (("leaderElect: true", "leaderElect: true\n  leaseDurationz: 15s"),
     '"strict decoding error: unknown field \\"leaderElection.leaseDurationz\\""'),
    (("config.k8s.io/v1", "config.k8s.io/v1beta3"),
     '"no kind \\"KubeSchedulerConfiguration\\" is registered for version \\"kubescheduler.config.k8s.io/v1beta3\\" '
     'in scheme \\"k8s.io/kubernetes/pkg/scheduler/apis/config/scheme/scheme.go:30\\""'),
])
def test_scheduler_is_strict(standins, tmp_path, change, err):
    path = tmp_path / "kube-scheduler.yaml"
    path.write_text(SCHEDULER.replace(*change))
    assert failed_line(run(standins(V) / "kube-scheduler", f"--config={path}")) == err


def test_proxy_wrong_kind_and_lenient_fields(standins, tmp_path):
    path = tmp_path / "kube-proxy.yaml"
    path.write_text(PROXY.replace("KubeProxyConfiguration", "KubeletConfiguration"))
    assert failed_line(run(standins(V) / "kube-proxy", f"--config={path}")).startswith(
        '"failed complete: failed to decode: no kind \\"KubeletConfiguration\\" is registered for version '
        '\\"kubeproxy.config.k8s.io/v1alpha1\\"')
    path.write_text(PROXY.replace("/var/lib/kube-proxy/kubeconfig", str(tmp_path / "none")) + "modee: ipvs\n")
    r = run(standins(V) / "kube-proxy", f"--config={path}")
    assert 'strict decoding error: unknown field \\"modee\\""' in r.stderr
    assert "invalid configuration" in r.stderr  # it went on, to the kubeconfig named in the file


def test_apiserver_encryption_config_is_strict(standins, pki, tmp_path):
    path = tmp_path / "encryption-config.yaml"
    path.write_text(ENCRYPTION.replace("- identity: {}", "- identity: {}\n        secretboxx: {}"))
    argv = [standins(V) / "kube-apiserver", "--etcd-servers=http://127.0.0.1:1", "--bind-address=127.0.0.1",
            "--service-account-issuer=https://127.0.0.1:6443", f"--service-account-key-file={pki.ca.crt}",
            f"--service-account-signing-key-file={pki.ca.pair.key}", f"--encryption-provider-config={path}"]
    assert failed_line(run(*argv)) == (
        f'"error while parsing file: error decoding encryption provider configuration file \\"{path}\\": '
        'strict decoding error: unknown field \\"resources[0].providers[1].secretboxx\\""')
    argv[4] = f"--service-account-key-file={tmp_path}/missing.pub"
    assert failed_line(run(*argv)) == (f'"failed to parse key file \\"{tmp_path}/missing.pub\\": open '
                                       f'{tmp_path}/missing.pub: no such file or directory"')
    argv[5] = f"--service-account-signing-key-file={pki.ca.crt}"
    assert failed_line(run(*argv)) == ('"failed to parse service-account-issuer-key-file: data does not contain a '
                                       'valid RSA or ECDSA private key"')

"""The lab's stand-in containerd: reads the config kubefab renders for its major
strictly, listens on the configured socket; its mirror packs it as a program."""
from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kubefab_lab.mirror import containerd_zipapp
from kubefab_lab.standin import containerd

V3 = """version = 3
[grpc]
  address = "{sock}"
[plugins.'io.containerd.cri.v1.images']
  snapshotter = "overlayfs"
[plugins.'io.containerd.cri.v1.runtime'.cni]
  bin_dirs = ["/opt/cni/bin"]
"""


@pytest.mark.parametrize("version,config_version,ok", [
    ("2.3.4", 3, True), ("2.3.4", 2, True), ("2.3.4", 4, True), ("2.1.5", 4, False), ("2.1.5", 3, True),
    ("1.7.28", 3, False), ("1.7.28", 2, True)])
def test_config_versions_per_major(version, config_version, ok):
    text = f"version = {config_version}\n"
    if ok:
        assert containerd.check(text, version) == containerd.DEFAULT_SOCKET
    else:
        with pytest.raises(ValueError, match="unsupported config version"):
            containerd.check(text, version)


def test_unknown_key_is_refused_like_strict_toml():
    with pytest.raises(ValueError, match="strict mode.*plugins.io.containerd.cri.v1.images.sandbox_image"):
        containerd.check("version = 3\n[plugins.'io.containerd.cri.v1.images']\n  sandbox_image = 'x'\n", "2.3.4")


GOLDEN = Path(__file__).resolve().parents[1] / "unit/golden"


@pytest.mark.parametrize("golden,version", [("modern-1.35", "1.7.28"), ("modern-1.36", "2.3.4"),
                                            ("modern-1.37", "2.3.4"), ("modern-1.38", "2.3.4")])
def test_the_configs_kubefab_renders_are_read(golden, version):
    text = (GOLDEN / golden / "azure-prd-02/etc/containerd/config.toml").read_text()
    assert containerd.check(text, version) == "/run/containerd/containerd.sock"


def test_program_listens_on_the_configured_socket(tmp_path):
    app = tmp_path / "containerd"
    app.write_bytes(containerd_zipapp("2.3.4"))
    sock = tmp_path / "run" / "containerd.sock"
    config = tmp_path / "config.toml"
    config.write_text(V3.format(sock=sock))
    proc = subprocess.Popen([sys.executable, str(app), "--config", str(config)], stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 10
        while not sock.exists():
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()
            time.sleep(0.05)
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(str(sock))
    finally:
        proc.terminate()
        proc.wait(5)
    config.write_text("version = 3\nbogus = 1\n")
    r = subprocess.run([sys.executable, str(app), "--config", str(config)], capture_output=True, text=True)
    assert r.returncode == 1 and "strict mode" in r.stderr and "bogus" in r.stderr


def test_a_modern_kubelet_exits_when_its_runtime_socket_does_not_answer(standins, pki, tmp_path):
    from standin_pki import write_kubeconfig
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", "https://127.0.0.1:1", pki.ca.crt,
                                  pki.nodes["azure-prd-02"], "system:node:azure-prd-02")
    sock = tmp_path / "containerd.sock"
    config = tmp_path / "kubelet-config.yaml"
    config.write_text("apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n"
                      f"address: 127.0.0.1\nport: 0\ncontainerRuntimeEndpoint: unix://{sock}\n")
    r = subprocess.run([str(standins("v1.37.1") / "kubelet"), f"--config={config}", f"--kubeconfig={kubeconfig}",
                        "--hostname-override=azure-prd-02"], capture_output=True, text=True, timeout=30,
                       env={"KUBEFAB_STANDIN_CRI_WAIT": "0.5", "PATH": "/usr/bin:/bin"})
    assert r.returncode == 1, r.stderr
    assert f'validate CRI v1 runtime API for endpoint \\"unix://{sock}\\"' in r.stderr
    assert "connect: no such file or directory" in r.stderr

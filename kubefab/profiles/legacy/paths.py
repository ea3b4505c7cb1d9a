"""Where the v1.0 profile writes on a host, as the original setup did (/etc/kubernetes.env,
the release unpacked into install_dir, kubectl linked into bin_dir), and the files TLS
adds in /etc/kubernetes. Unit names are kubefab.layout's."""
from __future__ import annotations

ENV_FILE = "/etc/kubernetes.env"
MANIFEST_DIR = "/etc/kubernetes/manifests/"
KUBELET_KUBECONFIG = "/etc/kubernetes/kubelet.kubeconfig"
PROXY_KUBECONFIG = "/etc/kubernetes/proxy.kubeconfig"
PKI_DIR = "/etc/kubernetes/pki"
CA_CERT = f"{PKI_DIR}/ca.crt"
APISERVER_CERT, APISERVER_KEY = f"{PKI_DIR}/apiserver.crt", f"{PKI_DIR}/apiserver.key"
KUBELET_CERT, KUBELET_KEY = f"{PKI_DIR}/kubelet.crt", f"{PKI_DIR}/kubelet.key"
PROXY_CERT, PROXY_KEY = f"{PKI_DIR}/kube-proxy.crt", f"{PKI_DIR}/kube-proxy.key"
ADMIN_CERT, ADMIN_KEY = f"{PKI_DIR}/admin.crt", f"{PKI_DIR}/admin.key"  # master: the health check's

"""The controller manager's certificate controllers for the kubelet signers:
- csrapproving: a pending CSR for kubernetes.io/kube-apiserver-client-kubelet whose
  request is a node client certificate (CN system:node:<name>, O system:nodes, usages
  within digital signature, key encipherment, client auth) is approved when a
  SubjectAccessReview says its requestor may create certificatesigningrequests/
  selfnodeclient (the node itself) or /nodeclient (a bootstrap identity), as upstream
  pkg/controller/certificates/approver/sarapprove.go: condition Approved, reason
  AutoApproved;
- csrsigning: an approved CSR of kubernetes.io/kube-apiserver-client-kubelet or
  kubernetes.io/kubelet-serving is checked as the signer checks it and signed with the
  per-signer files or --cluster-signing-cert-file/--cluster-signing-key-file, for
  --cluster-signing-duration (1 year) or the CSR's spec.expirationSeconds; one the
  signer refuses gets condition Failed, reason SignerValidationFailure.
The signature is made with the `openssl` program (the lab hosts' Python has no
crypto module): a real X.509 certificate the real kubectl and openssl accept."""
from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
import tempfile

from . import common
from .apiclient import Api, ApiCallError
from .flags import parse_duration

CSRS = "/apis/certificates.k8s.io/v1/certificatesigningrequests"
CLIENT_KUBELET, SERVING = "kubernetes.io/kube-apiserver-client-kubelet", "kubernetes.io/kubelet-serving"
SIGNER_FLAGS = {CLIENT_KUBELET: "kubelet-client", SERVING: "kubelet-serving"}


def subject(pem: bytes) -> tuple[str, list[str]]:
    """(CN, [O...]) of a PEM certificate request."""
    out = subprocess.run(["openssl", "req", "-noout", "-subject", "-nameopt", "RFC2253"], input=pem,
                         capture_output=True, check=True, timeout=30).stdout.decode().strip()
    parts = re.findall(r"(CN|O)=((?:\\,|[^,])*)", out.split("=", 1)[1] if out.startswith("subject=") else out)
    return (next((v for k, v in parts if k == "CN"), ""), [v for k, v in parts if k == "O"])


def _conditions(csr: dict) -> set[str]:
    return {c.get("type") for c in (csr.get("status") or {}).get("conditions") or []}


class CertificateControllers:
    def __init__(self, api: Api, fl, read: Api | None = None):
        self.api, self.fl, self.read = api, fl, read or api
        self.duration = parse_duration(fl["cluster-signing-duration"] or "8760h")

    def _files(self, signer: str):
        prefix = SIGNER_FLAGS[signer]
        cert, key = self.fl[f"cluster-signing-{prefix}-cert-file"], self.fl[f"cluster-signing-{prefix}-key-file"]
        if cert and key:
            return cert, key
        cert, key = self.fl["cluster-signing-cert-file"], self.fl["cluster-signing-key-file"]
        return (cert, key) if cert and key else None

    def sync(self) -> None:
        try:
            csrs = self.read.items(CSRS)
        except (ApiCallError, OSError) as e:
            common.warning(f"certificate controllers: {e}")
            return
        for csr in csrs:
            csr.update(apiVersion="certificates.k8s.io/v1", kind="CertificateSigningRequest")  # list items lack them
            try:
                self._one(csr)
            except (ApiCallError, OSError, subprocess.SubprocessError) as e:
                common.warning(f"certificate {csr['metadata']['name']}: {e}")

    def _one(self, csr: dict) -> None:
        spec, conds = csr.get("spec") or {}, _conditions(csr)
        signer = spec.get("signerName")
        if "Denied" in conds or "Failed" in conds or (csr.get("status") or {}).get("certificate"):
            return
        pem = base64.b64decode(spec.get("request") or "")
        if "Approved" not in conds:
            if signer == CLIENT_KUBELET:
                self._maybe_approve(csr, pem)
            return
        if signer in SIGNER_FLAGS and self._files(signer):
            self._sign(csr, pem, signer)

    def _maybe_approve(self, csr: dict, pem: bytes) -> None:
        cn, orgs = subject(pem)
        usages = set((csr.get("spec") or {}).get("usages") or [])
        if not cn.startswith("system:node:") or orgs != ["system:nodes"] or \
                not usages <= {"digital signature", "key encipherment", "client auth"}:
            return
        spec = csr["spec"]
        sub = "selfnodeclient" if spec.get("username") == cn else "nodeclient"
        review = self.api.create("/apis/authorization.k8s.io/v1/subjectaccessreviews", {
            "apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
            "spec": {"user": spec.get("username"), "groups": spec.get("groups") or [], "uid": spec.get("uid"),
                     "resourceAttributes": {"group": "certificates.k8s.io", "resource": "certificatesigningrequests",
                                            "verb": "create", "subresource": sub}}})
        if not (review.get("status") or {}).get("allowed"):
            return
        csr.setdefault("status", {}).setdefault("conditions", []).append({
            "type": "Approved", "status": "True", "reason": "AutoApproved",
            "message": "Auto approving kubelet client certificate after SubjectAccessReview.",
            "lastUpdateTime": common.rfc3339(), "lastTransitionTime": common.rfc3339()})
        self.api.put(f"{CSRS}/{csr['metadata']['name']}/approval", csr)
        common.info(f"approved CSR {csr['metadata']['name']} (AutoApproved)")

    def _refuse(self, csr: dict, why: str) -> None:
        csr.setdefault("status", {}).setdefault("conditions", []).append({
            "type": "Failed", "status": "True", "reason": "SignerValidationFailure", "message": why,
            "lastUpdateTime": common.rfc3339(), "lastTransitionTime": common.rfc3339()})
        self.api.put(f"{CSRS}/{csr['metadata']['name']}/status", csr)

    def _sign(self, csr: dict, pem: bytes, signer: str) -> None:
        cn, orgs = subject(pem)
        usages = set((csr.get("spec") or {}).get("usages") or [])
        if not cn.startswith("system:node:") or orgs != ["system:nodes"]:
            return self._refuse(csr, "subject organization is not system:nodes" if cn.startswith("system:node:")
                                else 'subject common name does not begin with "system:node:"')
        allowed = {"digital signature", "key encipherment", "client auth" if signer == CLIENT_KUBELET else "server auth"}
        if not usages <= allowed:
            return self._refuse(csr, f"usages did not match {sorted(allowed)}")
        cert, key = self._files(signer)
        seconds = min(self.duration, float(csr["spec"].get("expirationSeconds") or self.duration))
        eku = "clientAuth" if signer == CLIENT_KUBELET else "serverAuth"
        ku = ",".join(u for u, n in (("digitalSignature", "digital signature"),
                                     ("keyEncipherment", "key encipherment")) if n in usages) or "digitalSignature"
        tmp = tempfile.mkdtemp(prefix="csrsigning-")
        try:
            ext = os.path.join(tmp, "ext.cnf")
            with open(ext, "w", encoding="ascii") as f:
                f.write(f"[v3]\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,{ku}\nextendedKeyUsage={eku}\n"
                        "authorityKeyIdentifier=keyid\n")
            argv = ["openssl", "x509", "-req", "-CA", cert, "-CAkey", key, "-set_serial",
                    str(int.from_bytes(os.urandom(8), "big")), "-days", str(max(1, int(seconds // 86400))),
                    "-extfile", ext, "-extensions", "v3"]
            if signer == SERVING:
                argv += ["-copy_extensions", "copy"]
            signed = subprocess.run(argv, input=pem, capture_output=True, check=True, timeout=30).stdout
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        csr.setdefault("status", {})["certificate"] = base64.b64encode(signed).decode()
        self.api.put(f"{CSRS}/{csr['metadata']['name']}/status", csr)
        common.info(f"signed CSR {csr['metadata']['name']} ({signer}) for {cn}")

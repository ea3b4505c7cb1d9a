"""What today's apiserver does to an object on its way into storage, per kind, as far
as kubectl and the stand-in controllers can see it: NamespaceLifecycle (no object in a
namespace that does not exist), the registry strategies' defaults and validation
(Services: ClusterIP allocation; Deployments: selector against template labels;
Secrets: stringData folded into data; CSRs: the requesting user recorded, approval
and status only through their subresources) and what a delete releases."""
from __future__ import annotations

import base64
import binascii
import random

from . import common
from .objects import ApiError, invalid, label_match, not_found, validate_meta
from .registry import Resource


def _namespace_exists(srv, namespace: str) -> None:
    ns = srv.store.find(srv.resources["namespaces"], None, namespace)
    if ns is None:
        raise not_found("namespaces", namespace)
    if (ns.get("status") or {}).get("phase") == "Terminating":
        raise ApiError(403, "Forbidden", f'unable to create new content in namespace {namespace} because it is being '
                       "terminated", {"name": namespace, "kind": "namespaces"})


# the kinds whose status is their own (the status subresource's, a controller's): kept
# through an update of the object
WITH_STATUS = ("pods", "deployments", "replicasets", "services", "certificatesigningrequests", "apiservices",
               "namespaces", "nodes")


def create(srv, r: Resource, obj: dict, user, dry: bool = False) -> dict:
    """obj as it may be stored; a dry run (dryRun=All) reserves nothing (a Service's
    address is checked, not allocated)."""
    meta = obj.setdefault("metadata", {})
    if not meta.get("name") and meta.get("generateName"):  # the names generator's alphabet and length
        meta["name"] = meta["generateName"] + "".join(random.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(5))
    if r.namespaced:
        _namespace_exists(srv, meta["namespace"])
    hook = CREATE.get(r.plural)
    if hook:
        hook(srv, obj, user, dry) if hook is _service else hook(srv, obj, user)
    if r.plural in ("deployments", "replicasets"):  # their controllers fill it; the real server's object
        obj.setdefault("status", {})  # has one from the start (a struct: encoding/json never leaves it out)
    validate_meta(r.kind, obj)
    return obj


def update(srv, r: Resource, old: dict, new: dict, sub: str) -> dict:
    """new as it may be stored: a subresource changes only its part."""
    if sub in ("status", "approval"):
        out = dict(old)
        out["status"] = new.get("status") or {}
        if sub == "approval":  # only the conditions; the certificate is the signer's
            out["status"] = {**(old.get("status") or {}), "conditions": (new.get("status") or {}).get("conditions")}
        out["metadata"] = {**old["metadata"], **{k: v for k, v in (new.get("metadata") or {}).items()
                                                 if k in ("labels", "annotations")}}
        return out
    if r.plural in WITH_STATUS:
        new["status"] = old.get("status", {})
    hook = UPDATE.get(r.plural)
    if hook:
        hook(srv, old, new)
    validate_meta(r.kind, new)
    return new


def deleted(srv, r: Resource, obj: dict) -> None:
    if r.plural == "services":
        for ip in (obj.get("spec") or {}).get("clusterIPs") or []:
            srv.clusterips.release(ip)


# --- per kind --------------------------------------------------------------------------------


def _namespace(srv, obj, user):
    obj.setdefault("metadata", {}).setdefault("labels", {})["kubernetes.io/metadata.name"] = obj["metadata"]["name"]
    obj["spec"] = {"finalizers": ["kubernetes"]}
    obj["status"] = {"phase": "Active"}


def _service(srv, obj, user, dry=False):
    spec = obj.setdefault("spec", {})
    spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    for port in spec.get("ports") or []:
        port.setdefault("protocol", "TCP")
        port.setdefault("targetPort", port.get("port"))
    if spec.get("clusterIP") == "None":  # headless
        spec["clusterIPs"] = ["None"]
    elif spec["type"] != "ExternalName":
        ip = srv.clusterips.allocate(obj, spec.get("clusterIP") or None, dry=dry)
        spec["clusterIP"], spec["clusterIPs"] = ip, [ip]
        spec.setdefault("ipFamilies", [f"IPv{srv.clusterips.net.version}"])
        spec.setdefault("ipFamilyPolicy", "SingleStack")
        spec.setdefault("internalTrafficPolicy", "Cluster")
    obj["status"] = {"loadBalancer": {}}


def _service_update(srv, old, new):
    before, spec = old.get("spec") or {}, new.setdefault("spec", {})
    if spec.get("clusterIP") in (None, "") and before.get("clusterIP"):
        spec["clusterIP"], spec["clusterIPs"] = before["clusterIP"], before.get("clusterIPs")
    elif spec.get("clusterIP") != before.get("clusterIP"):
        raise invalid("Service", old["metadata"]["name"], [(
            "spec.clusterIPs[0]", "FieldValueInvalid",
            f'Invalid value: []string{{"{spec.get("clusterIP")}"}}: may not change once set')])
    spec.setdefault("clusterIPs", before.get("clusterIPs"))
    for port in spec.get("ports") or []:
        port.setdefault("protocol", "TCP")
        port.setdefault("targetPort", port.get("port"))
    for key in ("type", "sessionAffinity", "ipFamilies", "ipFamilyPolicy", "internalTrafficPolicy"):
        if key in before:
            spec.setdefault(key, before[key])


def _workload(kind):
    def check(srv, obj, user=None):
        spec = obj.setdefault("spec", {})
        spec.setdefault("replicas", 1)
        if kind == "Deployment":
            spec.setdefault("strategy", {"type": "RollingUpdate",
                                         "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}})
            spec.setdefault("revisionHistoryLimit", 10)
            spec.setdefault("progressDeadlineSeconds", 600)
        labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
        selector = spec.get("selector") or {}
        name = obj["metadata"].get("name", "")
        if not selector.get("matchLabels") and not selector.get("matchExpressions"):
            raise invalid(kind, name, [("spec.selector", "FieldValueRequired", "Required value")])
        reqs = [(k, "=", {v}) for k, v in (selector.get("matchLabels") or {}).items()]
        if not label_match(reqs, labels):
            shown = "map[string]string{" + ", ".join(f'"{k}":"{v}"' for k, v in sorted(labels.items())) + "}"
            raise invalid(kind, name, [("spec.template.metadata.labels", "FieldValueInvalid",
                                        f"Invalid value: {shown}: `selector` does not match template `labels`")])
    return check


def _secret(srv, obj, user=None):
    obj.setdefault("type", "Opaque")
    data = obj.setdefault("data", {}) if (obj.get("data") or obj.get("stringData")) else obj.get("data")
    for key, value in (obj.pop("stringData", None) or {}).items():
        data[key] = base64.b64encode(str(value).encode()).decode()
    for key, value in (data or {}).items():
        try:
            base64.b64decode(str(value), validate=True)
        except (binascii.Error, ValueError):
            raise ApiError(400, "BadRequest", f"illegal base64 data at input byte 0 in data[{key}]") from None


def _csr(srv, obj, user):
    spec = obj.setdefault("spec", {})
    name = obj["metadata"].get("name", "")
    if not spec.get("signerName"):
        raise invalid("CertificateSigningRequest", name, [("spec.signerName", "FieldValueRequired",
                                                            "Required value")])
    try:
        pem = base64.b64decode(spec.get("request") or "", validate=True)
    except (binascii.Error, ValueError):
        pem = b""
    if b"-----BEGIN CERTIFICATE REQUEST-----" not in pem:
        raise invalid("CertificateSigningRequest", name, [("spec.request", "FieldValueInvalid",
                                                            "Invalid value: []byte{...}: PEM block type must be "
                                                            "CERTIFICATE REQUEST")])
    spec["username"] = user.name if user else ""
    spec["groups"] = list(user.groups) if user else []
    spec.setdefault("usages", ["digital signature", "key encipherment", "client auth"])
    obj["status"] = {}


def _pod(srv, obj, user=None):
    spec = obj.setdefault("spec", {})
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("serviceAccountName", "default")
    obj["status"] = {"phase": "Pending", "qosClass": "BestEffort"}


CREATE = {"namespaces": _namespace, "services": _service, "deployments": _workload("Deployment"),
          "replicasets": _workload("ReplicaSet"), "secrets": _secret, "certificatesigningrequests": _csr,
          "pods": _pod}
UPDATE = {"services": _service_update, "deployments": lambda s, o, n: _workload("Deployment")(s, n),
          "replicasets": lambda s, o, n: _workload("ReplicaSet")(s, n), "secrets": lambda s, o, n: _secret(s, n)}


def now() -> str:
    return common.rfc3339()

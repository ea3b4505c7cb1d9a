"""fieldValidation=Strict (kubectl's default --validate=strict, handed to the server):
the top-level fields and metadata fields each kind has, as its Go type names them.
Deeper fields are not checked by the stand-in (the real server checks them all)."""
from __future__ import annotations

from .objects import META_FIELDS, bad_request

BASE = {"apiVersion", "kind", "metadata"}
TOP = {"ConfigMap": {"data", "binaryData", "immutable"}, "Secret": {"data", "stringData", "type", "immutable"},
       "ServiceAccount": {"secrets", "imagePullSecrets", "automountServiceAccountToken"},
       "Endpoints": {"subsets"}, "ClusterRole": {"rules", "aggregationRule"}, "Role": {"rules"},
       "ClusterRoleBinding": {"subjects", "roleRef"}, "RoleBinding": {"subjects", "roleRef"}}
SPEC_STATUS = {"spec", "status"}


def check(kind: str, obj, strict: bool) -> None:
    if not strict or not isinstance(obj, dict):
        return
    allowed = BASE | TOP.get(kind, SPEC_STATUS)
    extra = [f for f in obj if f not in allowed and not f.startswith("$")]
    meta = obj.get("metadata")
    if isinstance(meta, dict):
        extra += [f"metadata.{f}" for f in meta if f not in META_FIELDS and not f.startswith("$")]
    if extra:
        raise bad_request(f'{kind} in version "v1" cannot be handled as a {kind}: strict decoding error: '
                          + ", ".join(f'unknown field "{f}"' for f in extra))

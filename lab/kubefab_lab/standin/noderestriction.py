"""The NodeRestriction admission plugin (1.35+, when `--enable-admission-plugins`
names it), for what a kubelet does to Node objects: a node may create or modify
only its own Node (that much the Node authorizer already refuses, see `authz`), and
may not set, change or remove restricted labels: `node-restriction.kubernetes.io/*`
and every other `kubernetes.io`/`k8s.io` key outside the kubelet's allowed set
(so `node-role.kubernetes.io/*` is the admin's, set with kubectl). The allowed set
is the one the kubelet checks its own --node-labels against (`components`).
Messages after plugin/pkg/admission/noderestriction (approximate)."""
from __future__ import annotations

from .components import _restricted
from .objects import ApiError


def node_name(user) -> str | None:
    if user is not None and user.name.startswith("system:node:") and "system:nodes" in user.groups:
        return user.name[len("system:node:"):]
    return None


def _forbidden(name: str, why: str) -> ApiError:
    return ApiError(403, "Forbidden", f'nodes "{name}" is forbidden: {why}', {"name": name, "kind": "nodes"})


def admit_create(user, obj: dict) -> None:
    node = node_name(user)
    if node is None:
        return
    name = (obj.get("metadata") or {}).get("name", "")
    if name != node:
        raise _forbidden(name, f'node "{node}" is not allowed to modify node "{name}"')
    bad = sorted(k for k in (obj["metadata"].get("labels") or {}) if _restricted(k))
    if bad:
        raise _forbidden(name, f'node "{node}" is not allowed to set the following labels: {", ".join(bad)}')


def admit_update(user, old: dict, new: dict) -> None:
    node = node_name(user)
    if node is None:
        return
    name = old["metadata"]["name"]
    if name != node:
        raise _forbidden(name, f'node "{node}" is not allowed to modify node "{name}"')
    before, after = old["metadata"].get("labels") or {}, new["metadata"].get("labels") or {}
    changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
    bad = sorted(k for k in changed if _restricted(k))
    if bad:
        raise _forbidden(name, f"is not allowed to modify labels: {', '.join(bad)}")

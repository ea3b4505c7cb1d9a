"""Authorization of today's apiserver (1.35+ with `--authorization-mode` naming Node
and/or RBAC), in the real order, Node then RBAC:
- group system:masters may do anything (the super-admin certificate; RBAC is bypassed);
- the Node authorizer, for a node (user system:node:<name> in group system:nodes):
  its own Node (get, list/watch with fieldSelector metadata.name=<name>, create,
  update, patch, delete, status), its own Lease in kube-node-lease, pods (read; list
  and watch only with fieldSelector spec.nodeName=<name>, AuthorizeNodeWithSelectors
  being on since 1.32), pod status, and the rest of the system:node role's rules
  (CSRs, events); another node's object is refused with the authorizer's reason;
- RBAC for everyone: what the ClusterRoleBindings, and the RoleBindings of the
  request's namespace, grant the user, its groups (plus system:authenticated, or
  system:unauthenticated for anonymous) or its service account through their roles'
  rules: verbs, apiGroups, resources (`*`, `res/sub`, `*/sub`), resourceNames,
  nonResourceURLs (a trailing `*` a prefix). The bootstrap policy (`policy`) is
  written at start, so a fresh cluster holds the real default roles and bindings.
  Aggregated ClusterRoles (aggregationRule) are not computed.
RBAC objects are read from etcd, cached for a second per apiserver.
Refusals: 403 with the real message; the Node authorizer's reason appended.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .objects import ApiError

DISCOVERY = ("/api", "/api/*", "/apis", "/apis/*", "/openapi/*", "/version", "/version/", "/healthz", "/livez",
             "/readyz")
SELF_REVIEWS = {"selfsubjectaccessreviews", "selfsubjectrulesreviews"}
READ = {"get", "list", "watch"}


@dataclass(frozen=True)
class Attributes:
    verb: str
    path: str
    resource: str = ""  # "" for a non-resource request
    subresource: str = ""
    name: str = ""
    namespace: str = ""
    group: str = ""
    field_selector: str = ""

    @property
    def is_resource(self) -> bool:
        return bool(self.resource)


def attributes(method: str, path: str, query: dict) -> Attributes:
    """What RBAC sees of a request (the apiserver's RequestInfoFactory, in short)."""
    m = re.fullmatch(r"/(?:api/(v1)|apis/([^/]+)/([^/]+))(/watch)?(?:/namespaces/([^/]+))?(?:/([^/]+))?"
                     r"(?:/([^/]+))?(?:/([^/]+))?", path)
    nonres_verb = {"GET": "get", "HEAD": "head", "POST": "post", "PUT": "put", "PATCH": "patch",
                   "DELETE": "delete"}[method]
    if not m or not m.group(6):
        if m and m.group(5) and not m.group(6):  # /api/v1/namespaces/<ns>: the namespace itself
            return Attributes(_verb(method, True, query, False), path, "namespaces", name=m.group(5))
        return Attributes(nonres_verb, path)
    _, group, _, watch, ns, resource, name, sub = m.groups()
    return Attributes(_verb(method, bool(name), query, bool(watch)), path, resource, sub or "", name or "",
                      ns or "", group or "", query.get("fieldSelector", ""))


def _verb(method: str, named: bool, query: dict, watch: bool) -> str:
    if watch or (method == "GET" and query.get("watch") in ("true", "1")):
        return "watch"
    if method in ("GET", "HEAD"):
        return "get" if named else "list"
    if method == "DELETE":
        return "delete" if named else "deletecollection"
    return {"POST": "create", "PUT": "update", "PATCH": "patch"}[method]


def _url_match(patterns, path: str) -> bool:
    return any(p == path or p == "*" or (p.endswith("*") and path.startswith(p[:-1])) for p in patterns)


def _node_decision(node: str, a: Attributes) -> tuple[bool, str]:
    """The Node authorizer (with the system:node role) for nodes and pods."""
    if a.resource == "nodes":
        if a.verb in ("list", "watch"):
            if a.field_selector == f"metadata.name={node}":
                return True, ""
            return False, f"node '{node}' can only {a.verb} its own Node object with fieldSelector metadata.name={node}"
        if a.name == node or (a.verb == "create" and not a.name):
            return True, ""
        return False, f"node '{node}' cannot {'read' if a.verb in READ else 'modify'} '{a.name}', only its own Node object"
    return False, ""


def authorize(rbac, user, a: Attributes) -> tuple[bool, str]:
    """(allowed, the reason a refusal gives)."""
    if "system:masters" in user.groups:
        return True, ""
    reason = ""
    if user.name.startswith("system:node:") and "system:nodes" in user.groups:
        decision, reason = _node_authorizer(user.name[len("system:node:"):], a)
        if decision is not None:
            return decision, reason
    if rbac.allows(user, a):
        return True, ""
    return False, reason


def _node_authorizer(node: str, a: Attributes) -> tuple[bool | None, str]:
    """True/False, or None (no opinion: up to RBAC) with a reason to give if RBAC refuses."""
    if a.group == "" and a.resource in ("nodes", "pods"):
        allowed, reason = (_node_decision if a.resource == "nodes" else _node_pods)(node, a)
        return (True, "") if allowed else (None, reason)
    if a.group == "coordination.k8s.io" and a.resource == "leases":
        if a.namespace == "kube-node-lease" and (a.name == node or (a.verb == "create" and not a.name)):
            return True, ""
        return None, f"node '{node}' can only access node lease with the same name as the requesting node"
    from .policy import CLUSTER_ROLES
    if any(rule_allows(rule, a) for rule in CLUSTER_ROLES["system:node"]):
        return True, ""
    return None, ""


def _node_pods(node: str, a: Attributes) -> tuple[bool, str]:
    if a.subresource == "status" and a.verb in ("update", "patch"):
        return True, ""
    if a.verb in ("list", "watch"):
        if a.field_selector == f"spec.nodeName={node}":
            return True, ""
        return False, f"can only {a.verb} pods with spec.nodeName field selector"
    if not a.subresource and a.verb in ("get", "create", "delete"):
        return True, ""
    if a.subresource == "eviction" and a.verb == "create":
        return True, ""
    return False, ""


def _matches(values, wanted: str) -> bool:
    return "*" in values or wanted in values


def rule_allows(rule: dict, a: Attributes) -> bool:
    if not _matches(rule.get("verbs") or [], a.verb):
        return False
    if not a.is_resource:
        return _url_match(rule.get("nonResourceURLs") or [], a.path)
    if "nonResourceURLs" in rule and "resources" not in rule:
        return False
    if not _matches(rule.get("apiGroups") or [], a.group):
        return False
    resources = rule.get("resources") or []
    full = a.resource + ("/" + a.subresource if a.subresource else "")
    if not (full in resources or "*" in resources or (a.subresource and f"*/{a.subresource}" in resources)):
        return False
    names = rule.get("resourceNames") or []
    return not names or a.name in names


def subject_matches(subject: dict, user, namespace: str) -> bool:
    kind, name = subject.get("kind"), subject.get("name")
    if kind == "User":
        return user.name == name
    if kind == "Group":
        return name in user.groups
    if kind == "ServiceAccount":
        return user.name == f"system:serviceaccount:{subject.get('namespace') or namespace}:{name}"
    return False


def forbidden(user, a: Attributes, reason: str = "") -> ApiError:
    """responsewriters.Forbidden's words."""
    if not a.is_resource:
        msg = f'forbidden: User "{user.name}" cannot {a.verb} path "{a.path}"'
        return ApiError(403, "Forbidden", msg + (f": {reason}" if reason else ""), {})
    what = f'{a.resource}{"." + a.group if a.group else ""}'
    subject = f'{what} "{a.name}"' if a.name else what
    scope = f'in the namespace "{a.namespace}"' if a.namespace else "at the cluster scope"
    res = a.resource + ("/" + a.subresource if a.subresource else "")
    msg = (f'{subject} is forbidden: User "{user.name}" cannot {a.verb} resource "{res}" in API group '
           f'"{a.group}" {scope}')
    details = {"kind": a.resource, **({"group": a.group} if a.group else {}), **({"name": a.name} if a.name else {})}
    return ApiError(403, "Forbidden", msg + (f": {reason}" if reason else ""), details)

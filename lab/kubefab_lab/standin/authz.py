"""Authorization of today's apiserver (1.35+ with `--authorization-mode` naming Node
and/or RBAC), as far as kubectl and kubelets can see it:
- group system:masters may do anything (the admin certificate; RBAC is bypassed);
- every authenticated user gets the default roles system:discovery (the discovery
  and OpenAPI paths, /version, the health checks) and system:basic-user (create
  selfsubjectaccessreviews / selfsubjectrulesreviews: `kubectl auth can-i`);
- the control-plane identities (system:kube-controller-manager, system:kube-scheduler,
  system:kube-proxy) get what their default bindings give for nodes and pods,
  simplified: read everything; the controller manager may also write nodes;
- a node (user system:node:<name> in group system:nodes, the Node authorizer): its
  own Node only (get, list/watch with fieldSelector metadata.name=<name>, create,
  update, patch, delete, status); reading pods. With AuthorizeNodeWithSelectors (on
  by default since 1.32) another node's object is refused even for reading.
ClusterRoleBindings created through the API are stored (`rbac_routes`), not
enforced: nobody else is granted anything. Anything else is refused: 403 with the real message (RBAC's wording; the Node
authorizer's reason appended, approximately).
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
    if a.resource == "pods" and not a.subresource and a.verb in READ:
        return True, ""
    return False, ""


def builtin_allows(user, a: Attributes) -> tuple[bool | None, str]:
    """(True, "") allowed; (False, reason) refused by the Node authorizer; (None, "")
    no opinion: up to RBAC objects."""
    if "system:masters" in user.groups:
        return True, ""
    if not a.is_resource:
        return (True, "") if a.verb in ("get", "head") and _url_match(DISCOVERY, a.path) else (None, "")
    if a.group == "authorization.k8s.io" and a.resource in SELF_REVIEWS and a.verb == "create":
        return True, ""
    if user.name in ("system:kube-controller-manager", "system:kube-scheduler", "system:kube-proxy"):
        if a.verb in READ or (user.name == "system:kube-controller-manager" and a.resource == "nodes"):
            return True, ""
    if user.name.startswith("system:node:") and "system:nodes" in user.groups:
        if a.group == "" and a.resource in ("nodes", "pods"):
            return _node_decision(user.name[len("system:node:"):], a)
    return None, ""


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

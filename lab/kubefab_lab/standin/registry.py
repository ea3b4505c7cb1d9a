"""The resources today's stand-in apiserver (1.35+) serves through its generic
machinery (`store`, `api_routes`): group, version, plural, kind, scope, the etcd key
segment the real server uses (k/k pkg/registry/*/storage: /registry/services/specs,
/registry/minions, ...), verbs, short names and subresources, and the discovery
documents built from them (legacy discovery: APIGroupList, APIResourceList).

Nodes keep their own routes (`node_routes`, NodeRestriction) but are listed here for
discovery; the authorization group's reviews are answered by `modern_routes`."""
from __future__ import annotations

from dataclasses import dataclass

RW = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


@dataclass(frozen=True)
class Resource:
    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool
    key: str  # the etcd segment under --etcd-prefix
    short: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()
    verbs: tuple[str, ...] = RW
    generation: bool = False  # metadata.generation moves with spec (apps)
    categories: tuple[str, ...] = ()

    @property
    def gv(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def singular(self) -> str:
        return self.kind.lower()

    def qualified(self) -> str:
        """`deployments.apps` as errors name it (no group for the core group)."""
        return f"{self.plural}.{self.group}" if self.group else self.plural


def _r(group, plural, kind, namespaced, key, **kw) -> Resource:
    return Resource(group, "v1", plural, kind, namespaced, key, **kw)


RESOURCES = [
    _r("", "namespaces", "Namespace", False, "namespaces", short=("ns",), subresources=("status",),
       verbs=("create", "delete", "get", "list", "patch", "update", "watch")),
    _r("", "nodes", "Node", False, "minions", short=("no",), subresources=("status",)),
    _r("", "pods", "Pod", True, "pods", short=("po",), subresources=("status", "binding", "eviction"),
       categories=("all",)),
    _r("", "configmaps", "ConfigMap", True, "configmaps", short=("cm",)),
    _r("", "secrets", "Secret", True, "secrets"),
    _r("", "serviceaccounts", "ServiceAccount", True, "serviceaccounts", short=("sa",), subresources=("token",)),
    _r("", "services", "Service", True, "services/specs", short=("svc",), subresources=("status",),
       verbs=("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"),
       categories=("all",)),
    _r("", "endpoints", "Endpoints", True, "services/endpoints", short=("ep",)),
    _r("", "events", "Event", True, "events", short=("ev",)),
    _r("apps", "deployments", "Deployment", True, "deployments", short=("deploy",), subresources=("status",),
       generation=True, categories=("all",)),
    _r("apps", "replicasets", "ReplicaSet", True, "replicasets", short=("rs",), subresources=("status",),
       generation=True, categories=("all",)),
    _r("coordination.k8s.io", "leases", "Lease", True, "leases"),
    _r("apiregistration.k8s.io", "apiservices", "APIService", False, "apiregistration.k8s.io/apiservices",
       subresources=("status",), categories=("api-extensions",)),
    _r("certificates.k8s.io", "certificatesigningrequests", "CertificateSigningRequest", False,
       "certificatesigningrequests", short=("csr",), subresources=("approval", "status")),
    _r("rbac.authorization.k8s.io", "clusterroles", "ClusterRole", False, "clusterroles"),
    _r("rbac.authorization.k8s.io", "clusterrolebindings", "ClusterRoleBinding", False, "clusterrolebindings"),
    _r("rbac.authorization.k8s.io", "roles", "Role", True, "roles"),
    _r("rbac.authorization.k8s.io", "rolebindings", "RoleBinding", True, "rolebindings"),
]
BY_PATH = {(r.group, r.version, r.plural): r for r in RESOURCES}
BY_KIND = {(r.group, r.kind): r for r in RESOURCES}
SUB_VERBS = {"status": ("get", "patch", "update"), "approval": ("get", "patch", "update"),
             "binding": ("create",), "eviction": ("create",), "token": ("create",)}
POLICY_EVICTION = {"group": "policy", "version": "v1", "kind": "Eviction"}
REVIEWS = {"authorization.k8s.io": [("selfsubjectaccessreviews", "SelfSubjectAccessReview"),
                                    ("selfsubjectrulesreviews", "SelfSubjectRulesReview"),
                                    ("subjectaccessreviews", "SubjectAccessReview")]}


def resource(group: str, version: str, plural: str) -> Resource | None:
    return BY_PATH.get((group, version, plural))


def by_kind(api_version: str, kind: str) -> Resource | None:
    group = api_version.rpartition("/")[0]
    return BY_KIND.get((group, kind))


def groups() -> list[str]:
    """The API groups, in the order the real server lists them (core group aside)."""
    out = []
    for name in [r.group for r in RESOURCES if r.group] + list(REVIEWS):
        if name not in out:
            out.append(name)
    return out


def group_entry(name: str) -> dict:
    gv = {"groupVersion": f"{name}/v1", "version": "v1"}
    return {"name": name, "versions": [gv], "preferredVersion": gv}


def group_list() -> dict:
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [group_entry(g) for g in groups()]}


def resource_list(group: str) -> dict | None:
    """The APIResourceList of `<group>/v1` (group "" for /api/v1); None if no such group."""
    gv = f"{group}/v1" if group else "v1"
    out = []
    for r in RESOURCES:
        if r.group != group:
            continue
        entry = {"name": r.plural, "singularName": r.singular, "namespaced": r.namespaced, "kind": r.kind,
                 "verbs": list(r.verbs)}
        if r.short:
            entry["shortNames"] = list(r.short)
        if r.categories:
            entry["categories"] = list(r.categories)
        out.append(entry)
        for sub in r.subresources:
            item = {"name": f"{r.plural}/{sub}", "singularName": "", "namespaced": r.namespaced,
                    "kind": r.kind, "verbs": list(SUB_VERBS[sub])}
            if sub == "eviction":
                item.update(POLICY_EVICTION)
            elif sub == "binding":
                item["kind"] = "Binding"
            elif sub == "token":
                item.update(group="authentication.k8s.io", version="v1", kind="TokenRequest")
            out.append(item)
    for plural, kind in REVIEWS.get(group, []):
        out.append({"name": plural, "singularName": kind.lower(), "namespaced": False, "kind": kind,
                    "verbs": ["create"]})
    if not out:
        return None
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": out}

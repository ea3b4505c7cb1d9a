"""Paths only today's apiserver (1.35+) serves, for the real kubectl of its minor:
discovery of every group in `registry` (legacy discovery, which kubectl falls back to
when /apis answers plain JSON), OpenAPI v3 (`openapi`), the generic resources
(`api_routes`), `kubectl auth can-i`'s SelfSubjectAccessReview (answered with what
`authz` decides for the requesting user), and health checks with ?verbose. Nodes and
events keep the routes every version shares (`routes`, `node_routes`)."""
from __future__ import annotations

from . import authz, openapi, protobuf, registry
from .api_routes import split_path
from .objects import NO_RESOURCE, bad_request

AUTHZ_GV = "authorization.k8s.io/v1"
CHECKS = ["ping", "log", "etcd", "poststarthook/start-apiserver-admission-initializer",
          "poststarthook/rbac/bootstrap-roles"]
SHARED = {"nodes", "events"}


class ModernRoutes:
    """Handler methods (a mixin of `handler.Handler`)."""

    def _modern_route(self, method: str, path: str) -> bool:
        """Serve path if it is one of today's; False to let the others try."""
        if method in ("GET", "HEAD") and self._modern_get(path):
            return True
        if method == "POST" and path == f"/apis/{AUTHZ_GV}/selfsubjectaccessreviews":
            self._self_subject_access_review()
            return True
        if method == "POST" and path == f"/apis/{AUTHZ_GV}/subjectaccessreviews":
            self._subject_access_review()
            return True
        parts = split_path(path)
        if parts is None:
            return False
        group, version, ns, plural, name, sub, watch = parts
        if group == "" and plural in SHARED:
            return False
        r = registry.resource(group, version, plural)
        if r is None:
            raise NO_RESOURCE
        self._api(method, r, ns, name, sub, watch)
        return True

    def _modern_get(self, path: str) -> bool:
        if path == "/apis":
            self._json(200, registry.group_list())
        elif path == "/api/v1":
            self._json(200, registry.resource_list(""))
        elif path.startswith("/apis/") and path.count("/") == 2 and path[6:] in registry.groups():
            self._json(200, {"kind": "APIGroup", "apiVersion": "v1", **registry.group_entry(path[6:])})
        elif path.startswith("/apis/") and path.count("/") == 3 and path.endswith("/v1") \
                and registry.resource_list(path[6:-3]) is not None:
            self._json(200, registry.resource_list(path[6:-3]))
        elif path == "/openapi/v3":
            self._json(200, openapi.root())
        elif path.startswith("/openapi/v3/"):
            doc = openapi.document(path[len("/openapi/v3/"):])
            if doc is None:
                raise NO_RESOURCE
            self._json(200, doc)
        elif path in ("/healthz", "/livez", "/readyz") and "verbose" in self.query:
            self._verbose_health(path)
        else:
            return False
        return True

    def _verbose_health(self, path: str):
        ok = self.srv.etcd_healthy()
        lines = [f"[{'+' if ok or c != 'etcd' else '-'}]{c} {'ok' if ok or c != 'etcd' else 'failed: reason withheld'}"
                 for c in CHECKS]
        name = path.strip("/")
        self._text(200 if ok else 500, "\n".join(lines) + f"\n{name} check {'passed' if ok else 'failed'}\n")

    def _subject_access_review(self):
        """Whether spec.user (with spec.groups) may do what spec names (controllers ask,
        e.g. the CSR approver)."""
        from .authn import User

        review = self._read_object()
        spec = (review or {}).get("spec") if isinstance(review, dict) else None
        if not isinstance(spec, dict) or not spec.get("resourceAttributes"):
            raise bad_request("SubjectAccessReview: spec.resourceAttributes is required")
        res = spec["resourceAttributes"]
        a = authz.Attributes(res.get("verb", ""), "", res.get("resource", ""), res.get("subresource", ""),
                             res.get("name", ""), res.get("namespace", ""), res.get("group", ""))
        who = User(spec.get("user") or "", tuple(spec.get("groups") or ()))
        allowed, reason = authz.authorize(self.srv.rbac, who, a) if self.srv.authorize else (True, "")
        self._json(201, {"kind": "SubjectAccessReview", "apiVersion": AUTHZ_GV, "metadata": {"creationTimestamp": None},
                         "spec": spec, "status": {"allowed": allowed, **({"reason": reason} if reason else {})}})

    def _self_subject_access_review(self):
        if (self.headers.get("Content-Type") or "").startswith("application/vnd.kubernetes.protobuf"):
            try:
                review = protobuf.self_subject_access_review(self.body)
            except (ValueError, IndexError, UnicodeDecodeError) as e:
                raise bad_request(f"the object provided is unrecognized: {e}") from None
        else:
            review = self._read_object()
        spec = (review or {}).get("spec") if isinstance(review, dict) else None
        if not isinstance(spec, dict):
            raise bad_request("SelfSubjectAccessReview: spec is required")
        res, nonres = spec.get("resourceAttributes"), spec.get("nonResourceAttributes")
        if res:
            a = authz.Attributes(res.get("verb", ""), "", res.get("resource", ""), res.get("subresource", ""),
                                 res.get("name", ""), res.get("namespace", ""), res.get("group", ""),
                                 (res.get("fieldSelector") or {}).get("rawSelector", ""))
        elif nonres:
            a = authz.Attributes(nonres.get("verb", ""), nonres.get("path", ""))
        else:
            raise bad_request('SelfSubjectAccessReview.authorization.k8s.io "" is invalid: spec.resourceAttributes: '
                              "Invalid value: \"null\": exactly one of nonResourceAttributes or resourceAttributes "
                              "must be specified")
        allowed, reason = authz.authorize(self.srv.rbac, self.user, a) if self.srv.authorize else (True, "")
        status = {"allowed": allowed}
        if reason and not allowed:
            status["reason"] = reason
        self._json(201, {"kind": "SelfSubjectAccessReview", "apiVersion": AUTHZ_GV,
                         "metadata": {"creationTimestamp": None}, "spec": spec, "status": status})

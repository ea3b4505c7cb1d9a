"""Paths only today's apiserver (1.35+) serves, for the real kubectl of its minor:
the authorization.k8s.io/v1 group (legacy discovery, which kubectl falls back to when
/apis answers plain JSON) and `kubectl auth can-i`'s SelfSubjectAccessReview, which
the server answers with what `authz` decides for the requesting user; health checks
with ?verbose."""
from __future__ import annotations

from . import authz, protobuf
from .objects import bad_request
from .rbac_routes import GROUP_ENTRY as RBAC_GROUP

AUTHZ_GV = "authorization.k8s.io/v1"
GROUPS = [{"name": "authorization.k8s.io", "versions": [{"groupVersion": AUTHZ_GV, "version": "v1"}],
           "preferredVersion": {"groupVersion": AUTHZ_GV, "version": "v1"}}, RBAC_GROUP]
CHECKS = ["ping", "log", "etcd", "poststarthook/start-apiserver-admission-initializer", "poststarthook/rbac/bootstrap-roles"]


def authorization_resources() -> dict:
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": AUTHZ_GV, "resources": [
        {"name": name, "singularName": name[:-1].lower(), "namespaced": False, "kind": kind, "verbs": ["create"]}
        for name, kind in (("selfsubjectaccessreviews", "SelfSubjectAccessReview"),
                           ("selfsubjectrulesreviews", "SelfSubjectRulesReview"))]}


class ModernRoutes:
    """Handler methods (a mixin of `handler.Handler`)."""

    def _modern_route(self, method: str, path: str) -> bool:
        """Serve path if it is one of today's; False to let the others try."""
        if self._rbac_route(method, path):
            return True
        if method in ("GET", "HEAD"):
            if path == "/apis":
                self._json(200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": GROUPS})
            elif path == "/apis/authorization.k8s.io":
                self._json(200, {"kind": "APIGroup", "apiVersion": "v1", **GROUPS[0]})
            elif path == "/apis/" + AUTHZ_GV:
                self._json(200, authorization_resources())
            elif path in ("/healthz", "/livez", "/readyz") and "verbose" in self.query:
                self._verbose_health(path)
            else:
                return False
            return True
        if method == "POST" and path == f"/apis/{AUTHZ_GV}/selfsubjectaccessreviews":
            self._self_subject_access_review()
            return True
        return False

    def _verbose_health(self, path: str):
        ok = self.srv.etcd_healthy()
        lines = [f"[{'+' if ok or c != 'etcd' else '-'}]{c} {'ok' if ok or c != 'etcd' else 'failed: reason withheld'}"
                 for c in CHECKS]
        name = path.strip("/")
        self._text(200 if ok else 500, "\n".join(lines) + f"\n{name} check {'passed' if ok else 'failed'}\n")

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
        allowed, reason = authz.builtin_allows(self.user, a)
        status = {"allowed": allowed is True}
        if reason:
            status["reason"] = reason
        self._json(201, {"kind": "SelfSubjectAccessReview", "apiVersion": AUTHZ_GV,
                         "metadata": {"creationTimestamp": None}, "spec": spec, "status": status})

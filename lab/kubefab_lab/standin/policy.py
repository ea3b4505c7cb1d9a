"""The bootstrap RBAC policy today's apiserver writes at start (its post-start hook
rbac/bootstrap-roles), in short: the ClusterRoles and ClusterRoleBindings kubefab's
cluster and kubectl meet, with their rules as upstream
plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go and controller_policy.go
define them (roles whose rules only matter to controllers the stand-ins do not run are
left out). Each carries the label kubernetes.io/bootstrapping=rbac-defaults and the
annotation rbac.authorization.kubernetes.io/autoupdate=true, as upstream."""
from __future__ import annotations

READ = ["get", "list", "watch"]
RW = ["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"]
CERTS, COORD, AUTHN, AUTHZ = "certificates.k8s.io", "coordination.k8s.io", "authentication.k8s.io", \
    "authorization.k8s.io"


def R(verbs, groups, resources, names=()):
    rule = {"verbs": list(verbs), "apiGroups": list(groups), "resources": list(resources)}
    if names:
        rule["resourceNames"] = list(names)
    return rule


def U(verbs, urls):
    return {"verbs": list(verbs), "nonResourceURLs": list(urls)}


EVENTS = R(["create", "update", "patch"], ["", "events.k8s.io"], ["events"])
REVIEWS = [R(["create"], [AUTHN], ["tokenreviews"]), R(["create"], [AUTHZ], ["subjectaccessreviews"])]

CLUSTER_ROLES = {
    "cluster-admin": [R(["*"], ["*"], ["*"]), U(["*"], ["*"])],
    "system:discovery": [U(["get"], ["/livez", "/readyz", "/healthz", "/version", "/version/", "/openapi",
                                     "/openapi/*", "/api", "/api/*", "/apis", "/apis/*"])],
    "system:basic-user": [R(["create"], [AUTHZ], ["selfsubjectaccessreviews", "selfsubjectrulesreviews"]),
                          R(["create"], [AUTHN], ["selfsubjectreviews"])],
    "system:public-info-viewer": [U(["get"], ["/livez", "/readyz", "/healthz", "/version", "/version/"])],
    "system:node-proxier": [R(["list", "watch"], [""], ["services", "endpoints"]), R(READ, [""], ["nodes"]), EVENTS,
                            R(["list", "watch"], ["discovery.k8s.io"], ["endpointslices"])],
    "system:kube-controller-manager": [
        EVENTS, R(["create"], [COORD], ["leases"]),
        R(["get", "update"], [COORD], ["leases"], ["kube-controller-manager"]),
        R(["create"], [""], ["secrets", "serviceaccounts"]), R(["delete"], [""], ["secrets"]),
        R(["get"], [""], ["namespaces", "secrets", "serviceaccounts", "configmaps"]),
        R(["update"], [""], ["secrets", "serviceaccounts"]), *REVIEWS,
        R(["list", "watch"], ["*"], ["*"]), R(["create"], [""], ["serviceaccounts/token"])],
    "system:kube-scheduler": [
        EVENTS, R(["create"], [COORD], ["leases"]), R(["get", "update"], [COORD], ["leases"], ["kube-scheduler"]),
        R(READ, [""], ["nodes"]), R(["get", "list", "watch", "delete"], [""], ["pods"]),
        R(["create"], [""], ["pods/binding", "bindings"]), R(["patch", "update"], [""], ["pods/status"]),
        R(READ, [""], ["services", "replicationcontrollers"]), R(READ, ["apps", "extensions"], ["replicasets"]),
        R(READ, ["apps"], ["statefulsets"]), R(READ, ["policy"], ["poddisruptionbudgets"]),
        R(READ, [""], ["persistentvolumeclaims", "persistentvolumes"]), *REVIEWS,
        R(READ, ["storage.k8s.io"], ["csinodes", "csidrivers", "csistoragecapacities"]),
        R(READ, [""], ["namespaces"]), R(["create"], [""], ["pods/eviction"])],
    "system:kubelet-api-admin": [R(READ, [""], ["nodes"]), R(["proxy"], [""], ["nodes"]),
                                 R(["*"], [""], ["nodes/proxy", "nodes/metrics", "nodes/spec", "nodes/stats",
                                                 "nodes/log", "nodes/pods", "nodes/healthz", "nodes/configz"])],
    "system:node": [  # the Node authorizer's rules; the binding of the same name has no subjects
        *REVIEWS, R(READ, [""], ["services"]), R(["create", "get", "list", "watch"], [""], ["nodes"]),
        R(["update", "patch"], [""], ["nodes/status"]), R(["update", "patch"], [""], ["nodes"]),
        R(["create", "update", "patch"], [""], ["events"]), R(READ, [""], ["pods"]),
        R(["create", "delete"], [""], ["pods"]), R(["update", "patch"], [""], ["pods/status"]),
        R(["create"], [""], ["pods/eviction"]), R(["get"], [""], ["secrets", "configmaps"]),
        R(["get"], [""], ["persistentvolumeclaims", "persistentvolumes"]), R(["get"], [""], ["endpoints"]),
        R(["create", "get", "list", "watch"], [CERTS], ["certificatesigningrequests"]),
        R(["get", "create", "update", "patch", "delete"], [COORD], ["leases"])],
    "system:node-bootstrapper": [R(["create", "get", "list", "watch"], [CERTS], ["certificatesigningrequests"])],
    "system:auth-delegator": REVIEWS,
    "system:certificates.k8s.io:certificatesigningrequests:nodeclient": [
        R(["create"], [CERTS], ["certificatesigningrequests/nodeclient"])],
    "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient": [
        R(["create"], [CERTS], ["certificatesigningrequests/selfnodeclient"])],
    "system:certificates.k8s.io:kubelet-serving-approver": [
        R(["approve"], [CERTS], ["signers"], ["kubernetes.io/kubelet-serving"])],
    "system:certificates.k8s.io:kube-apiserver-client-approver": [
        R(["approve"], [CERTS], ["signers"], ["kubernetes.io/kube-apiserver-client"])],
    "system:certificates.k8s.io:kube-apiserver-client-kubelet-approver": [
        R(["approve"], [CERTS], ["signers"], ["kubernetes.io/kube-apiserver-client-kubelet"])],
    "system:certificates.k8s.io:legacy-unknown-approver": [
        R(["approve"], [CERTS], ["signers"], ["kubernetes.io/legacy-unknown"])],
    # controller_policy.go: the roles --use-service-account-credentials gives each controller
    "system:controller:certificate-controller": [
        R(["delete", "get", "list", "watch"], [CERTS], ["certificatesigningrequests"]),
        R(["update"], [CERTS], ["certificatesigningrequests/status", "certificatesigningrequests/approval"]),
        R(["approve"], [CERTS], ["signers"], ["kubernetes.io/kube-apiserver-client-kubelet"]),
        R(["sign"], [CERTS], ["signers"], ["kubernetes.io/kube-apiserver-client",
                                           "kubernetes.io/kube-apiserver-client-kubelet",
                                           "kubernetes.io/kubelet-serving", "kubernetes.io/legacy-unknown"]),
        R(["create"], [AUTHZ], ["subjectaccessreviews"]), EVENTS],
    "system:controller:deployment-controller": [
        R(["get", "list", "watch", "update"], ["apps", "extensions"], ["deployments"]),
        R(["update"], ["apps", "extensions"], ["deployments/status"]),
        R(["update"], ["apps", "extensions"], ["deployments/finalizers"]),
        R(["create", "delete", "get", "list", "patch", "update", "watch"], ["apps", "extensions"], ["replicasets"]),
        R(["get", "list", "watch", "update"], [""], ["pods"]), EVENTS],
    "system:controller:replicaset-controller": [
        R(["get", "list", "watch", "update"], ["apps", "extensions"], ["replicasets"]),
        R(["update"], ["apps", "extensions"], ["replicasets/status"]),
        R(["update"], ["apps", "extensions"], ["replicasets/finalizers"]),
        R(["list", "watch", "patch", "create", "delete"], [""], ["pods"]), EVENTS],
    "system:controller:service-account-controller": [R(["create"], [""], ["serviceaccounts"]), EVENTS],
    "system:controller:node-controller": [
        R(["get", "list", "update", "delete", "patch"], [""], ["nodes"]),
        R(["patch", "update"], [""], ["nodes/status"]), R(["patch", "update"], [""], ["pods/status"]),
        R(["list", "delete"], [""], ["pods"]), EVENTS],
    "system:controller:generic-garbage-collector": [R(["get", "list", "watch", "patch", "update", "delete"], ["*"],
                                                      ["*"]), EVENTS],
}

BINDINGS = {  # name -> (role, subjects)
    "cluster-admin": ("cluster-admin", [("Group", "system:masters")]),
    "system:discovery": ("system:discovery", [("Group", "system:authenticated")]),
    "system:basic-user": ("system:basic-user", [("Group", "system:authenticated")]),
    "system:public-info-viewer": ("system:public-info-viewer", [("Group", "system:authenticated"),
                                                                ("Group", "system:unauthenticated")]),
    "system:node-proxier": ("system:node-proxier", [("User", "system:kube-proxy")]),
    "system:kube-controller-manager": ("system:kube-controller-manager", [("User", "system:kube-controller-manager")]),
    "system:kube-scheduler": ("system:kube-scheduler", [("User", "system:kube-scheduler")]),
    "system:node": ("system:node", []),
    "system:controller:certificate-controller": ("system:controller:certificate-controller",
                                                 [("ServiceAccount", "kube-system:certificate-controller")]),
    "system:controller:deployment-controller": ("system:controller:deployment-controller",
                                                [("ServiceAccount", "kube-system:deployment-controller")]),
    "system:controller:replicaset-controller": ("system:controller:replicaset-controller",
                                                [("ServiceAccount", "kube-system:replicaset-controller")]),
    "system:controller:service-account-controller": ("system:controller:service-account-controller",
                                                     [("ServiceAccount", "kube-system:service-account-controller")]),
    "system:controller:node-controller": ("system:controller:node-controller",
                                          [("ServiceAccount", "kube-system:node-controller")]),
    "system:controller:generic-garbage-collector": ("system:controller:generic-garbage-collector",
                                                    [("ServiceAccount", "kube-system:generic-garbage-collector")]),
}
META = {"labels": {"kubernetes.io/bootstrapping": "rbac-defaults"},
        "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"}}
GV = "rbac.authorization.k8s.io/v1"


def _subject(kind: str, name: str) -> dict:
    if kind == "ServiceAccount":
        ns, _, sa = name.partition(":")
        return {"kind": kind, "name": sa, "namespace": ns}
    return {"kind": kind, "apiGroup": "rbac.authorization.k8s.io", "name": name}


def cluster_roles() -> list[dict]:
    return [{"kind": "ClusterRole", "apiVersion": GV, "metadata": {"name": name, **META}, "rules": rules}
            for name, rules in CLUSTER_ROLES.items()]


def cluster_role_bindings() -> list[dict]:
    out = []
    for name, (role, subjects) in BINDINGS.items():
        obj = {"kind": "ClusterRoleBinding", "apiVersion": GV, "metadata": {"name": name, **META},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role}}
        if subjects:
            obj["subjects"] = [_subject(k, n) for k, n in subjects]
        out.append(obj)
    return out

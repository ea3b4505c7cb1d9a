"""RBAC's view of the cluster: the ClusterRoles, ClusterRoleBindings, Roles and
RoleBindings in etcd (read through `store`, cached for a second, so several
apiservers agree within that time), and whether they grant a request (`authz`
holds the rule matching)."""
from __future__ import annotations

import threading
import time

from .authz import Attributes, rule_allows, subject_matches

TTL = 1.0


class Rbac:
    def __init__(self, store, resources: dict):
        self.store, self.res = store, resources
        self._lock = threading.Lock()
        self._cache: dict = {}

    def _objects(self, plural: str, namespace: str | None = None) -> list[dict]:
        key = (plural, namespace)
        with self._lock:
            hit = self._cache.get(key)
            if hit and time.monotonic() - hit[0] < TTL:
                return hit[1]
        items = self.store.list(self.res[plural], namespace)[0]
        with self._lock:
            self._cache[key] = (time.monotonic(), items)
        return items

    def _role_rules(self, ref: dict, namespace: str) -> list[dict]:
        kind, name = ref.get("kind"), ref.get("name")
        if kind == "ClusterRole":
            roles = self._objects("clusterroles")
        elif kind == "Role" and namespace:
            roles = self._objects("roles", namespace)
        else:
            return []
        role = next((r for r in roles if r["metadata"]["name"] == name), None)
        return (role or {}).get("rules") or []

    def rules_for(self, user, namespace: str = "") -> list[dict]:
        """Every rule the bindings give user, cluster-wide and in namespace."""
        rules = []
        for b in self._objects("clusterrolebindings"):
            if any(subject_matches(s, user, "") for s in b.get("subjects") or []):
                rules += self._role_rules(b.get("roleRef") or {}, "")
        if namespace:
            for b in self._objects("rolebindings", namespace):
                if any(subject_matches(s, user, namespace) for s in b.get("subjects") or []):
                    rules += self._role_rules(b.get("roleRef") or {}, namespace)
        return rules

    def allows(self, user, a: Attributes) -> bool:
        return any(rule_allows(rule, a) for rule in self.rules_for(user, a.namespace))

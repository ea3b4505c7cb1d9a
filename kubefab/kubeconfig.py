"""The operator's kubeconfig: kubefab's admin credentials under a context name of the
operator's choosing, alone or merged into an existing kubeconfig (as k3sup's
`--merge --context`). Pure: documents in, documents out."""
from __future__ import annotations

import copy


SECTIONS = ("clusters", "users", "contexts")


def named(doc: dict, context: str) -> dict:
    """`doc`'s current context, its cluster and its user, all called `context`."""
    current = _entry(doc, "contexts", doc.get("current-context"))
    cluster = _entry(doc, "clusters", current["context"]["cluster"])
    user = _entry(doc, "users", current["context"]["user"])
    return {"apiVersion": "v1", "kind": "Config",
            "clusters": [{"name": context, "cluster": copy.deepcopy(cluster["cluster"])}],
            "users": [{"name": context, "user": copy.deepcopy(user["user"])}],
            "contexts": [{"name": context, "context": {"cluster": context, "user": context}}],
            "current-context": context}


def merge(existing: dict | None, ours: dict) -> dict:
    """`existing` with `ours` added, replacing entries of the same names, and our context
    made current; everything else in `existing` is kept as it was."""
    out = copy.deepcopy(existing) if existing else {"apiVersion": "v1", "kind": "Config"}
    for section in SECTIONS:
        mine = {e["name"]: e for e in ours.get(section) or []}
        kept = [e for e in out.get(section) or [] if e.get("name") not in mine]
        out[section] = kept + [copy.deepcopy(e) for e in mine.values()]
    out["current-context"] = ours["current-context"]
    return out


def _entry(doc: dict, section: str, name) -> dict:
    for e in doc.get(section) or []:
        if e.get("name") == name:
            return e
    raise ValueError(f"the kubeconfig has no {section[:-1]} named {name!r}")

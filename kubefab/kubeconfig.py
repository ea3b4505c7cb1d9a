"""The operator's kubeconfig: kubefab's admin credentials under a context name of the
operator's choosing, alone or merged into an existing kubeconfig (as k3sup's
`--merge --context`). A merge never silently takes a name another cluster uses
(`conflicts`). Pure: documents in, documents out."""
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


def conflicts(existing: dict | None, ours: dict) -> list[str]:
    """What `merge(existing, ours)` would replace that belongs to another server than
    ours: a cluster of the same name with another server, a context whose cluster has
    another server, a user that a context of another server uses (or, used by none,
    holds other credentials). Empty: the merge only adds, or refreshes our own."""
    if not existing:
        return []
    server = ours["clusters"][0]["cluster"].get("server")
    servers = {e.get("name"): (e.get("cluster") or {}).get("server") for e in existing.get("clusters") or []}
    contexts = {e.get("name"): e.get("context") or {} for e in existing.get("contexts") or []}
    users = {e.get("name"): e.get("user") for e in existing.get("users") or []}
    out = []
    for e in ours["clusters"]:
        if e["name"] in servers and servers[e["name"]] != server:
            out.append(f"cluster {e['name']} (server {servers[e['name']]})")
    for e in ours["contexts"]:
        if e["name"] in contexts and servers.get(contexts[e["name"]].get("cluster")) != server:
            out.append(f"context {e['name']} (server {servers.get(contexts[e['name']].get('cluster'))})")
    for e in ours["users"]:
        if e["name"] not in users:
            continue
        used = {servers.get(c.get("cluster")) for c in contexts.values() if c.get("user") == e["name"]}
        if used - {server}:
            out.append(f"user {e['name']} (used for server {', '.join(sorted(map(str, used - {server})))})")
        elif not used and users[e["name"]] != e["user"]:
            out.append(f"user {e['name']} (other credentials, used by no context)")
    return out


def _entry(doc: dict, section: str, name) -> dict:
    for e in doc.get(section) or []:
        if e.get("name") == name:
            return e
    raise ValueError(f"the kubeconfig has no {section[:-1]} named {name!r}")

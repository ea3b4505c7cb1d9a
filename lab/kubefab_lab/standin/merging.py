"""Strategic merge patch and server-side apply as the apiserver applies them to the
built-in kinds the stand-in serves.

Which lists merge, and by which key, is the Go types' `patchStrategy:"merge"
patchMergeKey:"..."` (k8s.io/api core/v1, apps/v1, meta/v1); every other list is
replaced whole (atomic). Directives kubectl sends in its patches are honoured:
`$patch: replace|delete`, `$retainKeys`, `$deleteFromPrimitiveList/<f>`,
`$setElementOrder/<f>` (order only: ignored, the server keeps its order).

Server-side apply (`application/apply-patch+yaml`), as far as one manager needs:
the applied configuration is merged into the live object (lists by the same keys),
the manager's field set is recorded in metadata.managedFields (fieldsV1, operation
Apply), and a field the manager applied before but not now is removed. No conflicts
between managers are computed (a single manager never has any)."""
from __future__ import annotations

import copy
import json

# field name -> merge key; None: a set of primitives (merged as a union)
KEYED = {"containers": "name", "initContainers": "name", "ephemeralContainers": "name", "env": "name",
         "volumes": "name", "volumeMounts": "mountPath", "volumeDevices": "devicePath", "imagePullSecrets": "name",
         "conditions": "type", "addresses": "type", "ownerReferences": "uid", "hostAliases": "ip",
         "topologySpreadConstraints": "topologyKey", "resourceClaims": "name", "finalizers": None}


def merge_key(path: tuple, ssa: bool = False):
    """(does the list at path merge, its key: a field name, a tuple of them, or None).
    Ports merge by port (containerPort) in a strategic merge patch, and by port and
    protocol in server-side apply (their listMapKeys), so 53/UDP and 53/TCP stay two."""
    name = path[-1] if path else ""
    if name == "ports":
        port = "containerPort" if len(path) > 1 and path[-2] in ("containers", "initContainers") else "port"
        return True, (port, "protocol") if ssa else port
    if name in KEYED:
        return True, KEYED[name]
    return False, None


def strategic_merge_patch(target, patch, path=(), ssa=False):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if patch.get("$patch") == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if not k.startswith("$")}
    if patch.get("$patch") == "delete":
        return None
    result = dict(target) if isinstance(target, dict) else {}
    if isinstance(patch.get("$retainKeys"), list):
        keep = set(patch["$retainKeys"])
        result = {k: v for k, v in result.items() if k in keep}
    for key, value in patch.items():
        if key.startswith("$setElementOrder/") or key in ("$retainKeys", "$patch"):
            continue
        if key.startswith("$deleteFromPrimitiveList/"):
            name = key.split("/", 1)[1]
            result[name] = [x for x in result.get(name) or [] if x not in (value or [])]
            continue
        sub = path + (key,)
        merges, mkey = merge_key(sub, ssa)
        if value is None:
            result.pop(key, None)
        elif isinstance(value, list) and merges and isinstance(result.get(key), list):
            result[key] = _merge_list(result[key], value, mkey, sub, ssa)
        else:
            merged = strategic_merge_patch(result.get(key), value, sub, ssa)
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
    return result


def _clean(item):
    return {a: b for a, b in item.items() if not a.startswith("$")} if isinstance(item, dict) else item


def _key_of(item: dict, key):
    if isinstance(key, tuple):
        return tuple(item.get(k, "TCP" if k == "protocol" else None) for k in key)
    return item.get(key)


def _merge_list(current: list, patch: list, key, path, ssa=False):
    if any(isinstance(x, dict) and x.get("$patch") == "replace" for x in patch):
        return [_clean(x) for x in patch if not (isinstance(x, dict) and "$patch" in x)]
    if key is None:  # primitives: union, in order
        out = list(current)
        out += [x for x in patch if x not in out]
        return out
    out = [copy.deepcopy(x) for x in current]
    for item in patch:
        if not isinstance(item, dict):
            continue
        idx = next((i for i, x in enumerate(out) if isinstance(x, dict) and _key_of(x, key) == _key_of(item, key)),
                   None)
        if item.get("$patch") == "delete":
            if idx is not None:
                out.pop(idx)
        elif idx is None:
            out.append(_clean(item))
        else:
            out[idx] = strategic_merge_patch(out[idx], item, path, ssa)
    return out


# --- server-side apply -----------------------------------------------------------------------


def field_set(obj, path=()) -> dict:
    """The fieldsV1 of an applied object: f:<field>, k:<merge key JSON>, v:<value JSON>."""
    out = {}
    if not isinstance(obj, dict):
        return out
    for key, value in obj.items():
        if not path and key in ("apiVersion", "kind"):
            continue
        if path == ("metadata",) and key in ("name", "namespace"):
            continue
        sub = path + (key,)
        merges, mkey = merge_key(sub, ssa=True)
        if isinstance(value, dict) and value:
            out[f"f:{key}"] = field_set(value, sub)
        elif isinstance(value, list) and merges:
            items = {}
            for item in value:
                if mkey is None:
                    items["v:" + json.dumps(item, separators=(",", ":"))] = {}
                elif isinstance(item, dict):
                    keys = mkey if isinstance(mkey, tuple) else (mkey,)
                    ident = dict(zip(keys, _key_of(item, mkey) if isinstance(mkey, tuple) else (item.get(mkey),)))
                    items["k:" + json.dumps(ident, separators=(",", ":"))] = {".": {}, **field_set(item, sub)}
            out[f"f:{key}"] = items
        else:
            out[f"f:{key}"] = {}
    return out


def _remove(live, gone: dict, now: dict):
    """Remove from live the leaves of `gone` (the manager's old set) missing from `now`."""
    for name, sub in gone.items():
        if name == ".":
            continue
        kind, _, raw = name.partition(":")
        if kind == "f" and isinstance(live, dict) and raw in live:
            if name not in now:
                live.pop(raw)
            elif sub:
                _remove(live[raw], sub, now[name])
        elif kind in ("k", "v") and isinstance(live, list):
            if name not in now:
                want = json.loads(raw)
                live[:] = [x for x in live if not (x == want if kind == "v" else
                                                   isinstance(x, dict) and all(x.get(k) == v for k, v in want.items()))]
            elif kind == "k" and sub:
                want = json.loads(raw)
                for x in live:
                    if isinstance(x, dict) and all(x.get(k) == v for k, v in want.items()):
                        _remove(x, sub, now[name])


def apply(live: dict | None, applied: dict, manager: str, now: str) -> dict:
    """The object after `manager` applies `applied` to `live` (None: not there yet)."""
    applied = copy.deepcopy(applied)
    fields = field_set(applied)
    base = copy.deepcopy(live) if live else {}
    entries = list(((base.get("metadata") or {}).get("managedFields")) or [])
    old = next((e for e in entries if e.get("manager") == manager and e.get("operation") == "Apply"), None)
    if old is not None:
        _remove(base, old.get("fieldsV1") or {}, fields)
    result = strategic_merge_patch(base, applied, ssa=True)
    entry = {"manager": manager, "operation": "Apply", "apiVersion": applied.get("apiVersion", ""),
             "time": now, "fieldsType": "FieldsV1", "fieldsV1": fields}
    if old is not None and old.get("fieldsV1") == fields:
        entry["time"] = old.get("time", now)
    entries = [e for e in entries if e is not old] + [entry]
    result.setdefault("metadata", {})["managedFields"] = entries
    return result

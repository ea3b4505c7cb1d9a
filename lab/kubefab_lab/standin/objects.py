"""Kubernetes API object rules the stand-in apiserver applies: metav1.Status errors,
name and label validation (messages as the real apiserver words them), label and
field selectors, merge / strategic-merge / JSON patches, and the node Table."""
from __future__ import annotations

import copy
import json
import re
import time
from calendar import timegm

# --- Status -------------------------------------------------------------------------


class ApiError(Exception):
    """An error answer: a metav1.Status with code, reason, message and details."""

    def __init__(self, code: int, reason: str, message: str, details: dict | None = None):
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details

    def status(self) -> dict:
        out = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
               "message": self.message, "reason": self.reason}
        if self.details is not None:
            out["details"] = self.details
        out["code"] = self.code
        return out


def not_found(resource: str, name: str) -> ApiError:
    return ApiError(404, "NotFound", f'{resource} "{name}" not found', {"name": name, "kind": resource})


def already_exists(resource: str, name: str) -> ApiError:
    return ApiError(409, "AlreadyExists", f'{resource} "{name}" already exists', {"name": name, "kind": resource})


def conflict(resource: str, name: str) -> ApiError:
    return ApiError(409, "Conflict", f'Operation cannot be fulfilled on {resource} "{name}": the object has been '
                    "modified; please apply your changes to the latest version and try again",
                    {"name": name, "kind": resource})


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


NO_RESOURCE = ApiError(404, "NotFound", "the server could not find the requested resource", {})


def method_not_allowed() -> ApiError:
    return ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource", {})


# --- validation -----------------------------------------------------------------------

DNS1123_SUBDOMAIN = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
QUALIFIED_NAME = r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
LABEL_VALUE = r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?"

SUBDOMAIN_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
                 "and must start and end with an alphanumeric character (e.g. 'example.com', regex used for "
                 f"validation is '{DNS1123_SUBDOMAIN}')")
NAME_PART_MSG = ("name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with "
                 "an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
                 f"validation is '{QUALIFIED_NAME}')")
VALUE_MSG = ("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and "
             "must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', "
             f"regex used for validation is '{LABEL_VALUE}')")


def subdomain_errors(value: str) -> list[str]:
    errs = []
    if len(value) > 253:
        errs.append("must be no more than 253 characters")
    if not re.fullmatch(DNS1123_SUBDOMAIN, value):
        errs.append(SUBDOMAIN_MSG)
    return errs


def qualified_name_errors(key: str) -> list[str]:
    prefix, slash, name = key.rpartition("/")
    errs = []
    if slash:
        if not prefix:
            errs.append("prefix part must be non-empty")
        else:
            errs += ["prefix part " + e for e in subdomain_errors(prefix)]
    if not name:
        errs.append("name part must be non-empty")
    elif len(name) > 63:
        errs.append("name part must be no more than 63 characters")
    if name and not re.fullmatch(QUALIFIED_NAME, name):
        errs.append(NAME_PART_MSG)
    return errs


def label_value_errors(value: str) -> list[str]:
    errs = []
    if len(value) > 63:
        errs.append("must be no more than 63 characters")
    if not re.fullmatch(LABEL_VALUE, value):
        errs.append(VALUE_MSG)
    return errs


PATH_SEGMENT_KINDS = {"ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "CertificateSigningRequest",
                      "APIService"}
DNS1035_LABEL = r"[a-z]([-a-z0-9]*[a-z0-9])?"
DNS1123_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"


def name_errors(kind: str, name: str) -> list[str]:
    """Each kind's name rule (k/k ValidateObjectMeta's nameFn): RBAC, CSRs and
    APIServices take any path segment, Services a DNS-1035 label, Namespaces a DNS-1123
    label, the rest a DNS-1123 subdomain."""
    if kind in PATH_SEGMENT_KINDS:
        if name in (".", ".."):
            return [f'may not be \'{name}\'']
        return [f"may not contain '{c}'" for c in ("/", "%") if c in name]
    if kind == "Service":
        errs = ["must be no more than 63 characters"] if len(name) > 63 else []
        if not re.fullmatch(DNS1035_LABEL, name):
            errs.append("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
                        "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or "
                        f"'abc-123', regex used for validation is '{DNS1035_LABEL}')")
        return errs
    if kind == "Namespace":
        errs = ["must be no more than 63 characters"] if len(name) > 63 else []
        if not re.fullmatch(DNS1123_LABEL, name):
            errs.append("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
                        "must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex "
                        f"used for validation is '{DNS1123_LABEL}')")
        return errs
    return subdomain_errors(name)


def invalid(kind: str, name: str, causes: list[tuple[str, str, str]]) -> ApiError:
    """causes: (field, reason, message-after-'field: ')."""
    parts = [f"{f}: {m}" for f, _, m in causes]
    text = parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"
    return ApiError(422, "Invalid", f'{kind} "{name}" is invalid: {text}',
                    {"name": name, "kind": kind,
                     "causes": [{"reason": r, "message": m, "field": f} for f, r, m in causes]})


def validate_meta(kind: str, obj: dict) -> None:
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        meta = {}
    name = meta.get("name") or ""
    causes = []
    if not name:
        causes.append(("metadata.name", "FieldValueRequired", "Required value: name or generateName is required"))
    elif not isinstance(name, str):
        causes.append(("metadata.name", "FieldValueInvalid", f"Invalid value: {json.dumps(name)}: must be a string"))
    else:
        for e in name_errors(kind, name):
            causes.append(("metadata.name", "FieldValueInvalid", f'Invalid value: "{name}": {e}'))
    for field in ("labels", "annotations"):
        value = meta.get(field)
        if value is not None and not isinstance(value, dict):
            causes.append((f"metadata.{field}", "FieldValueInvalid", "Invalid value: must be a map"))
    for key, value in (meta.get("labels") or {}).items():
        for e in qualified_name_errors(key):
            causes.append(("metadata.labels", "FieldValueInvalid", f'Invalid value: "{key}": {e}'))
        if not isinstance(value, str):
            causes.append(("metadata.labels", "FieldValueInvalid", f"Invalid value: {json.dumps(value)}: must be a string"))
            continue
        for e in label_value_errors(value):
            causes.append(("metadata.labels", "FieldValueInvalid", f'Invalid value: "{value}": {e}'))
    for key in (meta.get("annotations") or {}):
        for e in qualified_name_errors(key):
            causes.append(("metadata.annotations", "FieldValueInvalid", f'Invalid value: "{key}": {e}'))
    if causes:
        raise invalid(kind, name if isinstance(name, str) else "", causes)


META_FIELDS = {"name", "generateName", "namespace", "selfLink", "uid", "resourceVersion", "generation",
               "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "labels", "annotations",
               "ownerReferences", "finalizers", "managedFields", "clusterName"}
TOP_FIELDS = {"apiVersion", "kind", "metadata", "spec", "status"}


def unknown_fields(obj: dict) -> list[str]:
    out = [f for f in obj if f not in TOP_FIELDS]
    meta = obj.get("metadata")
    if isinstance(meta, dict):
        out += [f"metadata.{f}" for f in meta if f not in META_FIELDS]
    return out


# --- selectors --------------------------------------------------------------------------


def parse_label_selector(text: str):
    """-> list of (key, op, values); ops: = != in notin exists !exists."""
    reqs = []
    if not text or not text.strip():
        return reqs
    parts, depth, cur = [], 0, ""
    for c in text:
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        if c == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += c
    parts.append(cur)
    for part in parts:
        p = part.strip()
        m = re.fullmatch(r"(\S+)\s+(in|notin)\s*\(([^)]*)\)", p)
        if m:
            reqs.append((m.group(1), m.group(2), {v.strip() for v in m.group(3).split(",") if v.strip()}))
            continue
        m = re.fullmatch(r"([^=!\s]+)\s*(==|=|!=)\s*([^=!\s]*)", p)
        if m:
            reqs.append((m.group(1), "!=" if m.group(2) == "!=" else "=", {m.group(3)}))
            continue
        m = re.fullmatch(r"(!?)\s*([^=!\s()]+)", p)
        if m:
            reqs.append((m.group(2), "!exists" if m.group(1) else "exists", set()))
            continue
        raise bad_request(f'unable to parse requirement: found \'{p}\', expected: !, identifier, or \'end of string\'')
    for key, _, values in reqs:
        if qualified_name_errors(key):
            raise bad_request(f'unable to parse requirement: invalid label key "{key}": {qualified_name_errors(key)[0]}')
    return reqs


def label_match(reqs, labels: dict) -> bool:
    for key, op, values in reqs:
        has = key in labels
        v = labels.get(key)
        if op == "=" and not (has and v in values):
            return False
        if op == "!=" and has and v in values:
            return False
        if op == "in" and not (has and v in values):
            return False
        if op == "notin" and has and v in values:
            return False
        if op == "exists" and not has:
            return False
        if op == "!exists" and has:
            return False
    return True


def parse_field_selector(text: str, allowed: set[str]):
    reqs = []
    for part in (text or "").split(","):
        p = part.strip()
        if not p:
            continue
        m = re.fullmatch(r"([^=!]+)(==|=|!=)(.*)", p)
        if not m:
            raise bad_request(f"invalid selector: '{text}'; can't understand '{p}'")
        field = m.group(1).strip()
        if field not in allowed:
            raise bad_request(f'"{field}" is not a known field selector: only "{", ".join(sorted(allowed))}"')
        reqs.append((field, m.group(2) != "!=", m.group(3).strip()))
    return reqs


def field_value(obj: dict, path: str) -> str:
    cur = obj
    for part in path.split("."):
        cur = cur.get(part) if isinstance(cur, dict) else None
    if isinstance(cur, bool):
        return "true" if cur else "false"
    return "" if cur is None else str(cur)


def field_match(reqs, obj: dict) -> bool:
    return all((field_value(obj, f) == v) == eq for f, eq, v in reqs)


# --- patches ------------------------------------------------------------------------------


def merge_patch(target, patch):
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise bad_request(f'the server rejected our request due to an error in our request: JSON pointer "{path}" must start with /')
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def json_patch(doc, ops):
    """RFC 6902 JSON patch: add, remove, replace, move, copy, test."""
    doc = copy.deepcopy(doc)
    if not isinstance(ops, list):
        raise bad_request("json: cannot unmarshal object into Go value of type jsonpatch.Patch")

    def parent(parts):
        cur = doc
        for p in parts[:-1]:
            cur = cur[int(p)] if isinstance(cur, list) else cur[p]
        return cur

    def get(parts):
        cur = doc
        for p in parts:
            cur = cur[int(p)] if isinstance(cur, list) else cur[p]
        return cur

    for op in ops:
        kind, parts = op.get("op"), _pointer(op.get("path", ""))
        try:
            if kind in ("add", "replace", "copy", "move"):
                if kind == "copy":
                    value = copy.deepcopy(get(_pointer(op["from"])))
                elif kind == "move":
                    frm = _pointer(op["from"])
                    value = get(frm)
                    p = parent(frm)
                    p.pop(int(frm[-1])) if isinstance(p, list) else p.pop(frm[-1])
                else:
                    value = op["value"]
                if not parts:
                    doc = value
                    continue
                p, last = parent(parts), parts[-1]
                if isinstance(p, list):
                    if kind == "replace":
                        p[int(last)] = value
                    else:
                        p.insert(len(p) if last == "-" else int(last), value)
                else:
                    if kind == "replace" and last not in p:
                        raise KeyError(last)
                    p[last] = value
            elif kind == "remove":
                p = parent(parts)
                p.pop(int(parts[-1])) if isinstance(p, list) else p.pop(parts[-1])
            elif kind == "test":
                if get(parts) != op.get("value"):
                    raise bad_request(f"the server rejected our request due to an error in our request: testing value {op.get('path')} failed")
            else:
                raise bad_request(f"Unexpected kind: {kind}")
        except (KeyError, IndexError, ValueError, TypeError):
            raise ApiError(422, "Invalid", f"the server rejected our request due to an error in our request: "
                           f"doc is missing path: \"{op.get('path')}\"") from None
    return doc


# --- the node Table (what `kubectl get nodes` prints) -----------------------------------


def parse_time(stamp: str) -> float | None:
    try:
        return timegm(time.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ"))
    except (TypeError, ValueError):
        return None


def human_duration(seconds: float) -> str:
    """apimachinery's duration.HumanDuration."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        return f"{minutes}m" if s % 60 == 0 else f"{minutes}m{s % 60}s"
    if minutes < 180:
        return f"{minutes}m"
    hours = s // 3600
    if hours < 8:
        return f"{hours}h" if minutes % 60 == 0 else f"{hours}h{minutes % 60}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d" if hours % 24 == 0 else f"{hours // 24}d{hours % 24}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        dy = (hours // 24) % 365
        return f"{hours // 24 // 365}y" if dy == 0 else f"{hours // 24 // 365}y{dy}d"
    return f"{hours // 24 // 365}y"


def node_status_text(node: dict) -> str:
    """The STATUS column: Ready / NotReady / Unknown, plus SchedulingDisabled."""
    conditions = (node.get("status") or {}).get("conditions") or []
    ready = next((c for c in conditions if c.get("type") == "Ready"), None)
    if ready is None:
        text = "Unknown"
    else:
        text = "Ready" if ready.get("status") == "True" else "NotReady"
    if (node.get("spec") or {}).get("unschedulable"):
        text += ",SchedulingDisabled"
    return text


def node_roles(node: dict) -> str:
    roles = set()
    for key, value in ((node.get("metadata") or {}).get("labels") or {}).items():
        if key.startswith("node-role.kubernetes.io/"):
            roles.add(key.split("/", 1)[1])
        elif key == "kubernetes.io/role" and value:
            roles.add(value)
    return ",".join(sorted(r for r in roles if r)) or "<none>"


NODE_COLUMNS = [
    ("Name", "string", "name", 0, "Name must be unique within a namespace."),
    ("Status", "string", "", 0, "The status of the node"),
    ("Roles", "string", "", 0, "The roles of the node"),
    ("Age", "string", "", 0, "CreationTimestamp is a timestamp representing the server time when this object was created."),
    ("Version", "string", "", 0, "Kubelet Version reported by the node."),
    ("Internal-IP", "string", "", 1, "List of internal IPs (if available)."),
    ("External-IP", "string", "", 1, "List of external IPs (if available)."),
    ("OS-Image", "string", "", 1, "OS image reported by the node."),
    ("Kernel-Version", "string", "", 1, "Kernel version reported by the node."),
    ("Container-Runtime", "string", "", 1, "Container runtime and version reported by the node."),
]


def node_row(node: dict, now: float) -> list:
    meta, status = node.get("metadata") or {}, node.get("status") or {}
    info = status.get("nodeInfo") or {}
    created = parse_time(meta.get("creationTimestamp", ""))
    addresses = status.get("addresses") or []

    def addr(kind):
        return next((a.get("address") for a in addresses if a.get("type") == kind), None) or "<none>"

    return [meta.get("name", ""), node_status_text(node), node_roles(node),
            human_duration(now - created) if created is not None else "<unknown>",
            info.get("kubeletVersion", ""), addr("InternalIP"), addr("ExternalIP"),
            info.get("osImage") or "<unknown>", info.get("kernelVersion") or "<unknown>",
            info.get("containerRuntimeVersion") or "<unknown>"]


NAMESPACE_COLUMNS = [
    ("Name", "string", "name", 0, "Name must be unique within a namespace."),
    ("Status", "string", "", 0, "The status of the namespace"),
    ("Age", "string", "", 0, "CreationTimestamp is a timestamp representing the server time when this object was created."),
]


def namespace_row(ns: dict, now: float) -> list:
    created = parse_time(ns["metadata"].get("creationTimestamp", ""))
    return [ns["metadata"]["name"], ns.get("status", {}).get("phase", ""),
            human_duration(now - created) if created is not None else "<unknown>"]


def table(columns, items: list[dict], row, list_rv: str, table_version: str, include: str) -> dict:
    now = time.time()
    rows = []
    for obj in items:
        r = {"cells": row(obj, now)}
        if include == "Object":
            r["object"] = obj
        elif include != "None":
            r["object"] = {"kind": "PartialObjectMetadata", "apiVersion": f"meta.k8s.io/{table_version}",
                           "metadata": obj.get("metadata", {})}
        rows.append(r)
    return {"kind": "Table", "apiVersion": f"meta.k8s.io/{table_version}",
            "metadata": {"resourceVersion": list_rv},
            "columnDefinitions": [{"name": n, "type": t, "format": f, "description": d, "priority": p}
                                  for n, t, f, p, d in columns],
            "rows": rows}

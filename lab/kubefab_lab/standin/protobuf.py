"""Just enough of the Kubernetes protobuf encoding to read what today's kubectl sends
as protobuf: `kubectl auth can-i` POSTs its SelfSubjectAccessReview as
application/vnd.kubernetes.protobuf (and accepts JSON back). The envelope is "k8s\\0"
plus a runtime.Unknown (typeMeta = 1, raw = 2); field numbers from
k8s.io/api/authorization/v1/generated.proto."""
from __future__ import annotations

MAGIC = b"k8s\x00"
RESOURCE_ATTRIBUTES = {1: "namespace", 2: "verb", 3: "group", 4: "version", 5: "resource", 6: "subresource",
                       7: "name"}
NON_RESOURCE_ATTRIBUTES = {1: "path", 2: "verb"}


def _varint(data: bytes, i: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        b = data[i]
        i += 1
        value |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return value, i


def fields(data: bytes) -> dict[int, bytes]:
    """field number -> its bytes (length-delimited fields only; the last one wins)."""
    out, i = {}, 0
    while i < len(data):
        key, i = _varint(data, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            _, i = _varint(data, i)
        elif wire == 2:
            size, i = _varint(data, i)
            out[number] = data[i:i + size]
            i += size
        elif wire in (1, 5):
            i += 8 if wire == 1 else 4
        else:
            raise ValueError(f"protobuf wire type {wire} not supported")
    return out


def _strings(data: bytes | None, names: dict[int, str]) -> dict | None:
    if data is None:
        return None
    f = fields(data)
    return {name: f[n].decode() for n, name in names.items() if n in f}


def self_subject_access_review(body: bytes) -> dict:
    """The SelfSubjectAccessReview in a protobuf request body, as its JSON form."""
    if not body.startswith(MAGIC):
        raise ValueError("no protobuf envelope (k8s\\0)")
    envelope = fields(body[len(MAGIC):])
    spec = fields(fields(envelope.get(2, b"")).get(2, b""))
    out = {}
    res = _strings(spec.get(1), RESOURCE_ATTRIBUTES)
    nonres = _strings(spec.get(2), NON_RESOURCE_ATTRIBUTES)
    if res is not None:
        out["resourceAttributes"] = res
    if nonres is not None:
        out["nonResourceAttributes"] = nonres
    return {"kind": "SelfSubjectAccessReview", "apiVersion": "authorization.k8s.io/v1", "spec": out}


# --- objects by schema: what kubectl's typed commands PUT as protobuf -------------------------

def parse(data: bytes) -> list[tuple[int, int, object]]:
    """Every field in order: (number, wire type, int or bytes)."""
    out, i = [], 0
    while i < len(data):
        key, i = _varint(data, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(data, i)
        elif wire == 2:
            size, i = _varint(data, i)
            value, i = data[i:i + size], i + size
        elif wire in (1, 5):
            n = 8 if wire == 1 else 4
            value, i = int.from_bytes(data[i:i + n], "little"), i + n
        else:
            raise ValueError(f"protobuf wire type {wire} not supported")
        out.append((number, wire, value))
    return out


TIME = {1: ("seconds", "int", None, False), 2: ("nanos", "int", None, False)}
OWNER = {1: ("kind", "str", None, False), 3: ("name", "str", None, False), 4: ("uid", "str", None, False),
         5: ("apiVersion", "str", None, False), 6: ("controller", "bool", None, False),
         7: ("blockOwnerDeletion", "bool", None, False)}
META = {1: ("name", "str", None, False), 2: ("generateName", "str", None, False), 3: ("namespace", "str", None, False),
        5: ("uid", "str", None, False), 6: ("resourceVersion", "str", None, False), 7: ("generation", "int", None, False),
        8: ("creationTimestamp", "time", TIME, False), 11: ("labels", "map", None, False),
        12: ("annotations", "map", None, False), 13: ("ownerReferences", "msg", OWNER, True),
        14: ("finalizers", "str", None, True)}
CSR_CONDITION = {1: ("type", "str", None, False), 6: ("status", "str", None, False), 2: ("reason", "str", None, False),
                 3: ("message", "str", None, False), 4: ("lastUpdateTime", "time", TIME, False),
                 5: ("lastTransitionTime", "time", TIME, False)}
CSR_SPEC = {1: ("request", "bytes", None, False), 7: ("signerName", "str", None, False),
            8: ("expirationSeconds", "int", None, False), 5: ("usages", "str", None, True),
            2: ("username", "str", None, False), 3: ("uid", "str", None, False), 4: ("groups", "str", None, True)}
CSR_STATUS = {1: ("conditions", "msg", CSR_CONDITION, True), 2: ("certificate", "bytes", None, False)}
SCHEMAS = {("certificates.k8s.io/v1", "CertificateSigningRequest"): {
    1: ("metadata", "msg", META, False), 2: ("spec", "msg", CSR_SPEC, False), 3: ("status", "msg", CSR_STATUS, False)}}


def _decode(data: bytes, schema: dict) -> dict:
    import base64
    import time

    out = {}
    for number, _, value in parse(data):
        if number not in schema:
            continue
        name, kind, sub, repeated = schema[number]
        if kind == "str":
            v = value.decode()
        elif kind == "bytes":
            v = base64.b64encode(value).decode()
        elif kind in ("int", "bool"):
            v = bool(value) if kind == "bool" else value
        elif kind == "time":
            t = _decode(value, TIME)
            v = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t.get("seconds", 0)))
        elif kind == "map":
            entry = {n: x for n, _, x in parse(value)}
            out.setdefault(name, {})[entry.get(1, b"").decode()] = entry.get(2, b"").decode()
            continue
        else:
            v = _decode(value, sub)
        if repeated:
            out.setdefault(name, []).append(v)
        else:
            out[name] = v
    return out


def decode_object(body: bytes) -> dict | None:
    """The JSON form of a protobuf-encoded object of a kind in SCHEMAS; None for others."""
    if not body.startswith(MAGIC):
        raise ValueError("no protobuf envelope (k8s\\0)")
    envelope = fields(body[len(MAGIC):])
    type_meta = fields(envelope.get(1, b""))
    api_version, kind = type_meta.get(1, b"").decode(), type_meta.get(2, b"").decode()
    schema = SCHEMAS.get((api_version, kind))
    if schema is None:
        return None
    return {"apiVersion": api_version, "kind": kind, **_decode(envelope.get(2, b""), schema)}

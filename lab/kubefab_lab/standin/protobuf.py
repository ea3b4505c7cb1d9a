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

"""The add-ons as kubefab last found them as wanted, so that a no-op deploy needs no
`kubectl diff` on the master (a dry-run apply of every object: 0.7 s of every run).

The master's probe lists every add-on's live objects (a curl a kind, while its other
questions run). An add-on's digest is its manifest with, per object of it, the live
object's uid and the live values of the fields the manifest sets (what the server adds,
its status, annotations controllers write, are left out: server-side apply leaves them
be too). A digest kubefab saw just after applying, or when `kubectl diff` found nothing
to change, is kept in the user's cache (kubefab.usercache); the same digest again means
the same live fields under the same manifest: nothing to compare. Any write to a field
kubefab sets (an edit, a scale, a deletion: the uid), or another manifest, gives another
digest, and the diff runs as before. Pure but for the cache file."""
from __future__ import annotations

import hashlib
import json
import os

import yaml

from kubefab import usercache

Key = tuple[str, str, str]  # kind, namespace ("" when cluster-wide), name


def key(obj: dict) -> Key:
    meta = obj.get("metadata") or {}
    return obj.get("kind", ""), meta.get("namespace") or "", meta.get("name", "")


def live(answer: str | None) -> list[dict] | None:
    """The probe's `kubectl get -o json` (a List), or None when it did not answer."""
    if not answer:
        return None
    try:
        items = json.loads(answer).get("items")
    except (ValueError, AttributeError):
        return None
    return items if isinstance(items, list) else None


def applied(answer: str) -> list[dict] | None:
    """`kubectl apply -o json`'s answer as a list of objects (a List when it applied
    several, the object itself when one), or None when it is not that."""
    try:
        found = json.loads(answer)
    except ValueError:
        return None
    if not isinstance(found, dict):
        return None
    items = found.get("items") if found.get("kind") == "List" else [found]
    return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else None


def listed(answers: dict[str, str], kinds: dict[str, str]) -> list[dict] | None:
    """The probe's lists (URL -> the API's answer) as one list of objects, each with its
    kind (`kinds`: URL -> kind; a list's items do not say it), or None when a list did
    not answer (a refusal, a Status) or is missing."""
    items = []
    for url, kind in kinds.items():
        found = live(answers.get(url))
        if found is None:
            return None
        items += [{**i, "kind": kind} for i in found if isinstance(i, dict)]
    return items


def project(found, wanted):
    """`found` as far as `wanted` goes: a mapping's keys that `wanted` has, a list's items
    by position (extra items kept whole), anything else as found."""
    if isinstance(wanted, dict):
        return {k: project(found.get(k), w) for k, w in wanted.items()} if isinstance(found, dict) else found
    if isinstance(wanted, list) and isinstance(found, list):
        return [project(f, w) for f, w in zip(found, wanted)] + found[len(wanted):]
    return found


def docs(manifest: str) -> list[dict]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return [d for d in yaml.load_all(manifest, Loader=loader) if d]


def digest(addon, items: list[dict]) -> str | None:
    """The add-on's digest from the live objects (`items`, every add-on's), or None when
    one of its objects is missing."""
    label, _, value = addon.selector.partition("=")
    mine = {key(i): i for i in items if ((i.get("metadata") or {}).get("labels") or {}).get(label) == value}
    parts = []
    for doc in docs(addon.manifest):
        found = mine.pop(key(doc), None)
        if found is None:
            return None
        fields = {k: v for k, v in doc.items() if k not in ("apiVersion", "kind")}  # in key(); a list's items lack them
        parts.append([list(key(doc)), found["metadata"].get("uid"), project(found, fields)])
    parts.append(sorted(mine))  # its objects the manifest no longer has
    text = json.dumps([addon.manifest, parts], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _file(inv):
    folder = usercache.folder("addons")
    if folder is None:
        return None
    name = hashlib.sha256(f"{inv.path.resolve()}\n{inv.cluster}".encode()).hexdigest()[:24]
    return folder / f"{name}.json"


def seen(inv) -> dict[str, str]:
    """add-on name -> the digest last found as wanted (none: {})."""
    path = _file(inv)
    try:
        kept = json.loads(path.read_text()) if path else {}
    except (OSError, ValueError):
        return {}
    return kept if isinstance(kept, dict) else {}


def remember(inv, digests: dict[str, str | None]) -> None:
    """Keep these digests (None: forget that add-on's); a cache that cannot be written is
    no cache."""
    path = _file(inv)
    if path is None:
        return
    before = seen(inv)
    kept = {name: d for name, d in {**before, **digests}.items() if d}
    if kept == before:
        return
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    try:
        tmp.write_text(json.dumps(kept, sort_keys=True))
        tmp.replace(path)  # whole or not at all, whoever else writes it
    except OSError:
        tmp.unlink(missing_ok=True)

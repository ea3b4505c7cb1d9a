"""A little YAML: block maps, block lists, scalars, flow [] / {} (kubeconfigs,
KubeletConfiguration files, YAML request bodies)."""
from __future__ import annotations

import json
import re


class YAMLError(ValueError):
    pass


def load_yaml(text: str):
    """Enough YAML for kubeconfigs and KubeletConfiguration files (JSON passes too).
    Not a general parser: anchors, multi-line scalars and tags are not supported."""
    if text.lstrip().startswith("{"):
        return json.loads(text)
    lines = []
    for raw in text.splitlines():
        if raw.strip() in ("---", "...") and not raw.startswith(" "):
            if lines:
                break
            continue
        stripped = _strip_comment(raw).rstrip()
        if stripped.strip():
            lines.append((len(stripped) - len(stripped.lstrip(" ")), stripped.strip()))
    if not lines:
        return None
    value, pos = _block(lines, 0, lines[0][0])
    if pos != len(lines):
        raise YAMLError(f"cannot parse line: {lines[pos][1]!r}")
    return value


def _strip_comment(line: str) -> str:
    quote = None
    for i, c in enumerate(line):
        if quote:
            if c == quote:
                quote = None
        elif c in "'\"":
            quote = c
        elif c == "#" and (i == 0 or line[i - 1] in " \t"):
            return line[:i]
    return line


def _block(lines, pos, indent):
    if lines[pos][1].startswith("- ") or lines[pos][1] == "-":
        return _seq(lines, pos, indent)
    return _map(lines, pos, indent)


def _seq(lines, pos, indent):
    out = []
    while pos < len(lines) and lines[pos][0] == indent and (lines[pos][1].startswith("- ") or lines[pos][1] == "-"):
        rest = lines[pos][1][1:].strip()
        if not rest:
            pos += 1
            if pos < len(lines) and lines[pos][0] > indent:
                value, pos = _block(lines, pos, lines[pos][0])
            else:
                value = None
            out.append(value)
            continue
        if _key_value(rest):
            # "- key: value" opens a map whose keys sit at the column after "- "
            inner = indent + (len(lines[pos][1]) - len(rest))
            lines[pos] = (inner, rest)
            value, pos = _map(lines, pos, inner)
            out.append(value)
        else:
            out.append(_scalar(rest))
            pos += 1
    return out, pos


def _key_value(text):
    m = re.match(r'^("(?:[^"\\]|\\.)*"|\'[^\']*\'|[^\s:\'"][^:]*?)\s*:(?:\s+(.*)|$)', text)
    if not m:
        return None
    return _scalar(m.group(1)), (m.group(2) or "").strip()


def _map(lines, pos, indent):
    out = {}
    while pos < len(lines) and lines[pos][0] == indent:
        kv = _key_value(lines[pos][1])
        if kv is None:
            raise YAMLError(f"expected 'key: value': {lines[pos][1]!r}")
        key, rest = kv
        pos += 1
        if rest:
            out[str(key)] = _scalar(rest)
        elif pos < len(lines) and (lines[pos][0] > indent or
                                   (lines[pos][0] == indent and lines[pos][1].startswith("- "))):
            out[str(key)], pos = _block(lines, pos, lines[pos][0])
        else:
            out[str(key)] = None
    return out, pos


def _scalar(text: str):
    text = text.strip()
    if text.startswith('"'):
        return json.loads(text)
    if text.startswith("'"):
        return text[1:-1].replace("''", "'")
    if text.startswith("[") and text.endswith("]"):
        inner = text[1:-1].strip()
        return [_scalar(x) for x in _split_flow(inner)] if inner else []
    if text.startswith("{") and text.endswith("}"):
        inner = text[1:-1].strip()
        out = {}
        for item in _split_flow(inner) if inner else []:
            k, _, v = item.partition(":")
            out[str(_scalar(k))] = _scalar(v) if v.strip() else None
        return out
    if text in ("null", "~", "Null", "NULL"):
        return None
    if text in ("true", "True", "TRUE"):
        return True
    if text in ("false", "False", "FALSE"):
        return False
    if re.fullmatch(r"[-+]?\d+", text):
        return int(text)
    if re.fullmatch(r"[-+]?(\d+\.\d*|\.\d+)([eE][-+]?\d+)?", text):
        return float(text)
    return text


def _split_flow(text: str) -> list[str]:
    parts, depth, quote, cur = [], 0, None, ""
    for c in text:
        if quote:
            cur += c
            if c == quote:
                quote = None
            continue
        if c in "'\"":
            quote = c
        elif c in "[{":
            depth += 1
        elif c in "]}":
            depth -= 1
        elif c == "," and depth == 0:
            parts.append(cur.strip())
            cur = ""
            continue
        cur += c
    if cur.strip():
        parts.append(cur.strip())
    return parts

"""Rendered files as a CoreOS #cloud-config document, laid out like the original setup:
`write_files` for plain files, `coreos.units` for systemd units. Pure: files in, YAML out."""
from __future__ import annotations

import posixpath
from collections.abc import Iterable

import yaml


class _Dumper(yaml.SafeDumper):
    """Multi-line strings as literal blocks (`|`), so units read as they do on disk."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def dump(files: Iterable, unit_dir: str, *, units: tuple[str, ...]) -> str:
    """`files` (render.File) as #cloud-config: files under `unit_dir` become units,
    enabled, in the order of `units`, whose first (the target) also gets `command: start`."""
    write_files, unit_entries = [], []
    for f in files:
        if posixpath.dirname(f.path) == unit_dir.rstrip("/"):
            name = posixpath.basename(f.path)
            unit = {"name": name, "enable": True}
            if name == units[0]:
                unit["command"] = "start"
            unit_entries.append({**unit, "content": f.content})
        else:
            write_files.append({"path": f.path, "permissions": f"{f.mode:04o}",
                                "owner": f"{f.owner}:{f.group}", "content": f.content})
    rank = {name: i for i, name in enumerate(units)}
    unit_entries.sort(key=lambda u: (rank.get(u["name"], len(rank)), u["name"]))
    doc = {"write_files": write_files, "coreos": {"units": unit_entries}}
    body = yaml.dump(doc, Dumper=_Dumper, sort_keys=False, default_flow_style=False,
                     allow_unicode=True, width=1000)
    return "#cloud-config\n\n" + body

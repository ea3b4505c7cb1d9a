"""Located reads of a composed YAML document: every problem names file, line and key.

`read(file, text)` composes the YAML (nodes keep their line numbers; nothing is
constructed yet) and returns the top-level `Section`. A section reads its keys through
converters (`kubefab.validate`) and turns their `Invalid` into an `InventoryError`:
`file:line: dotted.key: what is wrong; how to fix`. Duplicate keys are caught here,
before PyYAML would silently keep the last one.
"""
from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Any, NoReturn

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from kubefab.validate import Invalid, describe

REQUIRED = object()
NULL_TAG = "tag:yaml.org,2002:null"
MERGE_TAG = "tag:yaml.org,2002:merge"


class InventoryError(Exception):
    """A bad inventory, in one or two lines: `file:line: key: problem; fix`."""


def located(file: str, line: int | None, key: str, problem: str) -> InventoryError:
    where = f"{file}:{line}" if line else file
    return InventoryError(": ".join(part for part in (where, key, problem) if part))


def read(file: str, text: str) -> Section:
    try:
        loader = yaml.SafeLoader(text)
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark
        where = f"{file}:{mark.line + 1}:{mark.column + 1}" if mark else file
        problem = e.problem or ""
        if e.context and problem.startswith("but "):  # "expected a single document, but found another"
            problem = f"{e.context}, {problem}"
        elif e.context and e.context_mark:
            problem += f" ({e.context} at line {e.context_mark.line + 1})"
        tabs = "; indent with spaces, not tabs" if "'\\t'" in problem else ""
        raise InventoryError(f"{where}: invalid YAML: {problem}{tabs}") from None
    except yaml.reader.ReaderError as e:  # a control character
        line = text.count("\n", 0, e.position) + 1
        raise located(file, line, "", f"invalid YAML: {e.reason} (#x{e.character:04x}); remove it") from None
    if node is None:
        raise located(file, None, "", "the file is empty; `kubefab init` writes a starter inventory")
    if not isinstance(node, MappingNode):
        raise located(file, _line(node), "", "expected a mapping (kubernetes:, hosts:, ...) at the top "
                      f"level, got {_kind(node)}")
    return Section(file, loader, "", node, None)


def _line(node: Node) -> int:
    return node.start_mark.line + 1


def _kind(node: Node) -> str:
    return {MappingNode: "a mapping", SequenceNode: "a list"}.get(type(node), "a single value")


def _is_null(node: Node | None) -> bool:
    return isinstance(node, ScalarNode) and node.tag == NULL_TAG


class ListOf:
    """Converter marker: a YAML list whose items are each read with `item`."""

    def __init__(self, item: Callable[[Any], Any], nonempty: bool = False):
        self.item, self.nonempty = item, nonempty

    def check(self, value: Any) -> list[Node]:
        if not isinstance(value, list):
            raise Invalid(f"expected a list (one '- item' per line), got {describe(value)}")
        if self.nonempty and not value:
            raise Invalid("expected at least one item")
        return value


class Section:
    """A YAML mapping with its file, dotted key and line. A key set to null reads as
    absent, so its default applies."""

    def __init__(self, file: str, loader: yaml.SafeLoader, key: str, node: Node | None, line: int | None):
        self.file, self.loader, self.key, self.line = file, loader, key, line
        self.entries: dict[str, tuple[int, Node]] = {}  # key -> (line of the key, value node)
        if node is None:
            return
        if not isinstance(node, MappingNode):
            self._fail(_line(node), key, f"expected a mapping (key: value), got {_kind(node)}")
        for key_node, value_node in node.value:
            name, line = self._key_name(key_node), _line(key_node)
            if name in self.entries:
                self._fail(line, key, f"duplicate key '{name}' (first at line {self.entries[name][0]}); "
                           "YAML would keep only the last one: remove or rename one")
            self.entries[name] = (line, value_node)

    def _key_name(self, node: Node) -> str:
        if node.tag == MERGE_TAG:
            self._fail(_line(node), self.key, "YAML merge keys (<<) are not supported; write the keys out")
        name = self._value(node, self.key)
        if not isinstance(name, str):
            quote = f"; quote it: '{node.value}'" if isinstance(node, ScalarNode) else ""
            self._fail(_line(node), self.key, f"keys must be strings, got {describe(name)}{quote}")
        return name

    def _fail(self, line: int | None, key: str, problem: str) -> NoReturn:
        raise located(self.file, line, key, problem)

    def _dotted(self, key: str) -> str:
        return f"{self.key}.{key}" if self.key else key

    def _value(self, node: Node, key: str) -> Any:
        """A scalar's Python value; a list of item nodes; a mapping of nodes."""
        if isinstance(node, SequenceNode):
            return list(node.value)
        if isinstance(node, MappingNode):
            return dict(node.value)
        try:
            return self.loader.construct_object(node)
        except (yaml.constructor.ConstructorError, ValueError) as e:
            self._fail(_line(node), key, f"cannot read this value ({getattr(e, 'problem', None) or e})")

    def _convert(self, key: str, node: Node, convert: Callable[[Any], Any]) -> Any:
        value = self._value(node, key)
        try:
            if isinstance(convert, ListOf):
                return tuple(self._convert(f"{key}[{i}]", item, convert.item)
                             for i, item in enumerate(convert.check(value)))
            return convert(value)
        except Invalid as e:
            quote = f"; quote it: '{node.value}'" if e.quote and isinstance(node, ScalarNode) else ""
            self._fail(_line(node), key, f"{e}{quote}")

    def __contains__(self, key: str) -> bool:
        return key in self.entries and not _is_null(self.entries[key][1])

    def key_line(self, key: str) -> int:
        return self.entries[key][0]

    def fail(self, problem: str, key: str | None = None) -> NoReturn:
        """Raise for `key` at the line of its value, or for the section itself."""
        if key in self.entries:
            self._fail(_line(self.entries[key][1]), self._dotted(key), problem)
        self._fail(self.line, self._dotted(key) if key else self.key, problem)

    def allow(self, known: tuple[str, ...]) -> None:
        """Refuse keys not in `known`, suggesting the closest one."""
        for name, (line, _) in self.entries.items():
            if name not in known:
                close = difflib.get_close_matches(name, known, n=1)
                fix = f"did you mean '{close[0]}'?" if close else f"known keys here: {', '.join(known)}"
                self._fail(line, self._dotted(name), f"unknown key; {fix}")

    def names(self, convert: Callable[[Any], str]) -> list[str]:
        """Every key, each checked by `convert` (host names, label keys)."""
        for name, (line, _) in self.entries.items():
            try:
                convert(name)
            except Invalid as e:
                self._fail(line, self.key, str(e))
        return list(self.entries)

    def value(self, key: str, convert: Callable[[Any], Any]) -> Any:
        """The value of a key that is there, null included (label values)."""
        return self._convert(self._dotted(key), self.entries[key][1], convert)

    def get(self, key: str, convert: Callable[[Any], Any], default: Any = REQUIRED) -> Any:
        if key in self:
            return self.value(key, convert)
        if default is REQUIRED:
            self._missing(key)
        return default

    def _missing(self, key: str) -> NoReturn:
        if key in self.entries:
            self.fail(f"is empty; give '{key}' a value", key)
        where = f"under '{self.key}:'" if self.key else "at the top level"
        self.fail(f"required key missing; add '{key}:' {where}", key)

    def optional(self, **converters: Callable[[Any], Any]) -> dict[str, Any]:
        """The given keys that are set, converted: keyword arguments for a model class,
        whose own defaults apply to the others."""
        return {key: self.value(key, convert) for key, convert in converters.items() if key in self}

    def section(self, key: str, required: bool = False) -> Section:
        if required and key not in self:
            self._missing(key)
        line, node = self.entries.get(key, (self.line, None))
        return Section(self.file, self.loader, self._dotted(key), None if _is_null(node) else node, line)

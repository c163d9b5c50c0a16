"""What changed between two versions of an event schema, field by field.

Each change is one of ``added``, ``removed``, ``type-changed`` or
``required-changed`` and is *compatible* when every event valid against the
old schema stays valid against the new one (Wikimedia's schema evolution rule)
and code reading the old fields keeps working:

=====================================  ===========
change                                 compatible?
=====================================  ===========
optional field added                   yes
required field added                   no
field removed                          no
type changed (``integer`` -> ``string``)  no
enum values added / removed            yes / no
required -> optional                   no (a reader may now get None)
optional -> required                   no (old events may lack it)
bound loosened / tightened             yes / no (``maxLength``, ``minimum``, ``maxItems``, ...)
``pattern`` / ``multipleOf`` changed   no (removed: yes)
``additionalProperties: false`` added  no (removed: yes)
=====================================  ===========

Nested objects are compared recursively (``page.page_title``); array items and
map values appear as ``groups[]`` and ``content_slots{}``.

    >>> old = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}
    >>> new = {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "boolean"}},
    ...        "required": ["a"]}
    >>> print(diff_schemas(old, new).render())
      ~ a: type integer -> string  BREAKING
      + b: boolean, optional  compatible
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from evgen.codegen import clean_schema
from evgen.schemas import canonical_json

__all__ = ["FieldChange", "SchemaDiff", "diff_schemas"]


@dataclass(frozen=True)
class FieldChange:
    """One field-level change."""

    path: str
    kind: str  #: "added" | "removed" | "type-changed" | "required-changed" | "constraint-changed"
    old: str | None
    new: str | None
    compatible: bool

    def render(self) -> str:
        verdict = "compatible" if self.compatible else "BREAKING"
        if self.kind == "added":
            return f"  + {self.path}: {self.new}  {verdict}"
        if self.kind == "removed":
            return f"  - {self.path}: {self.old}  {verdict}"
        what = "type " if self.kind == "type-changed" else ""
        return f"  ~ {self.path or '(event)'}: {what}{self.old} -> {self.new}  {verdict}"


@dataclass(frozen=True)
class SchemaDiff:
    """All changes from ``old_uri`` to ``new_uri``."""

    old_uri: str
    new_uri: str
    changes: tuple[FieldChange, ...]

    @property
    def breaking(self) -> bool:
        """True when any change is breaking."""
        return any(not c.compatible for c in self.changes)

    def render(self) -> str:
        """One line per change (empty string when nothing changed)."""
        return "\n".join(c.render() for c in self.changes)


def diff_schemas(old: Mapping[str, Any], new: Mapping[str, Any], *, old_uri: str = "", new_uri: str = "") -> SchemaDiff:
    """Field-level differences between two resolved schemas."""
    changes: list[FieldChange] = []
    _compare(clean_schema(old), clean_schema(new), "", changes)
    return SchemaDiff(old_uri, new_uri, tuple(changes))


def _kind(node: Any) -> str:
    """A short type description: ``string``, ``date-time``, ``object``, ``array<…>``, ``enum[a, b]``."""
    if not isinstance(node, Mapping):
        return "any" if node is True else "nothing"
    if "enum" in node:
        return "enum[" + ", ".join(canonical_json(v) for v in node["enum"]) + "]"
    if "const" in node:
        return f"const {canonical_json(node['const'])}"
    for key in ("anyOf", "oneOf"):
        if key in node:
            return f"{key}[" + ", ".join(_kind(s) for s in node[key]) + "]"
    if node.get("x-python-type"):
        base = "date-time"
    else:
        kind = node.get("type", "any")
        base = " | ".join(sorted(kind)) if isinstance(kind, list) else str(kind)
    if base == "array":
        items = node.get("items")
        return f"array<{_kind(items) if isinstance(items, Mapping) else 'any'}>"
    if base == "object" and isinstance(node.get("additionalProperties"), Mapping) and not node.get("properties"):
        return f"map<string, {_kind(node['additionalProperties'])}>"
    return base


def _compare(old: Any, new: Any, path: str, changes: list[FieldChange]) -> None:
    old_kind, new_kind = _kind(old), _kind(new)
    if old_kind.startswith("enum[") and new_kind.startswith("enum["):
        old_values = {canonical_json(v) for v in old["enum"]}
        new_values = {canonical_json(v) for v in new["enum"]}
        if old_values != new_values:
            changes.append(FieldChange(path, "type-changed", old_kind, new_kind, old_values <= new_values))
        return
    if old_kind != new_kind and not (old_kind.startswith("array<") and new_kind.startswith("array<")) and not (
        old_kind.startswith("map<") and new_kind.startswith("map<")
    ):
        changes.append(FieldChange(path, "type-changed", old_kind, new_kind, False))
        return
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        _compare_constraints(old, new, path, changes)
    if old_kind.startswith("array<"):
        _compare(old.get("items", True), new.get("items", True), f"{path}[]", changes)
        return
    if old_kind.startswith("map<"):
        _compare(old["additionalProperties"], new["additionalProperties"], f"{path}{{}}", changes)
        return
    if not (isinstance(old, Mapping) and isinstance(new, Mapping)):
        return
    old_props: Mapping[str, Any] = old.get("properties") or {}
    new_props: Mapping[str, Any] = new.get("properties") or {}
    old_required = set(old.get("required") or ())
    new_required = set(new.get("required") or ())
    for name in sorted(set(old_props) | set(new_props)):
        field_path = f"{path}.{name}" if path else name
        if name not in old_props:
            required = name in new_required
            changes.append(
                FieldChange(field_path, "added", None, _describe(new_props[name], required), not required)
            )
        elif name not in new_props:
            changes.append(FieldChange(field_path, "removed", _describe(old_props[name], name in old_required), None, False))
        else:
            was, now = name in old_required, name in new_required
            if was != now:
                changes.append(
                    FieldChange(field_path, "required-changed", _word(was), _word(now), False)
                )
            _compare(old_props[name], new_props[name], field_path, changes)


#: Bounds a new schema may loosen (compatible) or tighten (breaking): upper bounds, then lower.
_UPPER = ("maximum", "exclusiveMaximum", "maxLength", "maxItems")
_LOWER = ("minimum", "exclusiveMinimum", "minLength", "minItems")


def _compare_constraints(old: Mapping[str, Any], new: Mapping[str, Any], path: str, changes: list[FieldChange]) -> None:
    """Bounds, ``pattern``, ``multipleOf`` and closed objects: a change that lets fewer values
    through is breaking, one that lets more through is compatible."""
    for key in (*_UPPER, *_LOWER, "pattern", "multipleOf"):
        before, after = old.get(key), new.get(key)
        if before == after:
            continue
        if after is None:
            loosened = True
        elif before is None or key in ("pattern", "multipleOf"):
            loosened = False
        else:
            loosened = after > before if key in _UPPER else after < before
        changes.append(FieldChange(path, "constraint-changed", f"{key} {_bound(before)}", f"{key} {_bound(after)}",
                                   loosened))
    closed_before, closed_after = old.get("additionalProperties") is False, new.get("additionalProperties") is False
    if closed_before != closed_after:
        changes.append(FieldChange(path, "constraint-changed", _openness(closed_before), _openness(closed_after),
                                   closed_before))


def _bound(value: Any) -> str:
    return "none" if value is None else canonical_json(value)


def _openness(closed: bool) -> str:
    return "no other fields" if closed else "other fields allowed"


def _describe(node: Any, required: bool) -> str:
    return f"{_kind(node)}, {_word(required)}"


def _word(required: bool) -> str:
    return "required" if required else "optional"

"""JSONSchema → Flink row types, and events ↔ Flink ``Row`` conversion.

The mapping follows Java eventutilities:

============================================  ==========================
JSONSchema                                    Flink
============================================  ==========================
integer                                       LONG (BIGINT)
number                                        DOUBLE
string (any format; date-time too)            STRING
boolean                                       BOOLEAN
object with ``properties``                    ROW (named fields, sorted)
object with object ``additionalProperties``   MAP<STRING, X>
array with ``items``                          LIST<X> (``OBJECT_ARRAY``)
enum                                          STRING
============================================  ==========================

``date-time`` maps to STRING on purpose: an event's timestamp text (e.g.
``2021-01-01T00:00:00.0Z``) survives a round trip byte for byte, which an
INSTANT would not guarantee. Absent fields are ``None`` in a Row and are left
out again when a Row turns back into an event.

    >>> schema = {"type": "object", "properties": {"id": {"type": "integer"},
    ...           "tags": {"type": "array", "items": {"type": "string"}}}}
    >>> row_type(schema).get_field_names()
    ['id', 'tags']
    >>> row = to_row({"id": 1, "tags": ["a"]}, schema)
    >>> from_row(row, schema)
    {'id': 1, 'tags': ['a']}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pyflink.common import Row, Types
from pyflink.common.typeinfo import TypeInformation

from evgen.errors import SchemaError

Schema = Mapping[str, Any]


def _kind(schema: Schema, where: str) -> str:
    kind = schema.get("type")
    if isinstance(kind, list):
        kinds = [k for k in kind if k != "null"]
        if len(kinds) != 1:
            raise SchemaError(f"{where}: a union type {kind} has no Flink row type")
        kind = kinds[0]
    if kind is None:
        if "properties" in schema:
            return "object"
        if "enum" in schema:
            return "string"
        raise SchemaError(f"{where}: schema has no 'type'")
    return str(kind)


def type_info(schema: Schema, where: str = "$") -> TypeInformation:
    """The Flink type of a (resolved) JSONSchema node."""
    kind = _kind(schema, where)
    if kind == "integer":
        return Types.LONG()
    if kind == "number":
        return Types.DOUBLE()
    if kind == "string":
        return Types.STRING()
    if kind == "boolean":
        return Types.BOOLEAN()
    if kind == "array":
        items = schema.get("items")
        if not isinstance(items, Mapping):
            raise SchemaError(f"{where}: array without a single 'items' schema has no Flink type")
        return Types.OBJECT_ARRAY(type_info(items, f"{where}[]"))
    if kind == "object":
        props = schema.get("properties")
        if props:
            return row_type(schema, where)
        extra = schema.get("additionalProperties")
        if isinstance(extra, Mapping):
            return Types.MAP(Types.STRING(), type_info(extra, f"{where}.*"))
        raise SchemaError(f"{where}: object without properties or typed additionalProperties has no Flink type")
    raise SchemaError(f"{where}: JSONSchema type {kind!r} has no Flink type")


def row_type(schema: Schema, where: str = "$") -> TypeInformation:
    """``ROW_NAMED`` for an object schema; field order is sorted by name (stable)."""
    props = schema.get("properties") or {}
    names = sorted(props)
    return Types.ROW_NAMED(names, [type_info(props[n], f"{where}.{n}") for n in names])


def to_row(event: Mapping[str, Any], schema: Schema) -> Row:
    """A JSON-shaped event as a ``Row`` of :func:`row_type` (absent fields → None)."""
    return _to_value(event, schema, "$")


def _to_value(value: Any, schema: Schema, where: str) -> Any:
    if value is None:
        return None
    kind = _kind(schema, where)
    if kind == "object":
        props = schema.get("properties")
        if props:
            names = sorted(props)
            row = Row(*(_to_value(value.get(n), props[n], f"{where}.{n}") for n in names))
            row.set_field_names(names)
            return row
        extra = schema.get("additionalProperties") or {}
        return {k: _to_value(v, extra, f"{where}.{k}") for k, v in value.items()}
    if kind == "array":
        return [_to_value(v, schema["items"], f"{where}[]") for v in value]
    if kind == "number":
        return float(value)
    return value


def from_row(row: Any, schema: Schema) -> Any:
    """The JSON-shaped event of a ``Row`` (None fields left out)."""
    return _from_value(row, schema, "$")


def _from_value(value: Any, schema: Schema, where: str) -> Any:
    if value is None:
        return None
    kind = _kind(schema, where)
    if kind == "object":
        props = schema.get("properties")
        if props:
            names = sorted(props)
            values = value if isinstance(value, (Row, tuple, list)) else [value[n] for n in names]
            out = {}
            for name, item in zip(names, values):
                if item is not None:
                    out[name] = _from_value(item, props[name], f"{where}.{name}")
            return out
        extra = schema.get("additionalProperties") or {}
        return {k: _from_value(v, extra, f"{where}.{k}") for k, v in value.items()}
    if kind == "array":
        return [_from_value(v, schema["items"], f"{where}[]") for v in value]
    return value


def sql_type(schema: Schema, where: str = "$") -> str:
    """The Flink SQL type of a JSONSchema node (same mapping as :func:`type_info`)."""
    kind = _kind(schema, where)
    simple = {"integer": "BIGINT", "number": "DOUBLE", "string": "STRING", "boolean": "BOOLEAN"}
    if kind in simple:
        return simple[kind]
    if kind == "array":
        return f"ARRAY<{sql_type(schema['items'], where + '[]')}>"
    props = schema.get("properties")
    if props:
        return "ROW<" + ", ".join(f"{quote(n)} {sql_type(props[n], f'{where}.{n}')}" for n in sorted(props)) + ">"
    return f"MAP<STRING, {sql_type(schema.get('additionalProperties') or {}, where + '.*')}>"


def sql_columns(schema: Schema) -> str:
    """Column definitions of an object schema for a ``CREATE TABLE`` (sorted names)."""
    props = schema.get("properties") or {}
    return ",\n  ".join(f"{quote(n)} {sql_type(props[n], '$.' + n)}" for n in sorted(props))


def quote(name: str) -> str:
    """A SQL identifier in back quotes (field names such as ``$schema`` or ``comment``)."""
    return "`" + name.replace("`", "``") + "`"

"""Schema diffs: added / removed / type-changed / required-changed, each compatible or breaking."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from evgen.schemadiff import FieldChange, diff_schemas
from evgen.schemas import SchemaRepository


def _obj(properties: dict, required: list[str] = ()) -> dict:  # type: ignore[assignment]
    return {"type": "object", "properties": properties, "required": list(required)}


def test_each_kind_of_change() -> None:
    old = _obj(
        {
            "kept": {"type": "string"},
            "gone": {"type": "integer"},
            "retyped": {"type": "integer"},
            "loosened": {"type": "string"},
            "tightened": {"type": "string"},
            "kind": {"type": "string", "enum": ["a", "b"]},
            "narrowed": {"type": "string", "enum": ["a", "b"]},
            "when": {"type": "string", "format": "date-time"},
            "nested": _obj({"x": {"type": "integer"}}),
            "tags": {"type": "array", "items": {"type": "string"}},
            "slots": {"type": "object", "additionalProperties": _obj({"size": {"type": "integer"}})},
        },
        ["loosened", "retyped"],
    )
    new = _obj(
        {
            "kept": {"type": "string", "description": "docs do not matter"},
            "added_optional": {"type": "boolean"},
            "added_required": {"type": "string"},
            "retyped": {"type": "string"},
            "loosened": {"type": "string"},
            "tightened": {"type": "string"},
            "kind": {"type": "string", "enum": ["a", "b", "c"]},
            "narrowed": {"type": "string", "enum": ["a"]},
            "when": {"type": "string"},
            "nested": _obj({"x": {"type": "integer"}, "y": {"type": "number"}}),
            "tags": {"type": "array", "items": {"type": "integer"}},
            "slots": {"type": "object", "additionalProperties": _obj({})},
        },
        ["added_required", "retyped", "tightened"],
    )
    changes = {c.path: c for c in diff_schemas(old, new).changes}
    assert changes == {
        "added_optional": FieldChange("added_optional", "added", None, "boolean, optional", True),
        "added_required": FieldChange("added_required", "added", None, "string, required", False),
        "gone": FieldChange("gone", "removed", "integer, optional", None, False),
        "retyped": FieldChange("retyped", "type-changed", "integer", "string", False),
        "loosened": FieldChange("loosened", "required-changed", "required", "optional", False),
        "tightened": FieldChange("tightened", "required-changed", "optional", "required", False),
        "kind": FieldChange("kind", "type-changed", 'enum["a", "b"]', 'enum["a", "b", "c"]', True),
        "narrowed": FieldChange("narrowed", "type-changed", 'enum["a", "b"]', 'enum["a"]', False),
        "when": FieldChange("when", "type-changed", "date-time", "string", False),
        "nested.y": FieldChange("nested.y", "added", None, "number, optional", True),
        "tags[]": FieldChange("tags[]", "type-changed", "string", "integer", False),
        "slots{}.size": FieldChange("slots{}.size", "removed", "integer, optional", None, False),
    }


def test_identical_schemas_have_no_changes(primary_schema_repo: Path) -> None:
    schema = SchemaRepository([str(primary_schema_repo)]).get("/mediawiki/page/change/1.2.0").schema
    diff = diff_schemas(schema, schema)
    assert diff.changes == () and not diff.breaking and diff.render() == ""


def test_real_page_change_1_1_0_to_1_2_0(primary_schema_repo: Path) -> None:
    repo = SchemaRepository([str(primary_schema_repo)])
    old, new = repo.get("/mediawiki/page/change/1.1.0"), repo.get("/mediawiki/page/change/1.2.0")
    diff = diff_schemas(old.schema, new.schema, old_uri=old.uri, new_uri=new.uri)
    # 1.2.0 made `performer` optional: old events stay valid, but code reading it may now get None.
    assert diff.changes == (FieldChange("performer", "required-changed", "required", "optional", False),)
    assert diff.breaking


def test_render_marks_each_line() -> None:
    diff = diff_schemas(_obj({"a": {"type": "integer"}}), _obj({"b": {"type": "integer"}}, ["b"]))
    assert diff.render().splitlines() == [
        "  - a: integer, optional  BREAKING",
        "  + b: integer, required  BREAKING",
    ]
    assert diff.breaking


@pytest.mark.parametrize(("old", "new", "compatible"), [
    ({"type": "string", "maxLength": 100}, {"type": "string", "maxLength": 5}, False),
    ({"type": "string", "maxLength": 5}, {"type": "string", "maxLength": 100}, True),
    ({"type": "string"}, {"type": "string", "maxLength": 100}, False),
    ({"type": "string", "minLength": 1}, {"type": "string"}, True),
    ({"type": "integer", "minimum": 0}, {"type": "integer", "minimum": 1}, False),
    ({"type": "integer", "maximum": 10}, {"type": "integer", "maximum": 11}, True),
    ({"type": "array", "items": {"type": "string"}}, {"type": "array", "items": {"type": "string"}, "maxItems": 3}, False),
    ({"type": "string", "pattern": "^a"}, {"type": "string", "pattern": "^b"}, False),
    ({"type": "string", "pattern": "^a"}, {"type": "string"}, True),
    ({"type": "number", "multipleOf": 2}, {"type": "number", "multipleOf": 4}, False),
])
def test_a_tightened_bound_is_breaking_a_loosened_one_compatible(old: dict[str, Any], new: dict[str, Any],
                                                                 compatible: bool) -> None:
    [change] = diff_schemas(_obj({"a": old}), _obj({"a": new})).changes
    assert (change.path, change.kind, change.compatible) == ("a", "constraint-changed", compatible)


def test_closing_an_object_to_other_fields_is_breaking() -> None:
    closed = {**_obj({"a": {"type": "integer"}}), "additionalProperties": False}
    [change] = diff_schemas(_obj({"a": {"type": "integer"}}), closed).changes
    assert change == FieldChange("", "constraint-changed", "other fields allowed", "no other fields", False)
    assert change.render() == "  ~ (event): other fields allowed -> no other fields  BREAKING"
    assert diff_schemas(closed, _obj({"a": {"type": "integer"}})).changes[0].compatible

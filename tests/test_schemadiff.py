"""Schema diffs: added / removed / type-changed / required-changed, each compatible or breaking."""

from __future__ import annotations

from pathlib import Path

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

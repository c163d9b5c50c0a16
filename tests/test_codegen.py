"""Model generation: round trips on real events, readable deterministic output, hostile schemas."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from evgen.codegen import generate_models, load_models, prepare_schema, verify_source
from evgen.errors import CodegenError, SchemaError
from evgen.naming import pascal_case
from evgen.schemas import EventSchema, SchemaRepository, sha256_of


def _schema(document: dict[str, Any], uri: str = "/test/thing/1.0.0") -> EventSchema:
    return EventSchema(uri, uri.strip("/").rpartition("/")[0], uri.rpartition("/")[2], "memory", document, sha256_of(document))


def _classes(source: str) -> dict[str, ast.ClassDef]:
    return {n.name: n for n in ast.parse(source).body if isinstance(n, ast.ClassDef)}


def _round_trip(model: Any, event: dict[str, Any]) -> None:
    from_python = model.model_validate(event).model_dump(mode="json", by_alias=True, exclude_unset=True)
    from_json = json.loads(model.model_validate_json(json.dumps(event)).model_dump_json(by_alias=True, exclude_unset=True))
    assert from_python == event
    assert from_json == event


@pytest.fixture(scope="module")
def repo(primary_schema_repo: Path) -> SchemaRepository:
    return SchemaRepository([str(primary_schema_repo)])


@pytest.fixture(scope="module")
def page_change_source(repo: SchemaRepository) -> str:
    return generate_models(repo.get("/mediawiki/page/change/1.2.0"), "PageChange")


# -- round trips -----------------------------------------------------------------------------------


def test_real_events_and_examples_round_trip_1_2_0(
    repo: SchemaRepository, page_change_source: str, page_change_events: list[dict[str, Any]]
) -> None:
    model = load_models(page_change_source, "pc_1_2_0").PageChange
    examples = repo.get("/mediawiki/page/change/1.2.0").examples
    assert len(page_change_events) == 10 and examples
    for event in [*page_change_events, *examples]:
        _round_trip(model, event)


def test_examples_round_trip_1_1_0_from_http(primary_schema_server) -> None:
    schema = SchemaRepository([primary_schema_server.url]).get("/mediawiki/page/change/1.1.0")
    model = load_models(generate_models(schema, "PageChange"), "pc_1_1_0").PageChange
    assert schema.examples
    for example in schema.examples:
        _round_trip(model, example)


def test_unknown_fields_survive_where_the_schema_allows_them(page_change_source: str, page_change_events: list[dict[str, Any]]) -> None:
    model = load_models(page_change_source, "pc_extra").PageChange
    event = json.loads(json.dumps(page_change_events[0]))
    event["meta"]["x_custom"] = {"kept": [1, 2]}  # meta has no additionalProperties: false
    _round_trip(model, event)
    event["not_in_schema"] = 1  # the root has additionalProperties: false
    with pytest.raises(Exception, match="Extra inputs are not permitted"):
        model.model_validate(event)


def test_every_primary_event_schema_generates_and_round_trips(primary_schema_repo: Path, repo: SchemaRepository) -> None:
    titles = sorted(
        str(p.parent.relative_to(primary_schema_repo)) for p in primary_schema_repo.rglob("latest") if p.is_file()
    )
    generated = 0
    for title in titles:
        schema = repo.resolve(title, "latest")
        if not isinstance(schema.schema.get("properties"), dict):
            continue  # a fragment that is not an event (e.g. a map of revision slots)
        name = pascal_case(title.replace("/", "_"))
        model = getattr(load_models(generate_models(schema, name), f"m_{generated}"), name)
        for example in schema.examples:
            _round_trip(model, example)
        generated += 1
    assert generated >= 50


# -- readable, deterministic output -----------------------------------------------------------------


def test_readable_class_names_and_reuse(page_change_source: str) -> None:
    classes = _classes(page_change_source)
    assert set(classes) == {
        "PageChange", "Meta", "Page", "RedirectPageLink", "CreatedRedirectPage", "Performer", "PriorState",
        "PriorStatePage", "PriorStateRevision", "Revision", "Editor", "ContentSlot",
    }  # fmt: skip
    assert not any(name[-1].isdigit() for name in classes)


def test_field_types(page_change_source: str) -> None:
    module = load_models(page_change_source, "pc_types")
    fields = module.PageChange.model_fields
    assert fields["schema_"].alias == "$schema"
    assert str(fields["changelog_kind"].annotation) == "typing.Literal['insert', 'update', 'delete']"
    assert module.Revision.model_fields["content_slots"].annotation == (dict[str, module.ContentSlot] | None)
    assert module.PageChange.model_fields["revision"].annotation is module.Revision
    assert module.PageChange.model_config["extra"] == "forbid"
    assert module.Meta.model_config["extra"] == "allow"
    assert module.PageChange.model_config["populate_by_name"] is True
    assert "dt: EventDatetime\n" in page_change_source
    assert "groups: list[Group] | None = None" in page_change_source
    assert page_change_source.startswith('# GENERATED by evgen from event schema "/mediawiki/page/change/1.2.0" -- DO NOT EDIT.\n')


def test_identical_objects_share_a_class_and_different_ones_get_a_parent_prefix() -> None:
    user = {"type": "object", "properties": {"name": {"type": "string"}}}
    other_user = {"type": "object", "properties": {"id": {"type": "integer"}}}
    schema = _schema({
        "type": "object",
        "properties": {
            "user": user,
            "a": {"type": "object", "properties": {"user": dict(user, description="same shape")}},
            "b": {"type": "object", "properties": {"user": other_user}},
            "people": {"type": "array", "items": user},
        },
    })
    classes = _classes(generate_models(schema, "Thing"))
    assert set(classes) == {"Thing", "User", "A", "B", "BUser", "Person"}


def test_output_is_deterministic_and_independent_of_cwd(repo: SchemaRepository, tmp_path: Path, page_change_source: str) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.black]\nline-length = 40\n[tool.isort]\nknown_first_party = ["evgen"]\n')
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        again = generate_models(SchemaRepository([str(repo.base_uris[0])]).get("/mediawiki/page/change/1.2.0"), "PageChange")
    finally:
        os.chdir(cwd)
    assert again == page_change_source


def test_generated_models_pass_mypy_strict(repo: SchemaRepository, page_change_source: str, tmp_path: Path, repo_root: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "page_change.py").write_text(page_change_source)
    (package / "error.py").write_text(generate_models(repo.get("/error/2.1.0"), "ErrorEvent"))
    (package / "use.py").write_text(
        "from datetime import datetime, timezone\n"
        "from .page_change import PageChange\n"
        "def touch(e: PageChange) -> int:\n"
        "    e.dt = datetime.now(timezone.utc)\n"
        "    return e.page.page_id + len(e.performer.groups or []) if e.performer else e.page.page_id\n"
    )
    (tmp_path / "mypy.ini").write_text("[mypy]\nstrict = True\nplugins = pydantic.mypy\n[mypy-evgen.*]\nfollow_imports = silent\n")
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / ".mypy_cache"), "pkg"],
        cwd=tmp_path, capture_output=True, text=True, env={**os.environ, "MYPYPATH": str(repo_root)},
    )
    assert done.returncode == 0, done.stdout + done.stderr


# -- security: nothing in a schema becomes code -----------------------------------------------------


def _hostile_schema(marker: Path) -> dict[str, Any]:
    evil = f'x"""\nimport os; open({str(marker)!r}, "w")\n"""\\\'\'\'\n\\N{{x}} \\x00 {{}} %s'
    payload = f"__import__('os').system('touch {marker}')"
    names = ["str", "int", "list", "dict", "Field", "BaseModel", "datetime", "Literal", "model_config", "schema",
             "none", "None", "class", "def", "1abc", payload, "a b", "é", "", "a-b", "a_b", "__class__", "_private",
             "self", "validate", "EventDatetime", evil]  # fmt: skip
    properties: dict[str, Any] = {name: {"type": "string", "description": evil} for name in names}
    properties["count"] = {"type": "integer", "default": 3, "description": evil}
    properties["items"] = {"type": "array", "items": {"type": "string", "enum": [evil, payload]}, "default": [evil]}
    properties["obj"] = {
        "type": "object",
        "title": evil,
        "$id": evil,
        "x-python-type": "os.system",
        "description": evil,
        "properties": {evil: {"type": "number", "default": 1e400}, "None": {"type": "object", "properties": {"x": {"type": "integer"}}}},
    }
    properties["kind"] = {"type": "string", "enum": [evil, payload, "b"], "default": payload, "pattern": "^[a'\"\\\\x]*$|^.*$"}
    properties["map"] = {"type": "object", "additionalProperties": {"type": "string", "pattern": "'''\"\"\"|.*"}}
    return {"title": evil, "$id": f"/x/{evil}/1.0.0", "description": evil, "type": "object",
            "properties": properties, "required": ["class", payload, "count"]}  # fmt: skip


def test_hostile_schema_text_cannot_inject_code(tmp_path: Path) -> None:
    marker = tmp_path / "PWNED"
    document = _hostile_schema(marker)
    source = generate_models(_schema(document, document["$id"]), "Hostile")
    path = tmp_path / "hostile_models.py"
    path.write_text(source)
    done = subprocess.run([sys.executable, "-c", "import hostile_models"], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    module = load_models(source, "hostile_models")
    assert not marker.exists()
    assert source.count("\n#") == 1 and source.startswith("# GENERATED")  # the $id stays on the header line
    model = module.Hostile
    for name, info in model.model_fields.items():
        assert name.isidentifier() and not name.startswith("_")
    aliases = {(name if info.alias is None else info.alias) for name, info in model.model_fields.items()}
    assert set(document["properties"]) <= aliases
    event = {alias: "v" for alias in document["properties"] if document["properties"][alias].get("type") == "string"}
    event.update({"count": 7, "items": list(document["properties"]["items"]["items"]["enum"]),
                  "kind": document["properties"]["kind"]["enum"][1], "obj": {"None": {"x": 1}}, "map": {"k": "'''"}})  # fmt: skip
    _round_trip(model, event)
    assert model.model_validate({k: v for k, v in event.items() if k != "kind"}).kind == document["properties"]["kind"]["default"]
    assert not marker.exists()


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("import os\n", "statement Import"),
        ("from os import system\n", "import from 'os'"),
        ("from pydantic import BaseModel\nclass A(BaseModel):\n    x: int = __import__('os').getpid()\n", "non-literal value"),
        ("from pydantic import BaseModel\nclass A(BaseModel):\n    x: __import__('os').system('x')\n", "type expression"),
        ("from pydantic import BaseModel, Field\nclass A(BaseModel):\n    x: int = Field(default_factory=lambda: 1)\n", "non-literal value"),
        ("from pydantic import BaseModel\nclass A(BaseModel):\n    def f(self): pass\n", "statement FunctionDef"),
        ("from pydantic import BaseModel\n@print\nclass A(BaseModel):\n    pass\n", "decorators"),
        ("print('x')\n", "statement Expr"),
        ("X = print('x')\n", "module-level assignment"),
        ("from pydantic import BaseModel, Field\nclass A(BaseModel):\n    x: int = Field(**{'default': 1})\n", r"\*\*kwargs"),
        ("from typing import Literal\nclass A:\n    x: Literal[print()]\n", r"non-literal value 'print\(\)'"),
        ("from pydantic import BaseModel\nclass A(BaseModel):\n    x: 'int'\n", "type expression"),
    ],
)
def test_verifier_rejects_anything_but_models(source: str, message: str) -> None:
    with pytest.raises(CodegenError, match=message):
        verify_source(source, where="test")


# -- schemas the generator cannot handle -------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"type": "string"}, r"the root of an event schema must be an object with properties"),
        ({"type": "object", "additionalProperties": {"type": "string"}}, r"must be an object with properties"),
        ({"type": "object", "properties": {"a": {"allOf": [{"type": "string"}, {"type": "integer"}]}}},
         r"allOf combines incompatible types 'string' and 'integer'"),
        ({"type": "object", "properties": {"a": {"type": "string", "maxLength": 2**70}}},
         r"models generated for \"/test/thing/1.0.0\" do not load: SchemaError: .*"),
    ],
)
def test_schemas_the_generator_cannot_handle(document: dict[str, Any], message: str) -> None:
    with pytest.raises(CodegenError, match=message):
        generate_models(_schema(document), "Thing")


@pytest.mark.parametrize(
    ("prop", "message"),
    [
        ({"type": "integer", "minimum": "x"}, r"'x' is not of type 'number' \(at properties/a/minimum\)"),
        ({"type": "string", "pattern": "(unclosed"}, r"'\(unclosed' is not a 'regex' \(at properties/a/pattern\)"),
        ({"type": "decimal"}, r"'decimal' is not valid under any of the given schemas \(at properties/a/type\)"),
    ],
)
def test_invalid_json_schema_is_a_schema_error(prop: dict[str, Any], message: str) -> None:
    with pytest.raises(SchemaError, match=r"\"/test/thing/1.0.0\" is not a valid JSON schema: " + message):
        generate_models(_schema({"type": "object", "properties": {"a": prop}}), "Thing")


def test_bad_model_name() -> None:
    with pytest.raises(CodegenError, match=r"'BaseModel' cannot be a model class name"):
        generate_models(_schema({"type": "object", "properties": {}}), "BaseModel")


def test_prepare_merges_all_of_and_drops_noise() -> None:
    prepared = prepare_schema(
        {
            "title": "t", "$id": "/t/1.0.0", "examples": [{}], "x-custom": 1, "type": "object",
            "allOf": [{"properties": {"a": {"type": "string", "format": "uri-reference"}}, "required": ["a"]},
                      {"properties": {"b": {"type": "string", "format": "date-time", "maxLength": 9}}}],
        },
        model="T",
    )  # fmt: skip
    assert prepared == {
        "type": "object",
        "properties": {"a": {"type": "string"}, "b": {"type": "string", "x-python-type": "evgen.model_types.EventDatetime"}},
        "required": ["a"],
        "additionalProperties": True,
    }

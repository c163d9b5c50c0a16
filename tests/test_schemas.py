"""SchemaRepository over real files and a real HTTP server: lookup order, symlinks, latest, $refs, errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from evgen.devkafka import free_port
from evgen.errors import SchemaError
from evgen.schemas import EventSchema, SchemaRepository, canonical_json, pointer_target, sha256_of


def _write(root: Path, relative: str, document: Any) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(document if isinstance(document, str) else yaml.safe_dump(document, sort_keys=False))
    return path


@pytest.fixture(params=["file", "path", "http"])
def primary(request: pytest.FixtureRequest, primary_schema_repo: Path) -> str:
    """The primary repo as a file:// URI, a plain path, and over HTTP."""
    if request.param == "file":
        return primary_schema_repo.as_uri()
    if request.param == "path":
        return str(primary_schema_repo)
    return str(request.getfixturevalue("primary_schema_server").url)


def test_get_follows_extensionless_symlink(primary: str, primary_schema_repo: Path) -> None:
    schema = SchemaRepository([primary]).get("/mediawiki/page/change/1.1.0")
    expected = yaml.safe_load((primary_schema_repo / "mediawiki/page/change/1.1.0.yaml").read_text())
    assert (schema.uri, schema.title, schema.version) == ("/mediawiki/page/change/1.1.0", "mediawiki/page/change", "1.1.0")
    assert schema.schema == expected
    assert schema.sha256 == sha256_of(expected)
    assert schema.examples == expected["examples"]


def test_latest_resolves_newest(primary: str) -> None:
    repo = SchemaRepository([primary])
    assert repo.latest_version("mediawiki/page/change") == "1.2.0"
    assert repo.resolve("mediawiki/page/change", "latest").uri == "/mediawiki/page/change/1.2.0"
    assert repo.resolve("error", "latest").version == "2.1.0"


def test_http_source_url_and_symlink_target(primary_schema_server) -> None:
    schema = SchemaRepository([primary_schema_server.url]).get("/error/2.1.0")
    assert schema.source_url == f"{primary_schema_server.url}/error/2.1.0"
    assert primary_schema_server.requests[-1] == "/error/2.1.0"


def test_client_follows_symlinks_a_server_does_not(static_file_server, primary_schema_repo: Path) -> None:
    server = static_file_server(primary_schema_repo, follow_text_symlinks=False)
    schema = SchemaRepository([server.url]).get("/mediawiki/page/change/1.1.0")
    assert schema.source_url == f"{server.url}/mediawiki/page/change/1.1.0.yaml"
    assert server.requests == ["/mediawiki/page/change/1.1.0", "/mediawiki/page/change/1.1.0.yaml"]


def test_resolved_schema_validates_real_events(primary: str, page_change_events: list[dict[str, Any]]) -> None:
    schema = SchemaRepository([primary]).get("/mediawiki/page/change/1.2.0")
    validator = jsonschema.Draft7Validator(schema.schema)
    for event in [*page_change_events, *schema.examples]:
        validator.validate(event)


def test_first_base_wins_and_order_is_as_is_yaml_json(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    _write(first, "t/1.0.0.json", json.dumps({"$id": "/t/1.0.0", "title": "t", "description": "json"}))
    _write(first, "t/1.0.0.yaml", {"$id": "/t/1.0.0", "title": "t", "description": "yaml"})
    _write(second, "t/1.0.0", {"$id": "/t/1.0.0", "title": "t", "description": "second"})
    repo = SchemaRepository([str(first), str(second)])
    assert repo.get("/t/1.0.0").schema["description"] == "yaml"
    assert SchemaRepository([str(second), str(first)]).get("/t/1.0.0").schema["description"] == "second"


def test_refs_across_repositories_file_and_http(tmp_path: Path, static_file_server) -> None:
    local, remote = tmp_path / "local", tmp_path / "remote"
    _write(remote, "fragment/common/1.0.0.yaml", {
        "$id": "/fragment/common/1.0.0",
        "type": "object",
        "properties": {"meta": {"$ref": "#/definitions/meta"}},
        "definitions": {"meta": {"type": "object", "properties": {"stream": {"type": "string"}}}},
    })
    _write(remote, "fragment/common/latest", "1.0.0.yaml")
    _write(local, "thing/1.0.0.yaml", {
        "$id": "/thing/1.0.0",
        "title": "thing",
        "allOf": [{"$ref": "/fragment/common/latest#"}],
        "properties": {
            "id": {"$ref": "#/definitions/id", "description": "overridden"},
            "again": {"$ref": "/fragment/common/1.0.0#/definitions/meta"},
        },
        "definitions": {"id": {"type": "integer", "description": "original"}},
        "examples": [{"$schema": {"$ref": "#/$id"}, "id": 1}],
    })
    server = static_file_server(remote)
    schema = SchemaRepository([str(local), server.url]).get("/thing/1.0.0")
    meta = {"type": "object", "properties": {"stream": {"type": "string"}}}
    assert schema.schema["allOf"][0]["properties"]["meta"] == meta
    assert schema.schema["properties"]["again"] == meta
    assert schema.schema["properties"]["id"] == {"type": "integer", "description": "overridden"}
    assert schema.examples == [{"$schema": "/thing/1.0.0", "id": 1}]
    assert "$ref" not in canonical_json(schema.schema)


def test_recursive_ref_is_an_error(tmp_path: Path) -> None:
    _write(tmp_path, "r/1.0.0.yaml", {"$id": "/r/1.0.0", "definitions": {"n": {"properties": {"next": {"$ref": "#/definitions/n"}}}},
                                        "properties": {"n": {"$ref": "#/definitions/n"}}})
    with pytest.raises(SchemaError, match=r"recursive \$ref '#/definitions/n' cannot be inlined"):
        SchemaRepository([str(tmp_path)]).get("/r/1.0.0")


def test_dangling_ref_pointer(tmp_path: Path) -> None:
    _write(tmp_path, "d/1.0.0.yaml", {"$id": "/d/1.0.0", "properties": {"x": {"$ref": "#/definitions/nope"}}})
    with pytest.raises(SchemaError, match=r"/d/1.0.0: \$ref '#/definitions/nope' points to nothing"):
        SchemaRepository([str(tmp_path)]).get("/d/1.0.0")


def test_unsupported_ref(tmp_path: Path) -> None:
    _write(tmp_path, "u/1.0.0.yaml", {"$id": "/u/1.0.0", "properties": {"x": {"$ref": "other.yaml"}}})
    with pytest.raises(SchemaError, match=r"unsupported \$ref 'other.yaml'"):
        SchemaRepository([str(tmp_path)]).get("/u/1.0.0")


def test_missing_version_names_every_uri_tried(primary_schema_repo: Path, primary_schema_server) -> None:
    repo = SchemaRepository([str(primary_schema_repo), primary_schema_server.url])
    with pytest.raises(SchemaError) as info:
        repo.get("/mediawiki/page/change/9.9.9")
    message = str(info.value)
    assert message.startswith("schema /mediawiki/page/change/9.9.9 not found; tried ")
    for ext in ("", ".yaml", ".json"):
        assert f"{(primary_schema_repo / 'mediawiki/page/change/9.9.9').as_uri()}{ext}" in message
        assert f"{primary_schema_server.url}/mediawiki/page/change/9.9.9{ext}" in message
    assert message.endswith("; versions here: 1.0.0, 1.1.0, 1.2.0") and "\n" not in message


def test_missing_title_for_latest(primary: str) -> None:
    with pytest.raises(SchemaError, match=r"no versions of schema 'no/such/title' found: schema /no/such/title/latest not found; tried"):
        SchemaRepository([primary]).resolve("no/such/title", "latest")


def test_unreachable_repo_is_reported_and_next_base_used(primary_schema_repo: Path) -> None:
    port = free_port()
    dead = f"http://127.0.0.1:{port}"
    assert SchemaRepository([dead, str(primary_schema_repo)]).get("/error/2.1.0").version == "2.1.0"
    with pytest.raises(SchemaError, match=rf"not found; tried {dead}/error/2.1.0; unreachable: {dead} \(Connection refused\)"):
        SchemaRepository([dead]).get("/error/2.1.0")


def test_missing_local_directory(tmp_path: Path) -> None:
    with pytest.raises(SchemaError, match=r"unreachable: .*nowhere \(no such directory\)"):
        SchemaRepository([str(tmp_path / "nowhere")]).get("/error/2.1.0")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("title: [unclosed", r"invalid YAML in file://.*/b/1.0.0.yaml"),
        ("- a list", r"file://.*/b/1.0.0.yaml is not a JSON schema \(expected a mapping\)"),
        ("9.9.9.yaml", r"points to file://.*/b/9.9.9.yaml, which does not exist"),
        ("$id: /b/1.0.0\ntype: 5", r"file://.*/b/1.0.0.yaml is not a valid JSON schema: 5 is not valid under any of the given schemas \(at type\)"),
    ],
)
def test_invalid_documents(tmp_path: Path, body: str, message: str) -> None:
    _write(tmp_path, "b/1.0.0.yaml", body)
    with pytest.raises(SchemaError, match=message):
        SchemaRepository([str(tmp_path)]).get("/b/1.0.0")


def test_invalid_json_over_http(tmp_path: Path, static_file_server) -> None:
    _write(tmp_path, "j/1.0.0.json", '{"$id": "/j/1.0.0",')
    server = static_file_server(tmp_path)
    with pytest.raises(SchemaError, match=rf"invalid JSON in {server.url}/j/1.0.0.json: Expecting property name"):
        SchemaRepository([server.url]).get("/j/1.0.0")


def test_declared_id_of_other_version_is_rejected(tmp_path: Path) -> None:
    _write(tmp_path, "v/1.0.0.yaml", {"$id": "/v/2.0.0"})
    with pytest.raises(SchemaError, match=r"declares \$id '/v/2.0.0', which is not version 1.0.0"):
        SchemaRepository([str(tmp_path)]).get("/v/1.0.0")


def test_latest_without_pointer_scans_local_versions(tmp_path: Path) -> None:
    for version in ("1.0.0", "1.10.0", "1.9.3"):
        _write(tmp_path, f"s/{version}.yaml", {"$id": f"/s/{version}", "title": "s"})
    assert SchemaRepository([str(tmp_path)]).latest_version("s") == "1.10.0"


@pytest.mark.parametrize(("latest", "message"), [
    ("2.0.0.yaml", r"s/latest points to .*/s/2.0.0.yaml, which does not exist"),  # a dangling pointer
    ("{not: [yaml", r"invalid YAML in .*/s/latest"),  # unreadable
])
def test_a_broken_latest_pointer_is_an_error_not_a_fallback(tmp_path: Path, latest: str, message: str) -> None:
    _write(tmp_path, "s/1.0.0.yaml", {"$id": "/s/1.0.0", "title": "s"})
    _write(tmp_path, "s/latest", latest)
    with pytest.raises(SchemaError, match=message):
        SchemaRepository([str(tmp_path)]).latest_version("s")


def test_bad_version_string(primary: str) -> None:
    with pytest.raises(SchemaError, match=r"schema version '1.x' of 'error' is not MAJOR.MINOR.PATCH or 'latest'"):
        SchemaRepository([primary]).resolve("error", "1.x")


def test_path_outside_repository_is_refused(tmp_path: Path) -> None:
    (tmp_path / "repo").mkdir()
    _write(tmp_path, "secret/1.0.0.yaml", {"$id": "/secret/1.0.0"})
    with pytest.raises(SchemaError, match=r"outside schema repository"):
        SchemaRepository([str(tmp_path / "repo")]).get("/../secret/1.0.0")


def test_cache_by_uri(tmp_path: Path) -> None:
    path = _write(tmp_path, "c/1.0.0.yaml", {"$id": "/c/1.0.0", "description": "first"})
    repo = SchemaRepository([str(tmp_path)])
    first = repo.get("/c/1.0.0")
    path.write_text(yaml.safe_dump({"$id": "/c/1.0.0", "description": "changed"}))
    assert repo.get("/c/1.0.0") is first
    assert SchemaRepository([str(tmp_path)]).get("/c/1.0.0").schema["description"] == "changed"


def test_pointer_target() -> None:
    assert pointer_target(b"1.2.0.yaml") == "1.2.0.yaml"
    assert pointer_target(b"1.2.0.yaml\n") == "1.2.0.yaml"
    assert pointer_target(b"title: x") is None
    assert pointer_target(b"../../etc/passwd") is None


def test_event_schema_is_frozen() -> None:
    schema = EventSchema("/a/1.0.0", "a", "1.0.0", "mem", {}, sha256_of({}))
    with pytest.raises(AttributeError):
        schema.uri = "/b/1.0.0"  # type: ignore[misc]

"""bench.handwritten: the hand-written baseline does the same per-event work as the typed job."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bench.handwritten import ERRORS, MARK, HandWrittenJob
from evgen.schemas import SchemaRepository


@pytest.fixture(scope="module")
def schema(primary_schema_repo: Path) -> dict[str, Any]:
    with SchemaRepository([str(primary_schema_repo)]) as repo:
        return dict(repo.resolve("mediawiki/page/change", "1.1.0").schema)


def _function(schema: dict[str, Any], variant: str) -> Any:
    fn = HandWrittenJob(variant, schema, schema, "mediawiki.page_content_change.v1").function()  # type: ignore[arg-type]
    fn.open(None)
    return fn


def test_validated_changes_one_field_and_normalizes(schema: dict[str, Any], valid_events: list[dict[str, Any]]) -> None:
    fn = _function(schema, "validated")
    event = valid_events[0]
    [out] = list(fn.process_element(json.dumps(event), None))
    output = json.loads(out)
    assert output["page"]["page_title"] == MARK + event["page"]["page_title"]
    assert output["$schema"] == "/mediawiki/page/change/1.1.0"
    assert output["meta"]["stream"] == "mediawiki.page_content_change.v1"
    assert output["meta"]["id"] == event["meta"]["id"] and output["meta"]["dt"] != event["meta"]["dt"]
    assert {k: v for k, v in output.items() if k not in ("page", "meta", "$schema")} == {
        k: v for k, v in event.items() if k not in ("page", "meta", "$schema")
    }


def test_validated_routes_invalid_input_to_the_error_output(schema: dict[str, Any]) -> None:
    fn = _function(schema, "validated")
    [(tag, error)] = list(fn.process_element('{"meta": {}}', None))
    assert tag is ERRORS
    event = json.loads(error)
    assert event["error_type"] == "JsonSchemaValueException" and event["raw_event"] == '{"meta": {}}'


def test_validated_drops_canaries(schema: dict[str, Any], valid_events: list[dict[str, Any]]) -> None:
    event = json.loads(json.dumps(valid_events[0]))
    event["meta"]["domain"] = "canary"
    assert list(_function(schema, "validated").process_element(json.dumps(event), None)) == []


def test_minimal_only_decodes_changes_and_encodes(schema: dict[str, Any]) -> None:
    fn = _function(schema, "minimal")
    [out] = list(fn.process_element('{"page": {"page_title": "X"}, "meta": {}}', None))
    assert json.loads(out) == {"page": {"page_title": MARK + "X"}, "meta": {}}
    [(tag, _)] = list(fn.process_element("not json", None))
    assert tag is ERRORS

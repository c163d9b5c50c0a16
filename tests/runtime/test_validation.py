"""Output validation against the sink stream's JSONSchema (evgen.runtime.validation), alone and
through EventCodec.normalize with the generated job's real page_content_change schema."""

from __future__ import annotations

import json
import pickle
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from evgen.runtime.events import EventCodec
from evgen.runtime.validation import EventValidator, InvalidEvent

SCHEMA = {
    "$schema": "https://json-schema.org/draft-07/schema#",
    "type": "object",
    "required": ["id", "meta"],
    "additionalProperties": False,
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": "string", "maxLength": 5},
        "tags": {"type": "array", "items": {"type": "string"}},
        "meta": {
            "type": "object",
            "properties": {"dt": {"type": "string", "format": "date-time"}, "uri": {"type": "string", "format": "uri-reference"}},
        },
    },
}


def problems(event: Any) -> str:
    with pytest.raises(InvalidEvent) as caught:
        EventValidator(SCHEMA).validate(event)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_a_valid_event_passes() -> None:
    EventValidator(SCHEMA).validate({"id": 1, "name": "ab", "tags": ["x"], "meta": {"dt": "2024-05-01T12:30:00.5Z", "uri": "/wiki/A%20B"}})


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"id": "1", "meta": {}}, 'id: "1" is not of type "integer"'),
        ({"meta": {}}, '<root>: "id" is a required property'),
        ({"id": 1, "meta": {}, "x": 1}, "<root>: Additional properties are not allowed ('x' was unexpected)"),
        ({"id": 1, "meta": {}, "tags": ["a", 2]}, 'tags.1: 2 is not of type "string"'),
        ({"id": 1, "meta": {}, "name": "toolong"}, 'name: "toolong" is longer than 5 characters'),
        # formats are checked, as EventGate checks them
        ({"id": 1, "meta": {"dt": "2024-05-01 12:30"}}, 'meta.dt: "2024-05-01 12:30" is not a "date-time"'),
        ({"id": 1, "meta": {"dt": "2024-05-01T12:30:00"}}, 'meta.dt: "2024-05-01T12:30:00" is not a "date-time"'),
        ({"id": 1, "meta": {"uri": "a b"}}, 'meta.uri: "a b" is not a "uri-reference"'),
    ],
)
def test_each_problem_is_named_with_its_path(event: dict[str, Any], message: str) -> None:
    assert problems(event) == message


def test_at_most_three_problems_then_a_count() -> None:
    message = problems({"id": "1", "name": 2, "tags": "x", "meta": 1, "y": 0})
    assert message.count(": ") == 3 and message.endswith("(and 2 more)")


def test_a_huge_offending_value_is_shortened() -> None:
    message = problems({"id": {"text": "x" * 10_000}, "meta": {}})
    assert message.startswith('id: {"text":"xxx') and message.endswith('…') and len(message) < 200


def test_a_value_json_has_no_type_for_is_an_invalid_event() -> None:
    assert "datetime" in problems({"id": 1, "meta": {"dt": datetime.now(timezone.utc)}})


def test_pickles_as_its_schema_and_validates_after() -> None:
    validator = pickle.loads(pickle.dumps(EventValidator(SCHEMA)))
    assert validator.schema == SCHEMA
    validator.validate({"id": 1, "meta": {}})
    with pytest.raises(InvalidEvent, match="is not of type"):
        validator.validate({"id": "1", "meta": {}})


# ------------------------------------------------------------------ through EventCodec.normalize


@pytest.fixture(scope="module")
def sink(job_dir: Path) -> EventCodec:
    from rt_job.models import PageContentChange

    schema = json.loads((job_dir / "rt_job/models/mediawiki_page_content_change_v1.schema.json").read_text())
    return EventCodec(PageContentChange, stream="mediawiki.page_content_change.v1",
                      schema_uri="/mediawiki/page/change/1.1.0", schema=schema)


def test_normalize_validates_against_the_schema(sink: EventCodec, valid_events: list[dict[str, Any]]) -> None:
    event = sink.model.model_validate(valid_events[0])
    out = sink.normalize(event)
    assert out["meta"]["stream"] == "mediawiki.page_content_change.v1" and out["page"] == valid_events[0]["page"]

    # model_copy(update=...) does not validate: the schema check catches what it let through
    broken = event.model_copy(update={"page": event.page.model_copy(update={"page_id": "seven"})})
    with pytest.raises(InvalidEvent, match=r'^page\.page_id: "seven" is not of type "integer"$'):
        sink.normalize(broken)


def test_normalize_a_dict_output_turns_datetimes_into_text(sink: EventCodec, valid_events: list[dict[str, Any]]) -> None:
    event = json.loads(json.dumps(valid_events[0]))
    event["dt"] = datetime(2024, 5, 1, 12, 30, tzinfo=timezone.utc)
    assert sink.normalize(event)["dt"] == "2024-05-01T12:30:00Z"
    event["dt"] = "yesterday"
    with pytest.raises(InvalidEvent, match=r'^dt: "yesterday" is not a "date-time"$'):
        sink.normalize(event)


def test_normalize_refuses_what_is_not_an_event(sink: EventCodec) -> None:
    with pytest.raises(InvalidEvent, match=f"^expected a {sink.model.__name__}, got int$"):
        sink.normalize(5)  # type: ignore[arg-type]
    with pytest.raises(InvalidEvent, match="Unable to serialize unknown type"):
        sink.normalize({"x": object()})


@pytest.mark.parametrize("meta", ["abc", 5, ["x"]])
def test_normalize_an_output_whose_meta_is_not_an_object(sink: EventCodec, valid_events: list[dict[str, Any]],
                                                         meta: Any) -> None:
    with pytest.raises(InvalidEvent, match=r"^meta: .* is not an object$"):
        sink.normalize({**valid_events[0], "meta": meta})

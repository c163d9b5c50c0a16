import json
from pathlib import Path

import fastjsonschema
import yaml

from evgen.runtime.errorevents import ErrorEventFactory, error_type_of

ERROR_SCHEMA = Path(__file__).parents[3] / "shared/wikimedia/schema-repos/primary/jsonschema/error/2.1.0.yaml"
validate = fastjsonschema.compile(yaml.safe_load(ERROR_SCHEMA.read_text()), formats={"uri-reference": r".*"})

FACTORY = ErrorEventFactory(
    emitter_id="job", stream="job.error", schema_uri="/error/2.1.0",
    source_stream="src.stream", source_schema_uri="/src/1.0.0",
)


def test_error_event_from_exception_is_valid_and_keeps_raw() -> None:
    raw = json.dumps({"$schema": "/other/2.0.0", "meta": {"stream": "s", "domain": "en.wikipedia.org",
                                                         "request_id": "r1", "uri": "https://x/y"}})
    try:
        raise ValueError("boom")
    except ValueError as e:
        event = FACTORY.from_exception(raw, e)
    validate(event)
    assert event["raw_event"] == raw
    assert event["error_type"] == "ValueError"
    assert event["message"] == "ValueError: boom"
    assert "raise ValueError" in event["stack"]
    assert event["errored_schema_uri"] == "/other/2.0.0" and event["errored_stream_name"] == "s"
    assert event["meta"]["domain"] == "en.wikipedia.org" and event["meta"]["request_id"] == "r1"
    assert event["meta"]["stream"] == "job.error" and event["emitter_id"] == "job"


def test_undecodable_input_falls_back_to_source_stream() -> None:
    raw = "\x00not json {"
    event = FACTORY.build(raw, error_type="undecodable_input", message="bad")
    validate(event)
    assert event["raw_event"] == raw
    assert event["errored_schema_uri"] == "/src/1.0.0" and event["errored_stream_name"] == "src.stream"
    assert "stack" not in event


def test_error_type_prefers_stable_code() -> None:
    class HttpFailure(Exception):
        error_type = "http_read_timeout"

    assert error_type_of(HttpFailure()) == "http_read_timeout"
    assert error_type_of(KeyError("x")) == "KeyError"


def test_input_meta_the_error_schema_would_reject_is_left_out() -> None:
    raw = '{"meta": {"uri": "not a uri", "domain": "\\ud800", "request_id": "r1", "stream": "\\udfff"}}'
    event = FACTORY.build(raw, error_type="invalid_input", message="bad")
    validate(event)
    assert event["meta"].keys() == {"stream", "id", "dt", "request_id"} and event["errored_stream_name"] == "src.stream"
    assert event["raw_event"] == raw

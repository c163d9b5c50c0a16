"""EventDatetime: an aware datetime that dumps back to the exact text it was parsed from."""

from __future__ import annotations

import copy
import json
import pickle
from datetime import datetime, timedelta, timezone

import pytest
from pydantic import BaseModel, ValidationError

from evgen.model_types import EventDatetime, PreservedDatetime, format_datetime


class Event(BaseModel):
    dt: EventDatetime
    other: EventDatetime | None = None


@pytest.mark.parametrize(
    "text",
    ["2021-01-01T00:00:00.0Z", "2021-01-01T00:00:00Z", "2024-10-04T15:16:26.123456+02:00", "2024-10-04T15:16:26.1-00:30"],
)
def test_text_round_trips_exactly(text: str) -> None:
    raw = json.dumps({"dt": text})
    for event in (Event.model_validate_json(raw), Event.model_validate({"dt": text})):
        assert event.model_dump(mode="json") == {"dt": text, "other": None}
        assert json.loads(event.model_dump_json(exclude_unset=True)) == {"dt": text}
        assert isinstance(event.dt, datetime) and event.dt.tzinfo is not None


def test_value_is_a_real_datetime() -> None:
    event = Event.model_validate({"dt": "2021-01-01T00:00:00.0Z"})
    assert event.dt == datetime(2021, 1, 1, tzinfo=timezone.utc)
    assert event.dt + timedelta(hours=1) == datetime(2021, 1, 1, 1, tzinfo=timezone.utc)
    assert isinstance(event.dt, PreservedDatetime) and event.dt.original_text == "2021-01-01T00:00:00.0Z"


def test_datetimes_built_in_code_dump_with_z() -> None:
    event = Event(dt=datetime(2024, 5, 1, 12, 30, 0, 250000, tzinfo=timezone.utc))
    assert event.model_dump(mode="json")["dt"] == "2024-05-01T12:30:00.250000Z"
    event.dt = datetime(2024, 5, 1, tzinfo=timezone(timedelta(hours=2)))  # assignment is not re-validated
    assert event.model_dump(mode="json")["dt"] == "2024-05-01T00:00:00+02:00"
    assert format_datetime(datetime(2024, 5, 1, tzinfo=timezone.utc)) == "2024-05-01T00:00:00Z"


def test_python_mode_keeps_datetime_objects() -> None:
    event = Event.model_validate({"dt": "2021-01-01T00:00:00Z"})
    assert isinstance(event.model_dump()["dt"], datetime)


@pytest.mark.parametrize("bad", ["2021-01-01T00:00:00", "yesterday", 1609459200, None])
def test_rejects_naive_unparsable_and_non_strings(bad: object) -> None:
    with pytest.raises(ValidationError):
        Event.model_validate({"dt": bad})


def test_pickle_and_copy_keep_the_text() -> None:
    event = Event.model_validate({"dt": "2021-01-01T00:00:00.0Z"})
    for clone in (pickle.loads(pickle.dumps(event)), copy.deepcopy(event), event.model_copy(deep=True)):
        assert clone.model_dump(mode="json")["dt"] == "2021-01-01T00:00:00.0Z"


def test_json_schema_is_a_date_time_string() -> None:
    assert Event.model_json_schema()["properties"]["dt"] == {"format": "date-time", "title": "Dt", "type": "string"}

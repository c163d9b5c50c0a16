"""What evgen's operators hand to Flink for each input, called in-process (no Flink): the
outputs, the error event tagged for the side output, nothing for a drop — as one flat list
per call (thread mode walks the result from the JVM; nested generators cost ~10 % of a
pass-through job's throughput there) — and the counts behind the status line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pyflink.common import Row
from pyflink.datastream import OutputTag

from evgen.runtime.job import Job
from evgen.runtime.operators import BatchSettings, DirectFunction, MiniBatchFunction
from evgen.runtime.status import OperatorStatus
from evgen.runtime.stream import Stream
from evgen.testing import with_new_id as fresh

PIPELINE = '''
from typing import Iterator

from evgen import Stream

from .models import PageChange, PageContentChange


def keep(event: PageChange) -> bool:
    return not event.meta.id.startswith("skip-")


def process(event: PageChange) -> Iterator[PageContentChange]:
    if event.meta.id.startswith("raise-"):
        raise RuntimeError("boom")
    if event.meta.id.startswith("surrogate-"):  # text with no UTF-8 form, e.g. json.loads('"\\ud800"')
        raise RuntimeError("bad \\ud800")
    out = PageContentChange.model_validate(event.model_dump(by_alias=True, exclude_unset=True))
    for _ in range(2 if event.meta.id.startswith("twice-") else 1):
        yield out


def pipeline(stream: Stream) -> Stream:
    return stream.filter(keep).process(process, sync=True)
'''


@pytest.fixture(scope="module")
def chain(job_dir: Path, add_module: Any) -> Any:
    return add_module("operator_records", PIPELINE).pipeline(Stream(Job.load(job_dir))).chain()


@pytest.fixture(scope="module")
def tagged(valid_events: list[dict[str, Any]]) -> dict[str, str]:
    """One input per outcome, its meta.id prefixed with the outcome."""
    lines = {}
    for tag in ("ok", "twice", "skip", "raise"):
        event = fresh(valid_events[0])
        event["meta"]["id"] = f"{tag}-{event['meta']['id']}"
        lines[tag] = json.dumps(event)
    return lines


def _operator(kind: type, chain: Any, *, records: bool) -> Any:
    """An operator as Flink would open it, minus the runtime context: its status set directly."""
    fn = kind(chain, BatchSettings(sync=True), records, records, None)
    fn.status = OperatorStatus(None, "process", 0, None)
    return fn


def _event(value: Any) -> dict[str, Any]:
    """The event a record carries: a JSON string, or a Kafka record's value (UTF-8 bytes)."""
    return json.loads(value if isinstance(value, str) else value[1].decode())


def _meta_id(value: Any) -> str:
    return _event(value)["meta"]["id"]


@pytest.mark.parametrize("kind", [DirectFunction, MiniBatchFunction])
@pytest.mark.parametrize("records", [False, True], ids=["json", "records"])
def test_each_input_becomes_one_list_of_records(kind: type, records: bool, chain: Any, tagged: dict[str, str]) -> None:
    fn = _operator(kind, chain, records=records)
    out = {tag: fn.process_element(line, None) for tag, line in tagged.items()}

    assert all(type(result) is list for result in out.values()), {t: type(r) for t, r in out.items()}
    assert [_meta_id(v) for v in out["ok"]] == [json.loads(tagged["ok"])["meta"]["id"]]
    assert [_meta_id(v) for v in out["twice"]] == [json.loads(tagged["twice"])["meta"]["id"]] * 2
    assert all(isinstance(v, Row if records else str) for v in out["ok"] + out["twice"])
    assert out["skip"] == []
    [(tag, error)] = out["raise"]
    assert isinstance(tag, OutputTag) and tag.tag_id == "evgen-errors"
    error_event = _event(error)
    assert error_event["error_type"] == "RuntimeError" and error_event["raw_event"] == tagged["raise"]
    if records:  # the error record carries the error event's time as its timestamp
        assert isinstance(error, Row) and error[0] is None and error[2] > 0

    counts = fn.status.counts
    assert (counts["in"], counts["out"], counts["completed"]) == (4, 3, 2)
    assert (counts["filtered.keep"], counts["error.RuntimeError"]) == (1, 1)


@pytest.mark.parametrize("records", [False, True], ids=["json", "records"])
def test_an_error_whose_text_has_no_utf8_form_is_still_an_error_event(records: bool, chain: Any,
                                                                      valid_events: list[dict[str, Any]]) -> None:
    event = fresh(valid_events[0])
    event["meta"]["id"] = f"surrogate-{event['meta']['id']}"
    line = json.dumps(event)
    [(tag, error)] = _operator(DirectFunction, chain, records=records).process_element(line, None)
    error_event = _event(error)
    assert (error_event["error_type"], error_event["message"]) == ("RuntimeError", "RuntimeError: bad \ud800")
    assert error_event["raw_event"] == line

"""Issue 4 §5: a generated job from Kafka to Kafka on the real broker, through `evgen run`.

Real page_change events (with fresh ids) go to both datacenter topics of the source stream,
together with records that are not JSON, events invalid against the schema and canaries.
The job runs bounded with its generated ``config/kafka.yaml``; the output and error topics
are read back and compared id by id.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

import pytest

from evgen.testing import with_new_id
from evgen.testing.feed import message_key
from evgen.testing.jobprocess import parse_summary
from evgen.testing.kafka import consume_all, produce
from evgen.testing.kafka_job import KafkaJob

COPIES = 10


def epoch_ms(dt: str) -> int:
    return int(datetime.fromisoformat(dt).timestamp() * 1000)


@pytest.mark.kafka
@pytest.mark.flink
def test_kafka_to_kafka_outputs_errors_and_canaries(
    kafka_job: Callable[..., KafkaJob], templates: list[dict[str, Any]], tmp_path: Path
) -> None:
    job = kafka_job("e2e")
    eqiad, codfw = job.source_topics
    valid = [with_new_id(t) for _ in range(COPIES) for t in templates]
    canaries = [with_new_id(t, domain="canary") for t in templates[:3]]
    unpaged = with_new_id(templates[0])
    unpaged["page"] = "Main Page"  # page must be an object
    no_performer = with_new_id(templates[1])
    del no_performer["performer"]  # required by page/change 1.1.0
    wrong_type = with_new_id(templates[2])
    wrong_type["rev_id"] = "not a number"
    invalid = [unpaged, no_performer, wrong_type]
    not_json = ["not json {", '{"meta": {"id": "truncated"', "[1, 2"]
    not_utf8 = b"\xff\xfebin\x00ary"
    # the exact text of every bad record as sent: it must come back as the error's raw_event
    invalid_text = [json.dumps(e) for e in invalid]

    def send(topic: str, values: list[Any]) -> None:
        produce(job.bootstrap_servers, topic, values,
                key=lambda v: message_key(v, job.source.message_key_fields) if isinstance(v, dict) else None,
                timestamp_ms=lambda v: epoch_ms(v["meta"]["dt"]) if isinstance(v, dict) else None)

    send(eqiad, valid[0::2] + canaries[:2] + invalid_text[:2] + not_json[:1])
    send(codfw, valid[1::2] + canaries[2:] + invalid_text[2:] + not_json[1:] + [not_utf8])
    job.write_config("bounded", {"source": {"options": {"bounded": True}}})

    process = job.start(["config/kafka.yaml", "config/bounded.yaml"], log=tmp_path / "run.log")
    with process:
        status = process.wait(600)
    log = process.log_text()
    assert status == 0, log[-3000:]
    assert "Traceback" not in log

    outputs = consume_all(job.bootstrap_servers, [job.output_topic])
    other_dc = [t for t in job.sink.topics if t != job.output_topic]
    assert consume_all(job.bootstrap_servers, other_dc) == []  # the sink writes its eqiad. topic only
    sent = {e["meta"]["id"]: e for e in valid}
    assert sorted(r.json()["meta"]["id"] for r in outputs) == sorted(sent)  # canaries and bad records left out
    for record in outputs:
        event = record.json()
        source = sent[event["meta"]["id"]]
        assert json.loads(record.key or "") == {"wiki_id": source["wiki_id"], "page_id": source["page"]["page_id"]}
        assert record.timestamp_ms == epoch_ms(source["dt"]) == epoch_ms(event["dt"])
        assert event["meta"]["stream"] == job.sink.stream
        assert event["$schema"] == "/mediawiki/page/change/1.1.0"
        assert {k: v for k, v in event.items() if k not in ("meta", "$schema")} == {
            k: v for k, v in source.items() if k not in ("meta", "$schema")
        }

    errors = consume_all(job.bootstrap_servers, [job.error_topic])
    by_raw = {r.json()["raw_event"]: r.json() for r in errors}
    assert len(errors) == len(by_raw) == len(invalid_text) + len(not_json) + 1
    # raw_event: the input exactly as sent; bytes that are not UTF-8 reach the job with replacement
    # characters (the kafka source reads values as UTF-8 strings), the rest of the record is kept
    [binary] = [raw for raw in by_raw if "bin\x00ary" in raw]
    assert by_raw.pop(binary)["error_type"] == "undecodable_input"
    assert sorted(by_raw) == sorted(invalid_text + not_json)
    for raw in invalid_text:
        error = by_raw[raw]
        assert error["error_type"] == "invalid_input"
        assert error["meta"]["stream"] == job.error_topic and error["emitter_id"] == job.name
    assert all(by_raw[raw]["error_type"] == "undecodable_input" for raw in not_json)
    assert {r.key for r in errors} == {None}

    summary = parse_summary(log)
    assert summary is not None, log[-3000:]
    total = len(valid) + len(canaries) + len(invalid) + len(not_json) + 1
    assert (summary["in"], summary["out"], summary["errors"], summary["filtered"]) == (
        total, len(valid), len(invalid) + len(not_json) + 1, len(canaries)
    )
    assert summary["filtered.canary"] == len(canaries)
    assert (summary["error.invalid_input"], summary["error.undecodable_input"]) == (len(invalid), len(not_json) + 1)


def test_output_keys_are_the_bytes_producers_write(
    tmp_path: Path, stream_configs_file: Path, primary_schema_repo: Path, templates: list[dict[str, Any]]
) -> None:
    from evgen.runtime.job import Job

    job = KafkaJob.generate(tmp_path, "keys_job", stream_configs=stream_configs_file,
                            schema_uris=[primary_schema_repo], bootstrap_servers="127.0.0.1:9")
    bound = Job.load(job.job_dir, ["config/kafka.yaml"])
    event = templates[0]
    assert list(job.sink.message_key_fields) == ["wiki_id", "page_id"]  # the stream config's order
    assert bound.sink.codec.key_of_dict(event) == message_key(event, job.sink.message_key_fields)

"""evgen.testing.ledger: accounting of ids, and reading topics incrementally from the real broker."""

from __future__ import annotations

import json
import uuid

import pytest

from evgen.devkafka import KafkaBroker
from evgen.errors import BrokerError
from evgen.testing.kafka import produce, unique_name
from evgen.testing.ledger import Ledger, TopicFollower, error_input_id, output_id


def out(event_id: str) -> str:
    return json.dumps({"meta": {"id": event_id}})


def err(raw: str) -> str:
    return json.dumps({"error_type": "invalid_input", "raw_event": raw})


def test_ledger_counts_lost_duplicates_misrouted_and_unexpected() -> None:
    ledger = Ledger(outputs=["a", "b", "c", "d"], errors=["x", "y"])
    for value in (out("a"), out("a"), out("a"), out("b"), out("x"), out("zzz"), "not json", None):
        ledger.add_output(value)
    for value in (err(out("y")), err(out("c")), err("undecodable {")):
        ledger.add_error(value)

    report = ledger.report()
    assert report.lost == ["d"]
    assert report.misrouted == ["c", "x"]  # c should be an output, x an error
    assert (report.duplicates, report.duplicated_ids) == (2, 1)
    assert report.unexpected == 4  # zzz, "not json", a tombstone, an undecodable input nobody sent
    assert (report.output_records, report.error_records, report.inputs) == (8, 3, 6)
    assert not report.complete and not ledger.complete and ledger.arrived == 5
    assert report.to_dict()["lost"] == 1 and report.to_dict()["lost_ids"] == ["d"]


def test_complete_ledger() -> None:
    ledger = Ledger(outputs=["a"], errors=["not json at all"])
    ledger.add_output(out("a"))
    assert not ledger.complete
    ledger.add_error(err("not json at all"))  # undecodable inputs are known by their raw text
    assert ledger.complete and ledger.report().complete


def test_an_id_cannot_be_expected_on_both_sides() -> None:
    with pytest.raises(ValueError, match="'a' cannot be expected both as output and as error"):
        Ledger(outputs=["a"], errors=["a"])


@pytest.mark.parametrize(
    ("value", "expected"),
    [(out("i1"), "i1"), ('{"meta": {"id": 7}}', None), ('{"meta": "x"}', None), ("[]", None), ("{", None), (None, None)],
)
def test_output_id(value: str | None, expected: str | None) -> None:
    assert output_id(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(err(out("i2")), "i2"), (err("raw bytes"), "raw bytes"), ('{"raw_event": null}', None), ("nope", None)],
)
def test_error_input_id(value: str, expected: str | None) -> None:
    assert error_input_id(value) == expected


@pytest.mark.kafka
def test_follower_reads_incrementally_then_to_the_end(kafka_broker: KafkaBroker) -> None:
    servers = kafka_broker.bootstrap_servers
    topics = [unique_name("follow.out"), unique_name("follow.err")]
    kafka_broker.create_topics(topics, partitions=2)
    with TopicFollower(servers, topics) as follower:
        produce(servers, topics[0], [{"meta": {"id": f"o{i}"}} for i in range(30)], key=lambda e: e["meta"]["id"])
        produce(servers, topics[1], [{"raw_event": "x"}])
        seen = follower.read_to_end(timeout_s=60)
        assert len(seen) == 31 and {r.topic for r in seen} == set(topics)
        assert follower.read_to_end(timeout_s=60) == []  # nothing new: at the end right away
        produce(servers, topics[0], [{"meta": {"id": "late"}}])
        later = follower.read_to_end(timeout_s=60)
        assert [r.json()["meta"]["id"] for r in later] == ["late"]


@pytest.mark.kafka
def test_follower_on_an_unknown_topic_is_a_broker_error(kafka_broker: KafkaBroker) -> None:
    with pytest.raises(BrokerError, match=r"^topic 'no\.such\.topic\.[0-9a-f]+' does not exist on 127\.0\.0\.1:\d+$"):
        TopicFollower(kafka_broker.bootstrap_servers, [unique_name("no.such.topic")])


@pytest.mark.kafka
def test_read_committed_follower_stops_before_an_open_transaction(kafka_broker: KafkaBroker) -> None:
    from confluent_kafka import Producer

    servers = kafka_broker.bootstrap_servers
    topic = unique_name("follow.txn")
    kafka_broker.create_topics([topic], partitions=1)
    produce(servers, topic, [{"meta": {"id": "before"}}])
    producer = Producer({"bootstrap.servers": servers, "transactional.id": f"test-{uuid.uuid4()}"})
    producer.init_transactions(30)
    producer.begin_transaction()
    producer.produce(topic, b'{"meta": {"id": "in-flight"}}')
    producer.flush(30)
    produce(servers, topic, [{"meta": {"id": "after"}}])

    def ids(isolation_level: str) -> list[str]:
        with TopicFollower(servers, [topic], isolation_level=isolation_level) as follower:
            return [r.json()["meta"]["id"] for r in follower.read_to_end(timeout_s=30)]

    assert ids("read_uncommitted") == ["before", "in-flight", "after"]
    assert ids("read_committed") == ["before"]  # up to the last stable offset
    producer.commit_transaction(30)
    assert ids("read_committed") == ["before", "in-flight", "after"]

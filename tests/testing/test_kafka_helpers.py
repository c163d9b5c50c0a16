"""evgen.testing.kafka: helpers for tests against the real broker."""

from __future__ import annotations

from pathlib import Path

import pytest

from evgen.devkafka import KafkaBroker
from evgen.errors import BrokerError
from evgen.streamconfig import StreamConfig, StreamConfigs
from evgen.testing.kafka import (
    KafkaRecord,
    committed_offsets,
    consume_all,
    end_offsets,
    private_stream,
    produce,
    unique_name,
    wait_for_records,
)


def test_private_stream_renames_stream_and_topics(stream_configs_file: Path) -> None:
    real = StreamConfigs.load(str(stream_configs_file)).get("mediawiki.page_change.v1")
    copy = private_stream(real, "abc")
    assert copy.stream == "mediawiki.page_change.v1.abc"
    assert copy.topics == ("eqiad.mediawiki.page_change.v1.abc", "codfw.mediawiki.page_change.v1.abc")
    assert (copy.schema_title, copy.message_key_fields, copy.topic_prefixes) == (
        real.schema_title, real.message_key_fields, real.topic_prefixes,
    )
    unprefixed = StreamConfig(stream="job.error", schema_title="error", topics=("job.error",))
    assert private_stream(unprefixed, "x").topics == ("job.error.x",)
    assert private_stream(real).stream != private_stream(real).stream


def test_tombstone_has_no_json() -> None:
    record = KafkaRecord("t", 0, 7, "k", None, None)
    with pytest.raises(ValueError, match=r"t\[0\]@7 is a tombstone"):
        record.json()


@pytest.mark.kafka
def test_offsets_and_waiting(kafka_broker: KafkaBroker) -> None:
    servers = kafka_broker.bootstrap_servers
    topic = unique_name("eqiad.test.helpers")
    kafka_broker.create_topics([topic], partitions=2)
    produce(servers, topic, [{"n": n} for n in range(6)], partition=1)
    produce(servers, topic, ["plain text", b"\xff\xfe bytes"], partition=0)

    assert end_offsets(servers, [topic]) == {(topic, 0): 2, (topic, 1): 6}
    assert committed_offsets(servers, unique_name("no-such-group"), [topic]) == {}
    records = wait_for_records(servers, [topic], 8, timeout_s=60)
    assert sorted((r.partition, r.offset) for r in records) == [(0, 0), (0, 1)] + [(1, n) for n in range(6)]
    values = {r.value for r in records if r.partition == 0}
    assert values == {"plain text", "\ufffd\ufffd bytes"}
    assert [r.json() for r in consume_all(servers, [topic]) if r.partition == 1] == [{"n": n} for n in range(6)]


@pytest.mark.kafka
def test_offsets_of_unknown_topic(kafka_broker: KafkaBroker) -> None:
    with pytest.raises(BrokerError, match="does not exist"):
        end_offsets(kafka_broker.bootstrap_servers, [unique_name("never.created")])

"""Kafka in tests: a session-wide real broker plus helpers to produce and consume JSON.

    from evgen.testing.kafka import consume_all, produce

    def test_roundtrip(kafka_broker):
        kafka_broker.create_topics(["eqiad.test.event"])
        produce(kafka_broker.bootstrap_servers, "eqiad.test.event", [{"id": 1}], key=lambda e: "k")
        [record] = consume_all(kafka_broker.bootstrap_servers, ["eqiad.test.event"])
        assert record.json() == {"id": 1} and record.key == "k"

The ``kafka_broker`` fixture (exposed by evgen's pytest plugin) starts one
:class:`~evgen.devkafka.KafkaBroker` per test session; give each test its own
topics (:func:`unique_name`). The clients are ``confluent-kafka``'s.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Mapping, Sequence, Union

from evgen.devkafka import KafkaBroker
from evgen.errors import BrokerError

if TYPE_CHECKING:
    from evgen.streamconfig import StreamConfig

__all__ = [
    "KafkaRecord", "consume_all", "kafka_broker", "private_stream", "produce", "unique_name", "wait_for_records",
]

Value = Union[str, bytes, Mapping[str, Any]]
_logger = logging.getLogger("evgen.testing.kafka.client")


@dataclass(frozen=True)
class KafkaRecord:
    """One consumed record (key and value decoded as UTF-8)."""

    topic: str
    partition: int
    offset: int
    key: str | None
    value: str | None
    timestamp_ms: int | None

    def json(self) -> Any:
        """The value parsed as JSON."""
        if self.value is None:
            raise ValueError(f"{self.topic}[{self.partition}]@{self.offset} is a tombstone (null value)")
        return json.loads(self.value)


def unique_name(base: str) -> str:
    """``base`` plus a random suffix, for topics and groups private to one test."""
    return f"{base}.{uuid.uuid4().hex[:10]}"


def private_stream(config: StreamConfig, suffix: str | None = None) -> StreamConfig:
    """``config`` renamed to ``<stream>.<suffix>`` with its topics renamed alike (prefixes kept).

    Lets tests sharing one broker use a real stream config entry without sharing topics.
    """
    suffix = suffix or uuid.uuid4().hex[:10]
    stream = f"{config.stream}.{suffix}"
    if config.topic_prefixes:
        topics = tuple(prefix + stream for prefix in config.topic_prefixes)
    else:
        topics = tuple(f"{topic}.{suffix}" for topic in config.topics)
    return dataclasses.replace(config, stream=stream, topics=topics)


def produce(
    bootstrap_servers: str,
    topic: str,
    values: Iterable[Value],
    *,
    key: Callable[[Any], str | None] | None = None,
    timestamp_ms: Callable[[Any], int | None] | None = None,
    partition: int | None = None,
    properties: Mapping[str, str] | None = None,
) -> int:
    """Write ``values`` (mappings as JSON, strings as UTF-8, bytes as is) to ``topic``; return the count.

    ``key`` and ``timestamp_ms`` compute the record key and timestamp from each value.
    Waits for every delivery; a failed delivery raises :class:`BrokerError`.
    """
    from confluent_kafka import Producer

    producer = Producer(
        {"bootstrap.servers": bootstrap_servers, "linger.ms": 5, "enable.idempotence": True, "logger": _logger,
         **dict(properties or {})}
    )
    failures: list[str] = []

    def delivered(error: Any, message: Any) -> None:
        if error is not None:
            failures.append(f"{message.topic()}: {error.str()}")

    count = 0
    for value in values:
        extra: dict[str, Any] = {}
        if key is not None:
            k = key(value)
            extra["key"] = None if k is None else k.encode("utf-8")
        if timestamp_ms is not None and (ts := timestamp_ms(value)) is not None:
            extra["timestamp"] = ts
        if partition is not None:
            extra["partition"] = partition
        while True:
            try:
                producer.produce(topic, _encode(value), on_delivery=delivered, **extra)
                break
            except BufferError:  # local queue full: let deliveries drain
                producer.poll(0.1)
        producer.poll(0)
        count += 1
    remaining = producer.flush(60)
    del producer
    if remaining:
        raise BrokerError(f"{remaining} record(s) to {topic!r} were not delivered within 60 s")
    if failures:
        raise BrokerError(f"{len(failures)} record(s) could not be delivered, first: {failures[0]}")
    return count


def consume_all(
    bootstrap_servers: str,
    topics: Sequence[str],
    *,
    isolation_level: str = "read_committed",
    timeout_s: float = 60.0,
    properties: Mapping[str, str] | None = None,
) -> list[KafkaRecord]:
    """Every record now in ``topics`` (all partitions, from the beginning to the end).

    Reads with ``read_committed`` by default, so records of open or aborted
    transactions are not returned. Raises :class:`BrokerError` for an unknown
    topic or when the end is not reached within ``timeout_s``.
    """
    from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition

    consumer = Consumer(
        {"bootstrap.servers": bootstrap_servers, "group.id": unique_name("evgen-test-reader"),
         "enable.auto.commit": False, "enable.partition.eof": True, "isolation.level": isolation_level,
         "logger": _logger, **dict(properties or {})}
    )
    try:
        metadata = consumer.list_topics(timeout=10)
        partitions: list[Any] = []
        for topic in topics:
            described = metadata.topics.get(topic)
            if described is None or described.error is not None:
                raise BrokerError(f"topic {topic!r} does not exist on {bootstrap_servers}")
            partitions += [TopicPartition(topic, p, OFFSET_BEGINNING) for p in sorted(described.partitions)]
        consumer.assign(partitions)
        pending = {(tp.topic, tp.partition) for tp in partitions}
        records: list[KafkaRecord] = []
        deadline = time.monotonic() + timeout_s
        while pending:
            if time.monotonic() > deadline:
                raise BrokerError(f"did not reach the end of {', '.join(sorted({t for t, _ in pending}))} within {timeout_s:.0f} s")
            for message in consumer.consume(num_messages=1000, timeout=0.5):
                error = message.error()
                if error is not None:
                    if error.code() == KafkaError._PARTITION_EOF:
                        pending.discard((message.topic(), message.partition()))
                        continue
                    raise BrokerError(f"consuming {message.topic()}: {error.str()}")
                records.append(_record(message))
        return records
    finally:
        consumer.close()


def wait_for_records(
    bootstrap_servers: str,
    topics: Sequence[str],
    count: int,
    *,
    timeout_s: float = 60.0,
    isolation_level: str = "read_committed",
) -> list[KafkaRecord]:
    """Read ``topics`` from the beginning until ``count`` records arrived or ``timeout_s`` passed.

    Returns what was read (possibly fewer records; let the test assert on it).
    """
    from confluent_kafka import Consumer

    consumer = Consumer(
        {"bootstrap.servers": bootstrap_servers, "group.id": unique_name("evgen-test-waiter"),
         "enable.auto.commit": False, "auto.offset.reset": "earliest", "isolation.level": isolation_level,
         "logger": _logger}
    )
    records: list[KafkaRecord] = []
    try:
        consumer.subscribe(list(topics))
        deadline = time.monotonic() + timeout_s
        while len(records) < count and time.monotonic() < deadline:
            for message in consumer.consume(num_messages=1000, timeout=0.5):
                if message.error() is None:
                    records.append(_record(message))
        return records
    finally:
        consumer.close()


def _encode(value: Value) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _record(message: Any) -> KafkaRecord:
    from confluent_kafka import TIMESTAMP_NOT_AVAILABLE

    kind, ts = message.timestamp()
    key, value = message.key(), message.value()
    return KafkaRecord(
        topic=message.topic(),
        partition=message.partition(),
        offset=message.offset(),
        key=None if key is None else key.decode("utf-8", errors="replace"),
        value=None if value is None else value.decode("utf-8", errors="replace"),
        timestamp_ms=None if kind == TIMESTAMP_NOT_AVAILABLE else ts,
    )


try:
    import pytest
except ImportError:  # pragma: no cover - pytest is only needed for the fixture
    pytest = None  # type: ignore[assignment]

if pytest is not None:

    @pytest.fixture(scope="session")
    def kafka_broker() -> Iterator[KafkaBroker]:
        """A real single-node Kafka broker on 127.0.0.1, shared by the test session."""
        with KafkaBroker() as broker:
            yield broker

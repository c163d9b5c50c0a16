"""Small Kafka client helpers (``confluent-kafka``): produce JSON, read topics, look at offsets.

Used by ``evgen dev produce`` / ``evgen dev consume`` and by tests (re-exported
from :mod:`evgen.testing.kafka`).

    >>> from evgen.kafka_client import consume_all, produce
    >>> produce("127.0.0.1:9092", "eqiad.test.event", [{"id": 1}], key=lambda e: "k")  # doctest: +SKIP
    1
    >>> [r.json() for r in consume_all("127.0.0.1:9092", ["eqiad.test.event"])]  # doctest: +SKIP
    [{'id': 1}]
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence, Union

from evgen.errors import BrokerError

__all__ = ["KafkaRecord", "committed_offsets", "consume_all", "end_offsets", "follow", "produce", "wait_for_records"]

Value = Union[str, bytes, Mapping[str, Any]]
#: librdkafka's own log lines (connection retries etc.) go here; silent unless the app configures logging.
_logger = logging.getLogger("evgen.kafka_client")
_logger.addHandler(logging.NullHandler())


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


def _group(base: str) -> str:
    return f"{base}.{uuid.uuid4().hex[:10]}"


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
        {"bootstrap.servers": bootstrap_servers, "linger.ms": 5, "enable.idempotence": True,
         "message.timeout.ms": 30000, "logger": _logger, **dict(properties or {})}
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
        raise BrokerError(f"{remaining} record(s) to {topic!r} on {bootstrap_servers} were not delivered within 60 s")
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
        {"bootstrap.servers": bootstrap_servers, "group.id": _group("evgen-test-reader"),
         "enable.auto.commit": False, "enable.partition.eof": True, "isolation.level": isolation_level,
         "logger": _logger, **dict(properties or {})}
    )
    try:
        partitions = [TopicPartition(t, p, OFFSET_BEGINNING) for t, p in _partitions(consumer, bootstrap_servers, topics)]
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
        {"bootstrap.servers": bootstrap_servers, "group.id": _group("evgen-test-waiter"),
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


def follow(
    bootstrap_servers: str,
    topics: Sequence[str],
    *,
    from_beginning: bool = True,
    isolation_level: str = "read_committed",
) -> Iterator[KafkaRecord]:
    """Yield the records of ``topics`` as they arrive, without end (close the generator to stop)."""
    from confluent_kafka import Consumer, KafkaError

    consumer = Consumer(
        {"bootstrap.servers": bootstrap_servers, "group.id": _group("evgen-follow"), "enable.auto.commit": False,
         "auto.offset.reset": "earliest" if from_beginning else "latest", "isolation.level": isolation_level,
         "logger": _logger}
    )
    try:
        consumer.subscribe(list(topics))
        while True:
            for message in consumer.consume(num_messages=500, timeout=0.5):
                error = message.error()
                if error is None:
                    yield _record(message)
                elif error.code() == KafkaError.UNKNOWN_TOPIC_OR_PART:
                    raise BrokerError(f"topic {message.topic()!r} does not exist on {bootstrap_servers}")
                elif not error.retriable():
                    raise BrokerError(f"consuming {message.topic()}: {error.str()}")
    finally:
        consumer.close()


def end_offsets(bootstrap_servers: str, topics: Sequence[str]) -> dict[tuple[str, int], int]:
    """The next offset to be written, per ``(topic, partition)`` of ``topics``."""
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": bootstrap_servers, "group.id": _group("evgen-test-offsets"), "logger": _logger})
    try:
        ends: dict[tuple[str, int], int] = {}
        for topic, partition in _partitions(consumer, bootstrap_servers, topics):
            _, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
            ends[(topic, partition)] = high
        return ends
    finally:
        consumer.close()


def committed_offsets(bootstrap_servers: str, group: str, topics: Sequence[str]) -> dict[tuple[str, int], int]:
    """Offsets ``group`` committed, per ``(topic, partition)`` of ``topics`` (partitions without a commit left out)."""
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": bootstrap_servers, "group.id": group, "enable.auto.commit": False, "logger": _logger})
    try:
        partitions = [TopicPartition(t, p) for (t, p) in end_offsets(bootstrap_servers, topics)]
        return {(tp.topic, tp.partition): tp.offset for tp in consumer.committed(partitions, timeout=10) if tp.offset >= 0}
    finally:
        consumer.close()


def _partitions(consumer: Any, bootstrap_servers: str, topics: Sequence[str]) -> list[tuple[str, int]]:
    """``(topic, partition)`` of every partition of ``topics``; BrokerError if unreachable or unknown."""
    from confluent_kafka import KafkaException

    try:
        metadata = consumer.list_topics(timeout=10)
    except KafkaException as e:
        raise BrokerError(f"cannot reach Kafka at {bootstrap_servers}: {e.args[0].str()}") from None
    found: list[tuple[str, int]] = []
    for topic in topics:
        described = metadata.topics.get(topic)
        if described is None or described.error is not None:
            raise BrokerError(f"topic {topic!r} does not exist on {bootstrap_servers}")
        found += [(topic, p) for p in sorted(described.partitions)]
    return found


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

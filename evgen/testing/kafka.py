"""Kafka in tests: a session-wide real broker plus helpers to produce and consume JSON.

    from evgen.testing.kafka import consume_all, produce

    def test_roundtrip(kafka_broker):
        kafka_broker.create_topics(["eqiad.test.event"])
        produce(kafka_broker.bootstrap_servers, "eqiad.test.event", [{"id": 1}], key=lambda e: "k")
        [record] = consume_all(kafka_broker.bootstrap_servers, ["eqiad.test.event"])
        assert record.json() == {"id": 1} and record.key == "k"

The ``kafka_broker`` fixture (exposed by evgen's pytest plugin) starts one
:class:`~evgen.devkafka.KafkaBroker` per test session; give each test its own
topics (:func:`unique_name`, :func:`private_stream`). The client helpers come
from :mod:`evgen.kafka_client`.
"""

from __future__ import annotations

import dataclasses
import uuid
from typing import TYPE_CHECKING

from evgen.kafka_client import (
    KafkaRecord,
    committed_offsets,
    consume_all,
    end_offsets,
    produce,
    wait_for_records,
)

if TYPE_CHECKING:
    from evgen.streamconfig import StreamConfig

__all__ = [
    "KafkaRecord", "committed_offsets", "consume_all", "end_offsets", "private_stream", "produce",
    "unique_name", "wait_for_records",
]


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

"""Generated jobs on the real broker, each with topics of its own (see evgen.testing.kafka_job)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any, Callable

import pytest

from evgen.devkafka import KafkaBroker
from evgen.testing.kafka_job import KafkaJob


@pytest.fixture
def kafka_job(
    tmp_path: Path, kafka_broker: KafkaBroker, stream_configs_file: Path, primary_schema_repo: Path
) -> Callable[..., KafkaJob]:
    """``kafka_job(prefix, partitions=2)``: a freshly generated page_change → page_content_change
    job named ``<prefix>_<random>``, its private topics created on the session broker."""

    def make(prefix: str, partitions: int = 2) -> KafkaJob:
        job = KafkaJob.generate(
            tmp_path / "jobs", f"{prefix}_{uuid.uuid4().hex[:8]}", stream_configs=stream_configs_file,
            schema_uris=[primary_schema_repo], bootstrap_servers=kafka_broker.bootstrap_servers,
        )
        job.create_topics(kafka_broker, partitions=partitions)
        return job

    return make


@pytest.fixture(scope="session")
def templates(page_change_events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The real page_change events valid against 1.1.0 (those with ``performer``)."""
    return [e for e in page_change_events if "performer" in e]

"""evgen.testing.kafka_job: a generated job with topics of its own."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml

from evgen.devkafka import KafkaBroker
from evgen.errors import ConfigError
from evgen.lock import Lock
from evgen.runtime.config import load_config
from evgen.testing.kafka_job import KafkaJob, job_environment


@pytest.fixture(scope="module")
def job(tmp_path_factory: pytest.TempPathFactory, stream_configs_file: Path, primary_schema_repo: Path) -> KafkaJob:
    return KafkaJob.generate(
        tmp_path_factory.mktemp("kafka_jobs"), "private_job", stream_configs=stream_configs_file,
        schema_uris=[primary_schema_repo], bootstrap_servers="127.0.0.1:9", suffix="t1",
    )


def test_streams_and_topics_are_private(job: KafkaJob) -> None:
    assert job.source.stream == "mediawiki.page_change.v1.t1"
    assert job.source_topics == ("eqiad.mediawiki.page_change.v1.t1", "codfw.mediawiki.page_change.v1.t1")
    assert job.output_topic == "eqiad.mediawiki.page_content_change.v1.t1"
    assert job.error_topic == "private_job.error"
    assert job.topics == (*job.source_topics, *job.sink.topics, "private_job.error")
    assert job.source.message_key_fields == {"wiki_id": "wiki_id", "page_id": "page.page_id"}
    lock = Lock.load(job.job_dir / "evgen.lock")
    assert {role: s.stream for role, s in lock.streams.items()} == {
        "source": "mediawiki.page_change.v1.t1", "sink": "mediawiki.page_content_change.v1.t1",
        "error_sink": "private_job.error",
    }
    private_configs = json.loads((job.job_dir.parent / "private_job.streamconfigs.json").read_text())
    assert sorted(private_configs["streams"]) == ["mediawiki.page_change.v1.t1", "mediawiki.page_content_change.v1.t1"]


def test_configs_merge_over_the_generated_kafka_config(job: KafkaJob) -> None:
    path = job.write_config("extra", {"source": {"options": {"bounded": True}}, "flink": {"parallelism": 2}})
    assert yaml.safe_load(path.read_text())["flink"] == {"parallelism": 2}
    config = load_config([job.job_dir / "config/kafka.yaml", path], environ=job_environment(job.bootstrap_servers, {}))
    assert config.source.connector == "kafka" and config.source.options["bounded"] is True
    assert config.source.options["bootstrap_servers"] == "127.0.0.1:9"
    assert config.source.options["group_id"] == "private_job"
    assert config.sink.options["topic_prefix"] == "eqiad."
    assert config.flink.parallelism == 2


def test_run_command_and_environment(job: KafkaJob) -> None:
    assert job.run_command(["config/kafka.yaml"], ["flink.resume_from=latest"]) == [
        sys.executable, "-m", "evgen.cli", "run", "--config", "config/kafka.yaml", "--set", "flink.resume_from=latest",
    ]
    env = job_environment("127.0.0.1:1234", {"PATH": "/bin", "PYFLINK_GATEWAY_DISABLED": "true", "PYFLINK_X": "1"})
    assert env == {"PATH": "/bin", "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1234"}


def test_source_and_sink_must_differ(tmp_path: Path, stream_configs_file: Path, primary_schema_repo: Path) -> None:
    with pytest.raises(ConfigError, match="different source and sink streams"):
        KafkaJob.generate(tmp_path, "same_job", stream_configs=stream_configs_file, schema_uris=[primary_schema_repo],
                          bootstrap_servers="127.0.0.1:9", source="mediawiki.page_change.v1:1.1.0",
                          sink="mediawiki.page_change.v1:1.1.0")


@pytest.mark.kafka
def test_create_topics_on_the_broker(kafka_broker: KafkaBroker, tmp_path: Path, stream_configs_file: Path,
                                     primary_schema_repo: Path) -> None:
    job = KafkaJob.generate(tmp_path, "topics_job", stream_configs=stream_configs_file, schema_uris=[primary_schema_repo],
                            bootstrap_servers=kafka_broker.bootstrap_servers)
    assert sorted(job.create_topics(kafka_broker, partitions=3)) == sorted(job.topics)
    assert set(job.topics) <= kafka_broker.topics()
    assert job.create_topics(kafka_broker) == []  # already there

"""A generated evgen job wired to Kafka topics of its own: for end-to-end tests and soaks.

The job is made by ``evgen new-job`` from a stream config in which the source and sink
streams are renamed with a private suffix (:func:`evgen.testing.kafka.private_stream`), so
its topics (``eqiad.<stream>.<suffix>``, ``codfw.…``) and its error topic (``<job>.error``)
are shared with nobody else on the broker. It runs with its own generated
``config/kafka.yaml`` (bootstrap servers from ``KAFKA_BOOTSTRAP_SERVERS``) plus the
overrides a test writes.

    job = KafkaJob.generate(tmp_path, "e2e_job", stream_configs=streamconfigs_json,
                            schema_uris=[schema_repo], bootstrap_servers=broker.bootstrap_servers)
    job.create_topics(broker, partitions=2)
    job.write_config("bounded", {"source": {"options": {"bounded": True}}})
    process = job.start(["config/kafka.yaml", "config/bounded.yaml"], log=tmp_path / "run.log")
    assert process.wait(300) == 0
"""

from __future__ import annotations

import json
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import yaml

from evgen.errors import ConfigError
from evgen.flinkdist import child_environment
from evgen.streamconfig import StreamConfig, StreamConfigs
from evgen.streamref import StreamRef
from evgen.testing.jobprocess import JobProcess
from evgen.testing.kafka import private_stream

if TYPE_CHECKING:
    from evgen.devkafka import KafkaBroker

__all__ = ["KafkaJob", "job_environment"]

#: The Event Platform streams of the default job: page changes in, page content changes out.
DEFAULT_SOURCE = "mediawiki.page_change.v1:1.1.0"
DEFAULT_SINK = "mediawiki.page_content_change.v1:1.1.0"


def job_environment(bootstrap_servers: str, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for an ``evgen run`` child: ``base`` (default ``os.environ``) without what
    PyFlink set in this process (:func:`~evgen.flinkdist.child_environment`), with
    ``KAFKA_BOOTSTRAP_SERVERS`` pointing at the broker."""
    return {**child_environment(base), "KAFKA_BOOTSTRAP_SERVERS": bootstrap_servers}


@dataclass(frozen=True)
class KafkaJob:
    """A generated job directory whose source and sink streams have private topics."""

    job_dir: Path
    name: str
    bootstrap_servers: str
    source: StreamConfig
    sink: StreamConfig
    error_topic: str

    @classmethod
    def generate(
        cls,
        root: Path,
        name: str,
        *,
        stream_configs: str | Path,
        schema_uris: Sequence[str | Path],
        bootstrap_servers: str,
        source: str = DEFAULT_SOURCE,
        sink: str = DEFAULT_SINK,
        suffix: str | None = None,
    ) -> KafkaJob:
        """``evgen new-job`` ``name`` under ``root`` from private copies of the ``source`` and ``sink``
        streams (``"<stream>:<version>"``) of the ``stream_configs`` file."""
        from evgen.project import new_job

        suffix = suffix or uuid.uuid4().hex[:8]
        source_ref, sink_ref = StreamRef.parse(source), StreamRef.parse(sink)
        if source_ref.stream == sink_ref.stream:
            raise ConfigError("KafkaJob needs different source and sink streams (their topics must differ)")
        configs = StreamConfigs.load(str(stream_configs))
        private_source = private_stream(configs.get(source_ref.stream), suffix)
        private_sink = private_stream(configs.get(sink_ref.stream), suffix)
        root.mkdir(parents=True, exist_ok=True)
        config_file = root / f"{name}.streamconfigs.json"
        config_file.write_text(
            json.dumps({"streams": {s.stream: s.to_dict() for s in (private_source, private_sink)}}, indent=2)
        )
        job_dir = new_job(
            name,
            source=f"{private_source.stream}:{source_ref.version}",
            sink=f"{private_sink.stream}:{sink_ref.version}",
            stream_config=str(config_file),
            schema_uris=[str(u) for u in schema_uris],
            output_dir=root,
            env={},
        )
        return cls(
            job_dir=job_dir,
            name=name,
            bootstrap_servers=bootstrap_servers,
            source=private_source,
            sink=private_sink,
            error_topic=f"{name}.error",
        )

    @property
    def source_topics(self) -> tuple[str, ...]:
        """Every topic of the source stream (``eqiad.`` and ``codfw.`` prefixed)."""
        return self.source.topics

    @property
    def output_topic(self) -> str:
        """The sink topic the generated ``config/kafka.yaml`` writes (``eqiad.`` prefixed)."""
        return self.sink.write_prefix + self.sink.stream

    @property
    def topics(self) -> tuple[str, ...]:
        """Every topic the job touches: source topics, sink topics, the error topic."""
        return (*self.source.topics, *self.sink.topics, self.error_topic)

    def create_topics(self, broker: KafkaBroker, partitions: int = 2) -> list[str]:
        """Create :attr:`topics` on ``broker`` (``partitions`` each); return the ones created."""
        return broker.create_topics(list(self.topics), partitions=partitions)

    def write_config(self, name: str, config: Mapping[str, Any]) -> Path:
        """Write ``config/<name>.yaml`` (a job config mapping, merged over the others); return its path."""
        path = self.job_dir / "config" / f"{name}.yaml"
        path.write_text(yaml.safe_dump(dict(config), sort_keys=False))
        return path

    def run_command(self, configs: Sequence[str], sets: Sequence[str] = ()) -> list[str]:
        """The ``evgen run`` command line (this interpreter's evgen)."""
        command = [sys.executable, "-m", "evgen.cli", "run"]
        for config in configs:
            command += ["--config", config]
        for pair in sets:
            command += ["--set", pair]
        return command

    def start(self, configs: Sequence[str], sets: Sequence[str] = (), *, log: Path) -> JobProcess:
        """Start ``evgen run`` in the job directory (its own process group); output goes to ``log``."""
        return JobProcess.start(
            self.run_command(configs, sets), cwd=self.job_dir, env=job_environment(self.bootstrap_servers), log=log
        )

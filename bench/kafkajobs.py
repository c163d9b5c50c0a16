"""Section 1 on Kafka: typed evgen vs hand-written PyFlink, Kafka → Kafka on a real broker.

A single-node Apache Kafka broker (:class:`evgen.devkafka.KafkaBroker`, started here) holds
the dataset in ``eqiad.mediawiki.page_change.v1`` (one partition). Every run reads it from
the earliest offset to the end as it was at start-up (bounded) with a fresh consumer group.
The typed job writes ``eqiad.mediawiki.page_content_change.v1``, the hand-written ones
``codfw.mediawiki.page_content_change.v1``, so the headline pair can run at the same time
(:mod:`bench.paired`), as on files. The typed job is the generated job
with evgen's ``kafka`` connector (records keyed by the stream's message key fields, record
timestamp = event time); the hand-written jobs use PyFlink's ``KafkaSource``/``KafkaSink``
writing values only — less work than evgen's keyed, timestamped records. Throughput is
watched on the sink topic's end offset; each run's records are then read back and checked.

If Kafka cannot run here (connector or broker jars not cached and no network, no Java) the
section reports ``ratio: null`` with the reason; a wrong count still fails the suite.

    results = run_kafka(ctx)
"""

from __future__ import annotations

import re
import uuid
from functools import partial
from pathlib import Path
from typing import Any

from evgen.errors import EvgenError

from bench.context import Context
from bench.errors import CountMismatch
from bench.filerun import MARKED, Measured, flink_settings, measure
from bench.handwritten import HandWrittenJob
from bench.launcher import launch
from bench.paired import Rounds, run_together
from bench.progress import OutputCheck, check_output, require_counts
from bench.stats import Series, ratio
from bench.typed_vs_handwritten import LABELS, PAIRED, rotated

SOURCE_TOPICS = ("eqiad.mediawiki.page_change.v1", "codfw.mediawiki.page_change.v1")
SINK_TOPICS = ("eqiad.mediawiki.page_content_change.v1", "codfw.mediawiki.page_content_change.v1")
JOBS = ("typed", "handwritten", "handwritten_minimal")
#: Each job's sink topic: the typed and the hand-written job write to their own when paired.
SINK_OF = {"typed": SINK_TOPICS[0], "handwritten": SINK_TOPICS[1], "handwritten_minimal": SINK_TOPICS[1]}


def build_handwritten_kafka(job: HandWrittenJob, env: Any, spec: dict[str, Any]) -> None:
    """KafkaSource (bounded, earliest) → the hand-written function → KafkaSink (values); errors → files."""
    from pyflink.common import WatermarkStrategy
    from pyflink.common.serialization import SimpleStringSchema
    from pyflink.datastream.connectors.base import DeliveryGuarantee
    from pyflink.datastream.connectors.kafka import (
        KafkaOffsetsInitializer,
        KafkaRecordSerializationSchema,
        KafkaSink,
        KafkaSource,
    )

    from bench.handwritten import file_sink

    source = (
        KafkaSource.builder()
        .set_bootstrap_servers(spec["bootstrap_servers"])
        .set_topics(spec["source_topic"])
        .set_group_id(spec["group_id"])
        .set_starting_offsets(KafkaOffsetsInitializer.earliest())
        .set_bounded(KafkaOffsetsInitializer.latest())
        .set_value_only_deserializer(SimpleStringSchema())
        .build()
    )
    sink = (
        KafkaSink.builder()
        .set_bootstrap_servers(spec["bootstrap_servers"])
        .set_record_serializer(
            KafkaRecordSerializationSchema.builder()
            .set_topic(spec["sink_topic"])
            .set_value_serialization_schema(SimpleStringSchema())
            .build()
        )
        .set_delivery_guarantee(DeliveryGuarantee.AT_LEAST_ONCE)
        .build()
    )
    outputs, failures = job.build(env.from_source(source, WatermarkStrategy.no_watermarks(), "kafka"))
    outputs.sink_to(sink).name("sink:kafka")
    failures.sink_to(file_sink(Path(spec["errors"]))).name("error_sink:file")


class Topic:
    """End offsets of a one-partition topic, and reading back a range of it."""

    def __init__(self, bootstrap_servers: str, name: str) -> None:
        from confluent_kafka import Consumer

        self.name = name
        self.bootstrap_servers = bootstrap_servers
        self._consumer = Consumer({"bootstrap.servers": bootstrap_servers, "group.id": f"bench-{uuid.uuid4().hex}",
                                   "enable.auto.commit": False})

    def end(self) -> int:
        from confluent_kafka import TopicPartition

        return int(self._consumer.get_watermark_offsets(TopicPartition(self.name, 0), timeout=10, cached=False)[1])

    def check(self, start: int, end: int, marker: re.Pattern[bytes]) -> OutputCheck:
        """Records in [start, end) and how many match ``marker``."""
        from confluent_kafka import Consumer, TopicPartition

        reader = Consumer({"bootstrap.servers": self.bootstrap_servers, "group.id": f"bench-{uuid.uuid4().hex}",
                           "enable.auto.commit": False, "fetch.max.bytes": 52428800})
        try:
            reader.assign([TopicPartition(self.name, 0, start)])
            lines = marked = 0
            position = start
            while position < end:
                batch = reader.consume(num_messages=min(5000, end - position), timeout=10)
                if not batch:
                    raise CountMismatch(f"{self.name}: could not read back offsets {position}..{end}")
                for message in batch:
                    offset = message.offset()
                    if message.error() is not None or offset is None:
                        continue
                    position = offset + 1
                    if offset < end:
                        lines += 1
                        marked += len(marker.findall(message.value() or b""))
            return OutputCheck(lines, marked)
        finally:
            reader.close()

    def close(self) -> None:
        self._consumer.close()


def _spec(ctx: Context, name: str, bootstrap: str, run_dir_errors: Path) -> dict[str, Any]:
    ws = ctx.workspace
    mode = ctx.settings.execution_mode
    group = f"bench-{name}-{uuid.uuid4().hex[:8]}"
    if name == "typed":
        config = ws.config(
            {"connector": "kafka", "options": {"bootstrap_servers": bootstrap, "group_id": group,
                                               "topics": [SOURCE_TOPICS[0]], "starting_offsets": "earliest",
                                               "bounded": True}},
            {"connector": "kafka", "options": {"bootstrap_servers": bootstrap,
                                               "topic_prefix": SINK_OF[name].split(".")[0] + "."}},
            {"connector": "file", "options": {"path": str(run_dir_errors)}},
            flink=flink_settings(mode),
        )
        return {"kind": "evgen", "job_dir": str(ws.job_dir), "module": ws.module("passthrough"), "config": config}
    return {
        "kind": "handwritten", "variant": "validated" if name == "handwritten" else "minimal", "source": "kafka",
        "source_schema": ws.source_schema, "sink_schema": ws.sink_schema,
        "sink_stream": "mediawiki.page_content_change.v1", "job_dir": str(ws.job_dir), "flink": flink_settings(mode),
        "kafka": {"bootstrap_servers": bootstrap, "source_topic": SOURCE_TOPICS[0], "sink_topic": SINK_OF[name],
                  "group_id": group, "errors": str(run_dir_errors)},
    }


def _run_job(ctx: Context, name: str, label: str, bootstrap: str, sink: Topic, events: int) -> Measured:
    """One checked run of job ``name`` over the source topic; its rate watched on ``sink``."""
    run_dir = ctx.run_dir(label)
    start = sink.end()
    outcome = launch(_spec(ctx, name, bootstrap, run_dir / "errors"), run_dir, progress=lambda: sink.end() - start,
                     poll_s=0.1, timeout_s=300 + events / 200, label=label)
    require_counts(label, events, sink.check(start, sink.end(), MARKED), check_output(run_dir / "errors").lines,
                   marks=events)
    return measure(ctx, label, events, outcome)


def run_kafka(ctx: Context) -> dict[str, Any]:
    s = ctx.settings
    try:
        from evgen.devkafka import KafkaBroker
        from evgen.jars import pipeline_jars_for

        pipeline_jars_for(["kafka"])
        broker = KafkaBroker().start()
    except (EvgenError, OSError, ImportError) as e:
        return {"ratio": None, "reason": f"Kafka unavailable here: {e}"}
    try:
        from evgen.testing.kafka import produce

        broker.create_topics(SOURCE_TOPICS + SINK_TOPICS, partitions=1)
        lines = ctx.data.read_text(encoding="utf-8").splitlines()[: s.kafka_events]
        produced = produce(broker.bootstrap_servers, SOURCE_TOPICS[0], lines)
        events = len(lines)
        if produced != events:
            raise CountMismatch(f"kafka: produced {produced} of {events} events")
        sinks = {topic: Topic(broker.bootstrap_servers, topic) for topic in SINK_TOPICS}
        rates = {n: Series() for n in JOBS}
        walls = {n: Series() for n in JOBS}
        overheads = {n: Series() for n in JOBS}
        paired = Rounds(PAIRED)

        def run(name: str, label: str) -> Measured:
            return _run_job(ctx, name, label, broker.bootstrap_servers, sinks[SINK_OF[name]], events)

        try:
            for round_no in range(s.runs):
                for name in rotated(JOBS, round_no):
                    m = run(name, f"kafka-{name}-r{round_no + 1}")
                    rates[name].add(m.events_per_s)
                    walls[name].add(m.wall_s)
                    overheads[name].add(m.overhead_s)
            for round_no in range(s.runs):
                label = f"kafka-pair-r{round_no + 1}"
                paired.add(run_together(ctx, label, {name: partial(run, name, f"{label}-{name}") for name in PAIRED},
                                        events))
        finally:
            for sink in sinks.values():
                sink.close()
    finally:
        broker.stop()
    return {
        "events": events,
        "runs": s.runs,
        "execution_mode": s.execution_mode,
        "broker": "Apache Kafka (single-node KRaft, 127.0.0.1), 1 partition per topic",
        "jobs": {
            name: {
                "label": LABELS[name] + ("" if name == "typed" else "; KafkaSink writes values only (no key/timestamp)"),
                "events_per_s": rates[name].to_dict(1),
                "wall_s": walls[name].to_dict(2),
                "startup_and_teardown_s": overheads[name].to_dict(2),
            }
            for name in JOBS
        },
        "ratio": paired.ratio().to_dict(3),
        "paired": paired.to_dict(),
        "ratio_interleaved": ratio(rates["typed"], rates["handwritten"]).to_dict(3),
        "ratio_vs_minimal": ratio(rates["typed"], rates["handwritten_minimal"]).to_dict(3),
    }

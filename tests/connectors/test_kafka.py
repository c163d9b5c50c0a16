"""The kafka connector: options, topics, and real Flink jobs on the real broker."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator

import pytest

from evgen.connectors import Endpoint, get_connector
from evgen.connectors.kafka import (
    KafkaConnector,
    KafkaOptions,
    sink_table_options,
    sink_topic,
    source_table_options,
    source_topics,
)
from evgen.devkafka import KafkaBroker
from evgen.errors import ConfigError
from evgen.flinkdist import child_environment
from evgen.streamconfig import StreamConfig, StreamConfigs
from evgen.testing.kafka import committed_offsets, consume_all, end_offsets, private_stream, produce, wait_for_records

SOURCE = "mediawiki.page_change.v1"
SINK = "mediawiki.page_content_change.v1"
SCHEMA_URI = "/mediawiki/page/change/1.2.0"


@pytest.fixture(scope="module")
def configs(stream_configs_file: Path) -> StreamConfigs:
    return StreamConfigs.load(str(stream_configs_file))


@pytest.fixture
def kafka() -> KafkaConnector:
    connector = get_connector("kafka")
    assert isinstance(connector, KafkaConnector)
    return connector


def endpoint(kafka: KafkaConnector, role: str, stream: StreamConfig, job: str = "test_job", **options: Any) -> Endpoint:
    options.setdefault("bootstrap_servers", "127.0.0.1:9092")
    return Endpoint(role, job, stream, SCHEMA_URI, kafka.parse_options(role, options))


# ---------------------------------------------------------------------------- options


def test_connector_is_registered_with_its_jar(kafka: KafkaConnector) -> None:
    assert kafka.name == "kafka"
    assert kafka.maven_artifacts == ("org.apache.flink:flink-sql-connector-kafka:5.0.0-2.2",)
    assert kafka.wants_records


@pytest.mark.parametrize(
    ("role", "options", "message"),
    [
        ("source", {}, "bootstrap_servers: Field required"),
        ("source", {"bootstrap_servers": "localhost"}, "bootstrap_servers: Value error, 'localhost' is not a comma-separated list of host:port"),
        ("source", {"bootstrap_servers": "a:1", "starting_offsets": "committed"}, "starting_offsets: Value error, 'committed' is not one of"),
        ("source", {"bootstrap_servers": "a:1", "starting_offsets": "timestamp:yesterday"}, "starting_offsets: Value error"),
        ("source", {"bootstrap_servers": "a:1", "topics": []}, "topics: Value error, must name at least one topic"),
        ("source", {"bootstrap_servers": "a:1", "bounded": "maybe"}, "bounded: Input should be a valid boolean"),
        ("source", {"bootstrap_servers": "a:1", "nope": 1}, "nope: unknown key"),
        ("source", {"bootstrap_servers": "a:1", "properties": {"group.id": "g"}}, "'group.id' cannot be set as a property: use the 'group_id' option"),
        ("sink", {"bootstrap_servers": "a:1", "properties": {"bootstrap.servers": "b:2"}}, "use the 'bootstrap_servers' option"),
        ("sink", {"bootstrap_servers": "a:1", "properties": {"value.serializer": "x"}}, "evgen and Flink set it"),
        ("sink", {"bootstrap_servers": "a:1", "delivery_guarantee": "exactly-once"}, "delivery_guarantee: Input should be 'at_least_once' or 'exactly_once'"),
        ("source", {"bootstrap_servers": "a:1", "topic_prefix": "eqiad."}, "source: kafka option(s) topic_prefix only apply to sinks"),
        ("sink", {"bootstrap_servers": "a:1", "bounded": True, "group_id": "g"}, "sink: kafka option(s) bounded, group_id only apply to sources"),
        ("error_sink", {"bootstrap_servers": "a:1", "starting_offsets": "latest"}, "error_sink: kafka option(s) starting_offsets only apply to sources"),
        ("sink", {"bootstrap_servers": "a:1", "transactional_id_prefix": "t"}, "transactional_id_prefix needs delivery_guarantee: exactly_once"),
    ],
)
def test_bad_options_are_one_line_config_errors(kafka: KafkaConnector, role: str, options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        kafka.parse_options(role, options)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_source_reads_every_topic_of_the_stream_by_default(kafka: KafkaConnector, configs: StreamConfigs) -> None:
    source = endpoint(kafka, "source", configs.get(SOURCE))
    assert source_topics(source) == ("eqiad.mediawiki.page_change.v1", "codfw.mediawiki.page_change.v1")
    assert source_table_options(source) == {
        "topic": "eqiad.mediawiki.page_change.v1;codfw.mediawiki.page_change.v1",
        "properties.bootstrap.servers": "127.0.0.1:9092",
        "properties.group.id": "test_job",
        "scan.startup.mode": "group-offsets",
        "properties.auto.offset.reset": "earliest",
        "key.format": "raw",
        "key.fields": "key",
        "value.format": "raw",
        "value.fields-include": "EXCEPT_KEY",
    }


def test_source_topic_subset_must_belong_to_the_stream(kafka: KafkaConnector, configs: StreamConfigs) -> None:
    stream = configs.get(SOURCE)
    subset = endpoint(kafka, "source", stream, topics=["codfw.mediawiki.page_change.v1"])
    assert source_topics(subset) == ("codfw.mediawiki.page_change.v1",)

    wrong = endpoint(kafka, "source", stream, topics=["codfw.mediawiki.page_change.v1", "eqiad.other"])
    with pytest.raises(ConfigError, match=r"^source: topic\(s\) eqiad.other are not topics of stream 'mediawiki.page_change.v1' \(its topics: eqiad.mediawiki.page_change.v1, codfw.mediawiki.page_change.v1\)$"):
        source_table_options(wrong)


@pytest.mark.parametrize(
    ("starting", "bounded", "expected"),
    [
        ("committed-earliest", False, {"scan.startup.mode": "group-offsets", "properties.auto.offset.reset": "earliest"}),
        ("committed-latest", True, {"scan.startup.mode": "group-offsets", "properties.auto.offset.reset": "latest", "scan.bounded.mode": "latest-offset"}),
        ("earliest", True, {"scan.startup.mode": "earliest-offset", "scan.bounded.mode": "latest-offset"}),
        ("latest", False, {"scan.startup.mode": "latest-offset"}),
        ("timestamp:1700000000000", False, {"scan.startup.mode": "timestamp", "scan.startup.timestamp-millis": "1700000000000"}),
    ],
)
def test_starting_offsets_and_bounded_mode(
    kafka: KafkaConnector, configs: StreamConfigs, starting: str, bounded: bool, expected: dict[str, str]
) -> None:
    source = endpoint(kafka, "source", configs.get(SOURCE), group_id="my-group", starting_offsets=starting, bounded=bounded)
    table = source_table_options(source)
    modes = {k: v for k, v in table.items() if k.startswith("scan.") or k == "properties.auto.offset.reset"}
    assert modes == expected
    assert table["properties.group.id"] == "my-group"


def test_sink_topic_is_prefix_plus_stream(kafka: KafkaConnector, configs: StreamConfigs) -> None:
    stream = configs.get(SINK)
    sink = endpoint(kafka, "sink", stream, topic_prefix="codfw.")
    assert sink_topic(sink) == "codfw.mediawiki.page_content_change.v1"
    assert sink_table_options(sink) == {
        "topic": "codfw.mediawiki.page_content_change.v1",
        "properties.bootstrap.servers": "127.0.0.1:9092",
        "sink.delivery-guarantee": "at-least-once",
        "key.format": "raw",
        "key.fields": "key",
        "value.format": "raw",
        "value.fields-include": "EXCEPT_KEY",
    }


def test_sink_topic_outside_the_stream_is_refused(kafka: KafkaConnector, configs: StreamConfigs) -> None:
    sink = endpoint(kafka, "sink", configs.get(SINK), topic_prefix="ulsfo.")
    with pytest.raises(ConfigError) as info:
        sink_table_options(sink)
    assert str(info.value) == (
        "sink: topic 'ulsfo.mediawiki.page_content_change.v1' (topic_prefix 'ulsfo.' + stream) is not a topic of "
        "stream 'mediawiki.page_content_change.v1' (its topics: eqiad.mediawiki.page_content_change.v1, "
        "codfw.mediawiki.page_content_change.v1)"
    )


def test_sink_without_prefix_needs_a_single_topic(kafka: KafkaConnector, configs: StreamConfigs) -> None:
    with pytest.raises(ConfigError, match=r"^error_sink: stream 'mediawiki.page_content_change.v1' has topics .*; set the kafka option topic_prefix \('eqiad.', 'codfw.'\)"):
        sink_topic(endpoint(kafka, "error_sink", configs.get(SINK)))
    single = StreamConfig(stream="my_job.error", schema_title="error", topics=("my_job.error",), canary_events_enabled=False)
    assert sink_topic(endpoint(kafka, "error_sink", single)) == "my_job.error"


def test_exactly_once_uses_transactions(kafka: KafkaConnector, configs: StreamConfigs) -> None:
    sink = endpoint(kafka, "sink", configs.get(SINK), job="my job", topic_prefix="eqiad.", delivery_guarantee="exactly_once")
    table = sink_table_options(sink)
    assert table["sink.delivery-guarantee"] == "exactly-once"
    assert table["sink.transactional-id-prefix"] == "my_job-sink"
    # below the brokers' default transaction.max.timeout.ms (Flink's own default is 1 h)
    assert table["properties.transaction.timeout.ms"] == "900000"

    custom = endpoint(
        kafka, "sink", configs.get(SINK), topic_prefix="eqiad.", delivery_guarantee="exactly_once",
        transactional_id_prefix="pcc-eqiad", properties={"transaction.timeout.ms": 60000},
    )
    table = sink_table_options(custom)
    assert (table["sink.transactional-id-prefix"], table["properties.transaction.timeout.ms"]) == ("pcc-eqiad", "60000")


def test_properties_pass_through_with_secrets_from_the_environment(
    kafka: KafkaConnector, configs: StreamConfigs, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = f"s3cr3t-{uuid.uuid4().hex}"
    monkeypatch.setenv("TEST_KAFKA_PASSWORD", secret)
    properties = {
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.jaas.config": 'org.apache.kafka.common.security.scram.ScramLoginModule required username="evgen" password="${TEST_KAFKA_PASSWORD}";',
        "ssl.truststore.location": "${TEST_KAFKA_TRUSTSTORE:-/etc/ssl/kafka.jks}",
        "linger.ms": 5,
        "enable.idempotence": True,
    }
    sink = endpoint(kafka, "sink", configs.get(SINK), topic_prefix="eqiad.", properties=properties)

    table = sink_table_options(sink)

    assert table["properties.security.protocol"] == "SASL_SSL"
    assert table["properties.sasl.jaas.config"].endswith(f'password="{secret}";')
    assert table["properties.ssl.truststore.location"] == "/etc/ssl/kafka.jks"
    assert (table["properties.linger.ms"], table["properties.enable.idempotence"]) == ("5", "true")
    # options keep the reference, not the secret, and never show property values
    assert "${TEST_KAFKA_PASSWORD}" not in repr(sink.options) and "ScramLoginModule" not in repr(sink.options)
    assert secret not in repr(sink.options) and secret not in str(sink.options)


def test_literal_secrets_are_masked_in_options(kafka: KafkaConnector) -> None:
    options = kafka.parse_options("source", {"bootstrap_servers": "a:1", "properties": {"ssl.key.password": "hunter2"}})
    assert isinstance(options, KafkaOptions)
    assert "hunter2" not in repr(options) and "hunter2" not in str(options.model_dump())
    assert options.properties["ssl.key.password"].get_secret_value() == "hunter2"


def test_missing_environment_variable_is_named_not_leaked(
    kafka: KafkaConnector, configs: StreamConfigs, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TEST_KAFKA_MISSING", raising=False)
    monkeypatch.setenv("TEST_KAFKA_USER", "visible-user-value")
    jaas = "user=${TEST_KAFKA_USER} password=${TEST_KAFKA_MISSING}"
    source = endpoint(kafka, "source", configs.get(SOURCE), properties={"sasl.jaas.config": jaas})
    with pytest.raises(ConfigError) as info:
        source_table_options(source)
    message = str(info.value)
    assert message.startswith("source: kafka property 'sasl.jaas.config': ")
    assert "TEST_KAFKA_MISSING" in message and "visible-user-value" not in message and "\n" not in message


# ---------------------------------------------------------------------------- real Flink jobs on the real broker


def flink_env(*, parallelism: int = 1, checkpoint_ms: int | None = None, mode: str = "process") -> Any:
    """A local mini-cluster environment with the Kafka connector jar (Python workers in processes by default).

    Thread mode runs Python in an interpreter embedded in the JVM: it finds this venv's
    packages through PYTHONPATH (set by the caller).
    """
    from pyflink.common import Configuration
    from pyflink.datastream import StreamExecutionEnvironment

    from evgen.jars import pipeline_jars_for

    conf = Configuration()
    conf.set_string("pipeline.jars", ";".join(pipeline_jars_for(["kafka"])))
    conf.set_string("python.executable", sys.executable)
    conf.set_string("python.client.executable", sys.executable)
    conf.set_string("python.execution-mode", mode)
    # the Kafka source's admin thread may log after the job's classloader closed
    conf.set_string("classloader.check-leaked-classloader", "false")
    env = StreamExecutionEnvironment.get_execution_environment(conf)
    env.set_parallelism(parallelism)
    if checkpoint_ms:
        env.enable_checkpointing(checkpoint_ms)
    return env


def epoch_ms(dt: str) -> int:
    return int(datetime.fromisoformat(dt.replace("Z", "+00:00")).timestamp() * 1000)


def event_key(event: dict[str, Any], key_fields: dict[str, str]) -> str:
    """The record key Event Platform producers write: JSON of the message_key_fields values."""
    key: dict[str, Any] = {}
    for name, path in key_fields.items():
        value: Any = event
        for part in path.split("."):
            value = value[part]
        key[name] = value
    return json.dumps(key, separators=(",", ":"))


def fresh_events(templates: list[dict[str, Any]], copies: int) -> list[dict[str, Any]]:
    """``copies`` of every template, each with a new ``meta.id`` (and a distinct ``meta.dt`` second)."""
    events = []
    for n in range(copies):
        for template in templates:
            event = json.loads(json.dumps(template))
            event["meta"]["id"] = str(uuid.uuid4())
            event["meta"]["dt"] = f"2024-10-04T15:{n // 60 % 60:02d}:{n % 60:02d}Z"
            events.append(event)
    return events


def records_for_sink(stream: Any, key_fields: dict[str, str]) -> Any:
    """Map JSON strings to sink records (key from message_key_fields, ts from meta.dt) inside Flink."""
    from evgen.connectors.base import sink_record_type

    def to_row(value: str) -> Any:  # runs in the Python worker: only stdlib, pyflink and evgen here
        import datetime as dt
        import json as js

        from evgen.connectors.base import sink_record

        event = js.loads(value)
        key: dict[str, Any] = {}
        for name, path in key_fields.items():
            field: Any = event
            for part in path.split("."):
                field = field[part]
            key[name] = field
        ts = dt.datetime.fromisoformat(event["meta"]["dt"].replace("Z", "+00:00"))
        return sink_record(js.dumps(key, separators=(",", ":")), value, int(ts.timestamp() * 1000))

    return stream.map(to_row, sink_record_type())


@pytest.fixture
def streams(configs: StreamConfigs, kafka_broker: KafkaBroker) -> Iterator[tuple[StreamConfig, StreamConfig]]:
    """A private copy of page_change (source, 2 partitions per topic) and page_content_change (sink, 3)."""
    source, sink = private_stream(configs.get(SOURCE)), private_stream(configs.get(SINK))
    kafka_broker.create_topics(source.topics, partitions=2)
    kafka_broker.create_topics(sink.topics, partitions=3)
    yield source, sink


def publish(broker: KafkaBroker, stream: StreamConfig, events: list[dict[str, Any]]) -> None:
    """Half of ``events`` to each of the stream's topics (eqiad., codfw.), keyed and timestamped."""
    for i, topic in enumerate(stream.topics):
        produce(
            broker.bootstrap_servers, topic, events[i :: len(stream.topics)],
            key=lambda e: event_key(e, stream.message_key_fields), timestamp_ms=lambda e: epoch_ms(e["meta"]["dt"]),
        )


def ids(records: list[Any]) -> list[str]:
    return sorted(r.json()["meta"]["id"] for r in records)


#: The same pipeline in a fresh interpreter with thread-mode Python workers: thread mode's
#: embedded interpreter takes PYTHONPATH from the JVM's environment, fixed when PyFlink's
#: gateway JVM starts, so it runs in its own process.
THREAD_MODE_JOB = """
import json, sys
from evgen.connectors import Endpoint, get_connector
from evgen.streamconfig import StreamConfig
sys.path.insert(0, sys.argv[1])
from test_kafka import flink_env, records_for_sink
servers, source, sink = sys.argv[2], StreamConfig.from_dict(json.loads(sys.argv[3])), StreamConfig.from_dict(json.loads(sys.argv[4]))
kafka = get_connector("kafka")
env = flink_env(parallelism=2, mode="thread")
src = Endpoint("source", "thread_job", source, "/x/1.0.0", kafka.parse_options("source", {"bootstrap_servers": servers, "group_id": sys.argv[5], "bounded": True}))
out = Endpoint("sink", "thread_job", sink, "/x/1.0.0", kafka.parse_options("sink", {"bootstrap_servers": servers, "topic_prefix": "eqiad."}))
kafka.write(records_for_sink(kafka.read(env, src), sink.message_key_fields), out)
env.execute("kafka-to-kafka-thread-mode")
"""


@pytest.mark.kafka
@pytest.mark.flink
@pytest.mark.parametrize("mode", ["process", "thread"])
def test_kafka_to_kafka_keys_and_timestamps(
    kafka: KafkaConnector, kafka_broker: KafkaBroker, streams: tuple[StreamConfig, StreamConfig],
    page_change_events: list[dict[str, Any]], mode: str,
) -> None:
    source_stream, sink_stream = streams
    events = fresh_events(page_change_events, copies=10)
    publish(kafka_broker, source_stream, events)
    servers = kafka_broker.bootstrap_servers
    group = f"g-{uuid.uuid4()}"

    if mode == "thread":
        env_vars = child_environment(drop=("FLINK_",))
        env_vars["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
        args = [str(Path(__file__).parent), servers, json.dumps(source_stream.to_dict()), json.dumps(sink_stream.to_dict()), group]
        done = subprocess.run([sys.executable, "-c", THREAD_MODE_JOB, *args], env=env_vars, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-3000:]
    else:
        env = flink_env(parallelism=2)
        source = endpoint(kafka, "source", source_stream, bootstrap_servers=servers, group_id=group, bounded=True)
        sink = endpoint(kafka, "sink", sink_stream, bootstrap_servers=servers, topic_prefix="eqiad.")
        kafka.write(records_for_sink(kafka.read(env, source), sink_stream.message_key_fields), sink)
        env.execute("kafka-to-kafka")

    eqiad_out, codfw_out = sink_stream.topics
    out = consume_all(servers, [eqiad_out])
    assert consume_all(servers, [codfw_out]) == []
    assert ids(out) == sorted(e["meta"]["id"] for e in events)  # both source topics read, nothing lost or doubled
    expected = {e["meta"]["id"]: e for e in events}
    for record in out:
        event = expected[record.json()["meta"]["id"]]
        assert record.json() == event
        assert record.key == event_key(event, sink_stream.message_key_fields)
        assert record.timestamp_ms == epoch_ms(event["meta"]["dt"])
    partitions_by_key: dict[str | None, set[int]] = {}
    for record in out:
        partitions_by_key.setdefault(record.key, set()).add(record.partition)
    assert all(len(p) == 1 for p in partitions_by_key.values())


@pytest.mark.kafka
@pytest.mark.flink
def test_exactly_once_sink_with_checkpoints(
    kafka: KafkaConnector, kafka_broker: KafkaBroker, streams: tuple[StreamConfig, StreamConfig],
    page_change_events: list[dict[str, Any]],
) -> None:
    source_stream, sink_stream = streams
    events = fresh_events(page_change_events, copies=5)
    publish(kafka_broker, source_stream, events)
    servers = kafka_broker.bootstrap_servers

    env = flink_env(checkpoint_ms=500)
    source = endpoint(kafka, "source", source_stream, bootstrap_servers=servers, group_id=f"g-{uuid.uuid4()}", bounded=True)
    sink = endpoint(
        kafka, "sink", sink_stream, job=f"eos-{uuid.uuid4().hex[:8]}", bootstrap_servers=servers,
        topic_prefix="codfw.", delivery_guarantee="exactly_once",
    )
    kafka.write(records_for_sink(kafka.read(env, source), sink_stream.message_key_fields), sink)
    env.execute("kafka-exactly-once")

    committed = consume_all(servers, [sink_stream.topics[1]], isolation_level="read_committed")
    assert ids(committed) == sorted(e["meta"]["id"] for e in events)
    # written in transactions: commit markers take offsets too
    assert sum(end_offsets(servers, [sink_stream.topics[1]]).values()) > len(committed)


@pytest.mark.kafka
@pytest.mark.flink
def test_restart_resumes_from_committed_offsets(
    kafka: KafkaConnector, kafka_broker: KafkaBroker, streams: tuple[StreamConfig, StreamConfig],
    page_change_events: list[dict[str, Any]],
) -> None:
    """Stop, start again with the same consumer group and no state: no gap, no repeat (failover semantics).

    The job runs unbounded and is cancelled only once its checkpoints committed the end of every
    source partition: a bounded job may finish before its last (asynchronous) commit lands, and
    then the next run re-reads a few records (at-least-once, as the README says).
    """
    source_stream, sink_stream = streams
    servers = kafka_broker.bootstrap_servers
    group = f"g-{uuid.uuid4()}"
    first, second = fresh_events(page_change_events, copies=2), fresh_events(page_change_events, copies=3)

    def run_until_committed(outputs: int) -> dict[tuple[str, int], int]:
        env = flink_env(checkpoint_ms=300)
        source = endpoint(kafka, "source", source_stream, bootstrap_servers=servers, group_id=group)
        sink = endpoint(kafka, "sink", sink_stream, bootstrap_servers=servers, topic_prefix="eqiad.")
        kafka.write(records_for_sink(kafka.read(env, source), sink_stream.message_key_fields), sink)
        client = env.execute_async("kafka-resume")
        try:
            assert len(wait_for_records(servers, [sink_stream.topics[0]], outputs, timeout_s=120)) >= outputs
            ends = {tp: end for tp, end in end_offsets(servers, source_stream.topics).items() if end > 0}
            deadline = time.monotonic() + 60
            while (committed := committed_offsets(servers, group, source_stream.topics)) != ends and time.monotonic() < deadline:
                time.sleep(0.2)
            return committed
        finally:
            client.cancel().result()

    publish(kafka_broker, source_stream, first)
    after_first = run_until_committed(len(first))
    assert sum(after_first.values()) == len(first)
    publish(kafka_broker, source_stream, second)
    after_second = run_until_committed(len(first) + len(second))

    out = consume_all(servers, [sink_stream.topics[0]])
    assert ids(out) == sorted(e["meta"]["id"] for e in first + second)
    # the group's committed offsets moved to the end of every source partition that holds records
    assert after_second == {tp: end for tp, end in end_offsets(servers, source_stream.topics).items() if end > 0}


@pytest.mark.kafka
@pytest.mark.flink
def test_read_records_topic_subset_from_a_timestamp(
    kafka: KafkaConnector, kafka_broker: KafkaBroker, streams: tuple[StreamConfig, StreamConfig],
) -> None:
    from evgen.connectors.base import sink_record_type

    source_stream, sink_stream = streams
    servers = kafka_broker.bootstrap_servers
    eqiad, codfw = source_stream.topics
    t0 = 1_700_000_000_000
    for topic in (eqiad, codfw):
        produce(servers, topic, [{"n": n, "topic": topic} for n in range(10)],
                key=lambda e: f"k{e['n']}", timestamp_ms=lambda e: t0 + e["n"], partition=0)
    produce(servers, eqiad, [b"not json at all"], key=lambda e: "raw", timestamp_ms=lambda e: t0 + 100, partition=0)

    env = flink_env()
    source = endpoint(
        kafka, "source", source_stream, bootstrap_servers=servers, group_id=f"g-{uuid.uuid4()}",
        topics=[eqiad], starting_offsets=f"timestamp:{t0 + 5}", bounded=True,
    )

    def describe(record: Any) -> Any:
        import json as js

        from evgen.connectors.base import sink_record

        fields = {"key": record[0], "value": record[1], "topic": record[2], "partition": record[3], "offset": record[4], "ts": record[5]}
        return sink_record(record[0], js.dumps(fields), record[5])

    kafka.write(kafka.read_records(env, source).map(describe, sink_record_type()),
                endpoint(kafka, "sink", sink_stream, bootstrap_servers=servers, topic_prefix="eqiad."))
    env.execute("kafka-read-records")

    seen = sorted((r.json() for r in consume_all(servers, [sink_stream.topics[0]])), key=lambda d: d["offset"])
    expected = [
        {"key": f"k{n}", "value": json.dumps({"n": n, "topic": eqiad}, separators=(",", ":")), "topic": eqiad,
         "partition": 0, "offset": n, "ts": t0 + n}
        for n in range(5, 10)
    ] + [{"key": "raw", "value": "not json at all", "topic": eqiad, "partition": 0, "offset": 10, "ts": t0 + 100}]
    assert seen == expected

"""The ``kafka`` connector: a stream's Kafka topics as source, sink or error sink.

Topics come from the stream config. A source reads all of the stream's topics
(e.g. ``eqiad.`` and ``codfw.`` prefixed) or a configured subset, in a consumer
group, and yields each record's value (JSON) as a string; :meth:`KafkaConnector.read_records`
also gives the key, topic, partition, offset and timestamp. A sink writes
``(key, value, ts)`` rows to ``topic_prefix + stream`` (which must be one of the
stream's topics) with the row's key as record key (so Kafka's default
partitioner places events as other producers do) and ``ts`` as record timestamp.

Options (``source``: S, ``sink``/``error_sink``: K)::

    bootstrap_servers: "127.0.0.1:9092"          # S K, required
    group_id: my_job                             # S, default: the job name
    topics: [eqiad.mediawiki.page_change.v1]     # S, default: every topic of the stream
    starting_offsets: committed-earliest         # S, committed-earliest | committed-latest |
                                                 #    earliest | latest | timestamp:<epoch ms>
    bounded: false                               # S, true: stop at the latest offsets seen at start
    topic_prefix: "eqiad."                       # K, needed when the stream has several topics
    delivery_guarantee: at_least_once            # K, or exactly_once (Kafka transactions)
    transactional_id_prefix: my_job-sink         # K, exactly_once only; default "<job>-<role>"
    properties:                                  # S K, Kafka client properties, passed through
      security.protocol: SASL_SSL
      sasl.jaas.config: "${KAFKA_JAAS}"          # ${VAR} / ${VAR:-default}: from the environment

Property values are kept as secrets (masked in reprs) and read from the
environment when the job is built; they are never printed. Offsets are
committed to the group when checkpoints complete, so a job restarted with the
same group resumes where it stopped; ``exactly_once`` also commits the sink's
transactions on checkpoints (enable checkpointing with it; a consumer must read
with ``isolation.level=read_committed``).

Implemented with the Table API Kafka connector of ``flink-sql-connector-kafka``
(raw key and value formats, the ``timestamp`` metadata column), attached to the
job's ``StreamExecutionEnvironment`` so everything runs as one Flink job.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Mapping

from pydantic import SecretStr, field_validator

from evgen.connectors.base import Connector, ConnectorOptions, Endpoint, register
from evgen.errors import ConfigError
from evgen.runtime.config import expand_env

if TYPE_CHECKING:
    from pyflink.datastream import DataStream, StreamExecutionEnvironment
    from pyflink.table import Table, TableDescriptor

__all__ = ["KafkaConnector", "KafkaOptions", "sink_table_options", "sink_topic", "source_table_options", "source_topics"]

#: Flink's Kafka connector for apache-flink 2.2 (the shaded "sql" jar: one file, no transitive deps).
FLINK_KAFKA_CONNECTOR = "org.apache.flink:flink-sql-connector-kafka:5.0.0-2.2"

_STARTING = re.compile(r"^(committed-earliest|committed-latest|earliest|latest|timestamp:\d+)$")
_SOURCE_ONLY = frozenset({"group_id", "topics", "starting_offsets", "bounded"})
_SINK_ONLY = frozenset({"topic_prefix", "delivery_guarantee", "transactional_id_prefix"})
#: Client properties evgen sets itself from options (or Flink manages).
_RESERVED = {
    "bootstrap.servers": "bootstrap_servers",
    "group.id": "group_id",
    "transactional.id": "transactional_id_prefix",
    "key.serializer": None,
    "value.serializer": None,
    "key.deserializer": None,
    "value.deserializer": None,
    "enable.auto.commit": None,
}
#: Kafka brokers' default transaction.max.timeout.ms; Flink's default producer timeout (1 h) exceeds it.
_TRANSACTION_TIMEOUT_MS = "900000"


class KafkaOptions(ConnectorOptions):
    """Options of the ``kafka`` connector (see the module docstring)."""

    bootstrap_servers: str
    group_id: str | None = None
    topics: tuple[str, ...] | None = None
    starting_offsets: str = "committed-earliest"
    bounded: bool = False
    topic_prefix: str | None = None
    delivery_guarantee: Literal["at_least_once", "exactly_once"] = "at_least_once"
    transactional_id_prefix: str | None = None
    properties: dict[str, SecretStr] = {}

    @field_validator("bootstrap_servers")
    @classmethod
    def _servers(cls, value: str) -> str:
        servers = [s.strip() for s in value.split(",")]
        if not all(re.match(r"^[^\s:]+:\d+$", s) for s in servers):
            raise ValueError(f"{value!r} is not a comma-separated list of host:port")
        return ",".join(servers)

    @field_validator("starting_offsets")
    @classmethod
    def _starting(cls, value: str) -> str:
        if not _STARTING.match(value):
            raise ValueError(
                f"{value!r} is not one of committed-earliest, committed-latest, earliest, latest, timestamp:<epoch ms>"
            )
        return value

    @field_validator("topics")
    @classmethod
    def _topics(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if value is not None and not value:
            raise ValueError("must name at least one topic (leave it out for all of the stream's topics)")
        return value

    @field_validator("properties", mode="before")
    @classmethod
    def _scalars_as_strings(cls, value: Any) -> Any:
        """YAML numbers and booleans (``linger.ms: 5``, ``enable.idempotence: true``) as Kafka strings."""
        if isinstance(value, Mapping):
            return {
                k: (str(v).lower() if isinstance(v, bool) else str(v) if isinstance(v, (int, float)) else v)
                for k, v in value.items()
            }
        return value

    @field_validator("properties")
    @classmethod
    def _properties(cls, value: dict[str, SecretStr]) -> dict[str, SecretStr]:
        for key in value:
            if key in _RESERVED:
                instead = _RESERVED[key]
                hint = f"use the {instead!r} option" if instead else "evgen and Flink set it"
                raise ValueError(f"{key!r} cannot be set as a property: {hint}")
        return value


class KafkaConnector(Connector):
    """Kafka source and sink on the topics of a stream's config."""

    name = "kafka"
    Options = KafkaOptions
    maven_artifacts: ClassVar[tuple[str, ...]] = (FLINK_KAFKA_CONNECTOR,)

    def parse_options(self, role: str, options: Mapping[str, Any] | None) -> ConnectorOptions:
        parsed = super().parse_options(role, options)
        given = set(parsed.model_fields_set)
        wrong = sorted(given & (_SINK_ONLY if role == "source" else _SOURCE_ONLY))
        if wrong:
            kind = "sinks" if role == "source" else "sources"
            raise ConfigError(f"{role}: kafka option(s) {', '.join(wrong)} only apply to {kind}")
        assert isinstance(parsed, KafkaOptions)
        if parsed.transactional_id_prefix and parsed.delivery_guarantee != "exactly_once":
            raise ConfigError(f"{role}: kafka option transactional_id_prefix needs delivery_guarantee: exactly_once")
        return parsed

    def read(self, env: StreamExecutionEnvironment, endpoint: Endpoint) -> DataStream:
        """The values (JSON strings) of the stream's records; tombstones (null values) are skipped."""
        from pyflink.datastream import DataStream
        from pyflink.table import DataTypes
        from pyflink.table.expressions import col
        from pyflink.table.types import _to_java_data_type

        t_env, table = self._source_table(env, endpoint)
        values = table.where(col("value").is_not_null).select(col("value"))
        # Converted to strings on the JVM: no Python operator (and no Row) per record.
        j_strings = t_env._j_tenv.toDataStream(values._j_table, _to_java_data_type(DataTypes.STRING()))
        return DataStream(j_strings)

    def read_records(self, env: StreamExecutionEnvironment, endpoint: Endpoint) -> DataStream:
        """Rows ``(key, value, topic, partition, offset, ts)`` with ``ts`` in epoch ms (tombstones included)."""
        t_env, table = self._source_table(env, endpoint)
        return t_env.to_data_stream(table).map(_record_row, source_record_type()).name(f"{endpoint.role}:kafka:record")

    def write(self, records: DataStream, endpoint: Endpoint) -> None:
        """Write rows ``(key, value, ts)`` to the sink topic (key and timestamp become the record's)."""
        from pyflink.table import StreamTableEnvironment
        from pyflink.table.expressions import col, to_timestamp_ltz

        descriptor = _descriptor(_sink_schema(), sink_table_options(endpoint))
        t_env = StreamTableEnvironment.create(records.get_execution_environment())
        table = t_env.from_data_stream(records).select(col("key"), col("value"), to_timestamp_ltz(col("ts"), 3))
        statements = t_env.create_statement_set()
        statements.add_insert(descriptor, table)
        statements.attach_as_datastream()

    def _source_table(self, env: StreamExecutionEnvironment, endpoint: Endpoint) -> tuple[Any, Table]:
        from pyflink.table import StreamTableEnvironment

        descriptor = _descriptor(_source_schema(), source_table_options(endpoint))
        t_env = StreamTableEnvironment.create(env)
        return t_env, t_env.from_descriptor(descriptor)


def source_topics(endpoint: Endpoint) -> tuple[str, ...]:
    """The topics a source reads: the configured subset (checked) or all of the stream's."""
    options = _options(endpoint)
    stream_topics = tuple(endpoint.stream.topics)
    if options.topics is None:
        if not stream_topics:
            raise ConfigError(f"{endpoint.role}: stream {endpoint.stream.stream!r} has no topics in the stream config")
        return stream_topics
    unknown = [t for t in options.topics if t not in stream_topics]
    if unknown:
        raise ConfigError(
            f"{endpoint.role}: topic(s) {', '.join(unknown)} are not topics of stream {endpoint.stream.stream!r} "
            f"(its topics: {', '.join(stream_topics) or 'none'})"
        )
    return tuple(dict.fromkeys(options.topics))


def sink_topic(endpoint: Endpoint) -> str:
    """The topic a sink writes: ``topic_prefix + stream``, which must be one of the stream's topics."""
    options = _options(endpoint)
    stream = endpoint.stream.stream
    topics = tuple(endpoint.stream.topics)
    if options.topic_prefix is None:
        if len(topics) == 1:
            return topics[0]
        prefixes = ", ".join(repr(p) for p in (endpoint.stream.topic_prefixes or ())) or "a prefix"
        raise ConfigError(
            f"{endpoint.role}: stream {stream!r} has topics {', '.join(topics) or 'none'}; "
            f"set the kafka option topic_prefix ({prefixes}) to pick the one to write"
        )
    topic = options.topic_prefix + stream
    if topic not in topics:
        raise ConfigError(
            f"{endpoint.role}: topic {topic!r} (topic_prefix {options.topic_prefix!r} + stream) is not a topic of "
            f"stream {stream!r} (its topics: {', '.join(topics) or 'none'})"
        )
    return topic


def source_table_options(endpoint: Endpoint) -> dict[str, str]:
    """The Flink Kafka table options of a source endpoint (secrets resolved; do not print)."""
    options = _options(endpoint)
    table = {
        "topic": ";".join(source_topics(endpoint)),
        "properties.bootstrap.servers": options.bootstrap_servers,
        "properties.group.id": options.group_id or endpoint.job,
        **_FORMATS,
    }
    start = options.starting_offsets
    if start.startswith("committed-"):
        table["scan.startup.mode"] = "group-offsets"
        table["properties.auto.offset.reset"] = start.removeprefix("committed-")
    elif start.startswith("timestamp:"):
        table["scan.startup.mode"] = "timestamp"
        table["scan.startup.timestamp-millis"] = start.removeprefix("timestamp:")
    else:
        table["scan.startup.mode"] = f"{start}-offset"
    if options.bounded:
        table["scan.bounded.mode"] = "latest-offset"
    table.update(_client_properties(endpoint))
    return table


def sink_table_options(endpoint: Endpoint) -> dict[str, str]:
    """The Flink Kafka table options of a sink endpoint (secrets resolved; do not print)."""
    options = _options(endpoint)
    table = {
        "topic": sink_topic(endpoint),
        "properties.bootstrap.servers": options.bootstrap_servers,
        "sink.delivery-guarantee": options.delivery_guarantee.replace("_", "-"),
        **_FORMATS,
    }
    properties = _client_properties(endpoint)
    if options.delivery_guarantee == "exactly_once":
        table["sink.transactional-id-prefix"] = options.transactional_id_prefix or _id(f"{endpoint.job}-{endpoint.role}")
        properties.setdefault("properties.transaction.timeout.ms", _TRANSACTION_TIMEOUT_MS)
    table.update(properties)
    return table


def source_record_type() -> Any:
    """Flink type of :meth:`KafkaConnector.read_records` rows."""
    from pyflink.common import Types

    return Types.ROW_NAMED(
        ["key", "value", "topic", "partition", "offset", "ts"],
        [Types.STRING(), Types.STRING(), Types.STRING(), Types.INT(), Types.LONG(), Types.LONG()],
    )


# ---------------------------------------------------------------------------- internals

_FORMATS = {
    "key.format": "raw",
    "key.fields": "key",
    "value.format": "raw",
    "value.fields-include": "EXCEPT_KEY",
}


def _options(endpoint: Endpoint) -> KafkaOptions:
    if not isinstance(endpoint.options, KafkaOptions):
        raise ConfigError(f"{endpoint.role}: the kafka connector got options of another connector")
    return endpoint.options


def _client_properties(endpoint: Endpoint) -> dict[str, str]:
    """``properties.*`` table options, with ``${VAR}`` references read from the environment."""
    import os

    resolved: dict[str, str] = {}
    for key, secret in _options(endpoint).properties.items():
        try:
            resolved[f"properties.{key}"] = expand_env(secret.get_secret_value(), os.environ)
        except ConfigError as e:
            raise ConfigError(f"{endpoint.role}: kafka property {key!r}: {e}") from None
    return resolved


def _id(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", text)


def _descriptor(schema: Any, options: Mapping[str, str]) -> TableDescriptor:
    from pyflink.table import TableDescriptor

    builder = TableDescriptor.for_connector("kafka").schema(schema)
    for key, value in options.items():
        builder = builder.option(key, value)
    return builder.build()


def _source_schema() -> Any:
    from pyflink.table import DataTypes, Schema

    return (
        Schema.new_builder()
        .column("key", DataTypes.STRING())
        .column("value", DataTypes.STRING())
        .column_by_metadata("topic", DataTypes.STRING(), None, True)
        .column_by_metadata("partition", DataTypes.INT(), None, True)
        .column_by_metadata("offset", DataTypes.BIGINT(), None, True)
        .column_by_metadata("ts", DataTypes.TIMESTAMP_LTZ(3), "timestamp", True)
        .build()
    )


def _sink_schema() -> Any:
    from pyflink.table import DataTypes, Schema

    return (
        Schema.new_builder()
        .column("key", DataTypes.BYTES())
        .column("value", DataTypes.BYTES())
        .column_by_metadata("ts", DataTypes.TIMESTAMP_LTZ(3), "timestamp")
        .build()
    )


def _record_row(row: Any) -> Any:
    from pyflink.common import Row

    ts = row[5]
    return Row(row[0], row[1], row[2], row[3], row[4], None if ts is None else ts.to_epoch_milli())


register(KafkaConnector())

"""The connector contract shared by file, Kafka and in-memory connectors.

A source turns an :class:`Endpoint` into a ``DataStream`` of JSON strings (one
event each, exactly the bytes the producer wrote, decoded as UTF-8). A sink
consumes a ``DataStream`` of :func:`sink_record_type` rows ``(key, value, ts)``:
``value`` the event's JSON (UTF-8 bytes), ``key`` the JSON of its
``message_key_fields`` (UTF-8 bytes, or None), ``ts`` the event time in epoch
milliseconds (or None). Bytes, because Python hands bytes to the JVM as one copy,
while Flink turns a ``str`` into its own string data a character at a time.

    class MyConnector(Connector):
        name = "mine"
        class Options(ConnectorOptions):
            path: str
        def read(self, env, endpoint): ...
        def write(self, records, endpoint): ...
    register(MyConnector())
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Mapping

from pydantic import BaseModel, ConfigDict, ValidationError

from evgen.errors import ConfigError, summarize

if TYPE_CHECKING:
    from pyflink.datastream import DataStream, StreamExecutionEnvironment

    from evgen.streamconfig import StreamConfig


class ConnectorOptions(BaseModel):
    """Base of every connector's options: unknown keys are an error."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class Endpoint:
    """One side of a job as a connector sees it."""

    role: str  # "source" | "sink" | "error_sink"
    job: str
    stream: StreamConfig
    schema_uri: str
    options: ConnectorOptions
    extra: Mapping[str, Any] = field(default_factory=dict)


class Connector(ABC):
    """A named source/sink implementation."""

    name: ClassVar[str]
    Options: ClassVar[type[ConnectorOptions]] = ConnectorOptions
    #: Jars (Maven coordinates "group:artifact:version") the connector needs on pipeline.jars.
    maven_artifacts: ClassVar[tuple[str, ...]] = ()
    #: False: ``write`` gets a DataStream of the events' JSON strings instead of records.
    wants_records: ClassVar[bool] = True

    def parse_options(self, role: str, options: Mapping[str, Any] | None) -> ConnectorOptions:
        """Validate ``options``; raise a one-line :class:`ConfigError` when they are wrong."""
        try:
            return self.Options.model_validate(dict(options or {}))
        except ValidationError as e:
            problems = summarize(e.errors(include_url=False), root="<options>")
            raise ConfigError(f"{role}: bad options for connector {self.name!r}: {problems}") from None

    @abstractmethod
    def read(self, env: StreamExecutionEnvironment, endpoint: Endpoint) -> DataStream:
        """Return a DataStream of JSON strings (``Types.STRING()``)."""

    def read_rows(self, env: StreamExecutionEnvironment, endpoint: Endpoint, schema: Mapping[str, Any]) -> DataStream:
        """The Row data path: a DataStream of Rows decoded on the JVM (see :mod:`evgen.runtime.rows`)."""
        raise ConfigError(f"{endpoint.role}: connector {self.name!r} has no Row data path (use flink.data_path: json)")

    @abstractmethod
    def write(self, records: DataStream, endpoint: Endpoint) -> None:
        """Attach a sink for ``records``: rows of :func:`sink_record_type`, or JSON
        strings when the connector's ``wants_records`` is False."""


_REGISTRY: dict[str, Connector] = {}


def register(connector: Connector) -> Connector:
    """Make ``connector`` available by its name."""
    _REGISTRY[connector.name] = connector
    return connector


def get_connector(name: str) -> Connector:
    """Return the connector called ``name``; :class:`ConfigError` if unknown."""
    _load_builtin()
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise ConfigError(f"unknown connector {name!r} (known: {known})") from None


def all_connectors() -> list[Connector]:
    """Every registered connector (built-ins included), sorted by name."""
    _load_builtin()
    return [_REGISTRY[name] for name in sorted(_REGISTRY)]


def _load_builtin() -> None:
    import importlib

    for module in ("file", "memory", "kafka"):
        importlib.import_module(f"evgen.connectors.{module}")


def sink_record_type() -> Any:
    """Flink type of what sinks consume: ``Row(key: BYTES, value: BYTES, ts: LONG)``."""
    from pyflink.common import Types

    binary = Types.PRIMITIVE_ARRAY(Types.BYTE())
    return Types.ROW_NAMED(["key", "value", "ts"], [binary, binary, Types.LONG()])


def sink_record(key: str | None, value: str, ts: int | None) -> Any:
    """One row of :func:`sink_record_type`.

        >>> tuple(sink_record('{"id":1}', '{"id":1,"t":"é"}', 1700000000000))
        (b'{"id":1}', b'{"id":1,"t":"\\xc3\\xa9"}', 1700000000000)
    """
    from pyflink.common import Row

    return Row(None if key is None else key.encode(), value.encode(), ts)

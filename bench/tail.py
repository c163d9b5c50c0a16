"""``bench_tail``: a connector for measuring end-to-end latency of an evgen job on files.

Source: a directory watched continuously (Flink ``FileSource`` in monitoring mode, a new
file discovered within ``discovery_ms``), so a writer can feed events at a fixed rate — an
unbounded source, like Kafka. Sink: before every output reaches the file sink, a final map
appends ``<meta.id> <epoch ms>`` to a probe file (flushed per line): the sink-side
timestamp of each event. Importing this module registers the connector.

    source: {stream: "mediawiki.page_change.v1:1.1.0", connector: bench_tail,
             options: {path: /tmp/lat/in, discovery_ms: 50}}
    sink:   {stream: "mediawiki.page_content_change.v1:1.1.0", connector: bench_tail,
             options: {path: /tmp/lat/out, probe: /tmp/lat/probe.txt}}
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

from pyflink.common import Duration, Types, WatermarkStrategy
from pyflink.common.serialization import Encoder
from pyflink.datastream.connectors.file_system import FileSink, FileSource, StreamFormat
from pyflink.datastream.functions import MapFunction, RuntimeContext

from evgen.connectors.base import Connector, ConnectorOptions, Endpoint, register

if TYPE_CHECKING:
    from pyflink.datastream import DataStream, StreamExecutionEnvironment


class TailOptions(ConnectorOptions):
    path: str
    discovery_ms: int = 50
    probe: str | None = None


@dataclass
class SinkProbe(MapFunction):  # type: ignore[misc]
    """Pass outputs through, appending ``<meta.id> <epoch ms>`` for each to ``path``."""

    path: str
    _file: IO[str] | None = None

    def open(self, runtime_context: RuntimeContext) -> None:
        self._file = open(self.path, "a", encoding="utf-8")

    def map(self, value: str) -> str:
        stamp = time.time() * 1000.0
        assert self._file is not None
        self._file.write(f"{json.loads(value)['meta']['id']} {stamp:.3f}\n")
        self._file.flush()
        return value

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


class TailConnector(Connector):
    name = "bench_tail"
    Options = TailOptions
    wants_records = False

    def read(self, env: StreamExecutionEnvironment, endpoint: Endpoint) -> DataStream:
        assert isinstance(endpoint.options, TailOptions)
        source = (
            FileSource.for_record_stream_format(StreamFormat.text_line_format(), endpoint.options.path)
            .monitor_continuously(Duration.of_millis(endpoint.options.discovery_ms))
            .build()
        )
        return env.from_source(source, WatermarkStrategy.no_watermarks(), "bench_tail")

    def write(self, records: DataStream, endpoint: Endpoint) -> None:
        assert isinstance(endpoint.options, TailOptions)
        if endpoint.options.probe:
            records = records.map(SinkProbe(endpoint.options.probe), output_type=Types.STRING()).name("sink-probe")
        sink = FileSink.for_row_format(endpoint.options.path, Encoder.simple_string_encoder("UTF-8")).build()
        records.sink_to(sink).name(f"{endpoint.role}:bench_tail")


def read_probe(path: Path) -> dict[str, float]:
    """``meta.id`` → sink timestamp (epoch ms) of every complete probe line so far."""
    stamps: dict[str, float] = {}
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return stamps
    for line in text.splitlines(keepends=True):
        if not line.endswith("\n"):
            break  # being written
        event_id, _, ms = line.strip().partition(" ")
        stamps[event_id] = float(ms)
    return stamps


register(TailConnector())

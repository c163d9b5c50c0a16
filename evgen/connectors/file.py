"""The ``file`` connector: JSON lines in, JSON lines out (backfill and local runs).

Source options: ``path`` — one file or a directory (read recursively; names
starting with ``.`` or ``_`` are skipped). The source is bounded: the job ends
when every line was read. Sink options: ``path`` — a directory that receives
``<prefix>-*.jsonl`` part files (``prefix`` defaults to ``part``).

    source: {stream: "mediawiki.page_change.v1:1.1.0", connector: file,
             options: {path: tests/fixtures/events.jsonl}}
    sink:   {stream: "mediawiki.page_content_change.v1:1.1.0", connector: file,
             options: {path: out/output}}

Relative paths are taken from the job directory.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from pyflink.common import WatermarkStrategy
from pyflink.common.serialization import Encoder
from pyflink.datastream.connectors.file_system import (
    BucketAssigner,
    FileSink,
    FileSource,
    OutputFileConfig,
    StreamFormat,
)

from evgen.connectors.base import Connector, ConnectorOptions, Endpoint, register
from evgen.errors import ConfigError

if TYPE_CHECKING:
    from pyflink.datastream import DataStream, StreamExecutionEnvironment


class FileOptions(ConnectorOptions):
    path: str
    prefix: str = "part"


def resolve_path(endpoint: Endpoint, path: str) -> Path:
    """``path`` made absolute against the job directory (``endpoint.extra['job_dir']``)."""
    p = Path(path).expanduser()
    if not p.is_absolute():
        p = Path(endpoint.extra.get("job_dir", ".")) / p
    return p.resolve()


def read_json_lines(path: Path) -> list[str]:
    """Every non-empty line of the JSON-lines file(s) at ``path`` (file or directory)."""
    files = [path] if path.is_file() else sorted(
        p for p in path.rglob("*") if p.is_file() and not p.name.startswith((".", "_"))
    )
    return [line for f in files for line in f.read_text(encoding="utf-8").splitlines() if line.strip()]


def _same(value: Any) -> Any:
    return value


class FileConnector(Connector):
    name = "file"
    Options = FileOptions
    wants_records = False

    def read(self, env: StreamExecutionEnvironment, endpoint: Endpoint) -> DataStream:
        assert isinstance(endpoint.options, FileOptions)
        path = resolve_path(endpoint, endpoint.options.path)
        if not path.exists():
            raise ConfigError(f"{endpoint.role}: input path {path} does not exist")
        source = FileSource.for_record_stream_format(StreamFormat.text_line_format(), str(path)).build()
        return env.from_source(source, WatermarkStrategy.no_watermarks(), f"file:{path.name}")

    def read_rows(self, env: StreamExecutionEnvironment, endpoint: Endpoint, schema: Mapping[str, Any]) -> DataStream:
        """JSON lines decoded on the JVM by Flink's ``json`` format into typed Rows.

        A line the JVM cannot decode fails the job: this path has no error event
        for undecodable input, which is one reason the JSON path is the default.
        """
        from pyflink.table import StreamTableEnvironment

        from evgen.runtime.rows import sql_columns

        assert isinstance(endpoint.options, FileOptions)
        path = resolve_path(endpoint, endpoint.options.path)
        if not path.exists():
            raise ConfigError(f"{endpoint.role}: input path {path} does not exist")
        t_env = StreamTableEnvironment.create(env)
        table = f"evgen_{endpoint.role}"
        t_env.execute_sql(
            f"CREATE TEMPORARY TABLE {table} (\n  {sql_columns(schema)}\n) WITH ("
            f"'connector' = 'filesystem', 'path' = '{path.as_uri()}', 'format' = 'json', "
            "'json.fail-on-missing-field' = 'false', 'json.ignore-parse-errors' = 'false')"
        )
        from evgen.runtime.rows import row_type

        # Re-type the Table's external Row type as the schema's RowTypeInfo, which keyed
        # Python operators can carry.
        return t_env.to_data_stream(t_env.from_path(table)).map(_same, output_type=row_type(schema))

    def write(self, records: DataStream, endpoint: Endpoint) -> None:
        assert isinstance(endpoint.options, FileOptions)
        path = resolve_path(endpoint, endpoint.options.path)
        if path.exists() and not path.is_dir():
            raise ConfigError(f"{endpoint.role}: output path {path} exists and is not a directory")
        sink = (
            FileSink.for_row_format(str(path), Encoder.simple_string_encoder("UTF-8"))
            .with_bucket_assigner(BucketAssigner.base_path_bucket_assigner())
            .with_output_file_config(
                OutputFileConfig.builder().with_part_prefix(endpoint.options.prefix).with_part_suffix(".jsonl").build()
            )
            .build()
        )
        records.sink_to(sink).name(f"{endpoint.role}:file")


register(FileConnector())

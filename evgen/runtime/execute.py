"""Building the Flink job graph for a :class:`~evgen.runtime.stream.Stream` and
running it on the local mini-cluster, with a live status line and a summary.

    source ─> [event time from dt] ─> key_by(bucket: stable hash of the partition key)
           ─> mini-batch process: decode, validate, canary, filters, process,
              normalize, validate (thread pool) ─> sink
                                   └─ errors (side output) ─> error sink
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping, TextIO

import pydantic_core
from pyflink.common import Duration, Row, Types, WatermarkStrategy
from pyflink.common.watermark_strategy import TimestampAssigner

from evgen.runtime.events import Router
from evgen.runtime.operators import BatchSettings, DirectFunction, MiniBatchFunction, error_tag, record_type
from evgen.runtime.rows import row_type, to_row
from evgen.runtime.shutdown import GracefulStop, savepoint_location
from evgen.runtime.status import read_status

if TYPE_CHECKING:
    from evgen.runtime.stream import Stream

POLL_INTERVAL_S = 0.5


@dataclass
class RunResult:
    """What a run did: counts per outcome (``in``, ``out``, ``error.<type>``,
    ``filtered.<reason>``), wall time and final job status."""

    counts: Counter[str] = field(default_factory=Counter)
    elapsed_s: float = 0.0
    status: str = "FINISHED"

    @property
    def inputs(self) -> int:
        return self.counts["in"]

    @property
    def outputs(self) -> int:
        return self.counts["out"]

    @property
    def errors(self) -> int:
        return sum(v for k, v in self.counts.items() if k.startswith("error."))

    @property
    def filtered(self) -> int:
        return sum(v for k, v in self.counts.items() if k.startswith("filtered."))

    def summary(self) -> str:
        """A few lines: counts per outcome, elapsed, rate."""
        rate = self.inputs / self.elapsed_s if self.elapsed_s else 0.0
        lines = [
            f"job {self.status.lower()}: {self.inputs} in, {self.outputs} out, "
            f"{self.errors} errors, {self.filtered} filtered in {self.elapsed_s:.1f}s ({rate:,.0f} events/s)"
        ]
        for key in sorted(k for k in self.counts if k.startswith(("error.", "filtered."))):
            lines.append(f"  {key}: {self.counts[key]}")
        return "\n".join(lines)


@dataclass(frozen=True)
class _EventTime(TimestampAssigner):
    router: Router

    def extract_timestamp(self, value: Any, record_timestamp: int) -> int:
        ts = self.router.event_time(value)
        return ts if ts is not None else record_timestamp


@dataclass(frozen=True)
class _Bucket:
    router: Router

    def __call__(self, value: Any) -> int:
        return self.router.bucket(value)


def build_graph(stream: Stream, env: Any, status_dir: str | None, *, attach_sink: bool = True) -> Any:
    """Attach the job's operators to ``env``; return the DataStream of outputs."""
    job = stream.job
    chain = stream.chain()
    batch = stream.batch or BatchSettings()
    sink_records = job.sink.connector.wants_records
    error_records = job.error_sink.connector.wants_records
    parallelism = job.config.flink.parallelism
    event_time = job.config.event_time
    router = Router(
        buckets=1 if parallelism == 1 else batch.buckets * parallelism,
        key_fields=job.source.codec.key_fields,
        partition_key=stream.partition_key,
        source=job.source.codec,
    )

    row_schema = job.source.codec.schema if job.config.flink.data_path == "row" else None
    if row_schema is not None:
        source = job.source.connector.read_rows(env, job.source.endpoint, row_schema)
    else:
        source = job.source.connector.read(env, job.source.endpoint)
    if event_time.enabled:
        strategy = WatermarkStrategy.for_bounded_out_of_orderness(
            Duration.of_millis(event_time.max_out_of_orderness_ms)
        ).with_timestamp_assigner(_EventTime(router))
        if event_time.idleness_ms:
            strategy = strategy.with_idleness(Duration.of_millis(event_time.idleness_ms))
        source = source.assign_timestamps_and_watermarks(strategy)
    resources = tuple(_configured(r, job.config.http) for r in stream.resources)
    args = (chain, batch, sink_records, error_records, status_dir, resources, row_schema,
            job.config.flink.python_log_level)
    if batch.sync and parallelism == 1:
        # One subtask keeps every key in order without keying: no shuffle, no state, no timers.
        process = source.process(DirectFunction(*args), output_type=record_type(sink_records))
    else:
        keyed = source.key_by(_Bucket(router), key_type=Types.INT())
        process = keyed.process(MiniBatchFunction(*args), output_type=record_type(sink_records))
    results = process.name("evgen:process")
    errors = results.get_side_output(error_tag(error_records))
    if attach_sink:
        job.sink.connector.write(results, job.sink.endpoint)
    job.error_sink.connector.write(errors, job.error_sink.endpoint)
    return results


@dataclass(frozen=True)
class _ToRow:
    schema: Mapping[str, Any]

    def __call__(self, value: Any) -> Row:
        return to_row(pydantic_core.from_json(value if isinstance(value, str) else value[1]), self.schema)


def output_table(stream: Stream) -> Any:
    """The outputs of ``stream`` as a Table of the sink schema's row type (see ``Stream.to_table``)."""
    from pyflink.table import StreamTableEnvironment

    from evgen.runtime.flinkenv import create_environment

    job = stream.job
    env = create_environment(job.config.flink, job.job_dir, job.connector_jars())
    t_env = StreamTableEnvironment.create(env)
    results = build_graph(stream, env, None, attach_sink=False)
    schema = job.sink.codec.schema
    rows = results.map(_ToRow(schema), output_type=row_type(schema)).name("evgen:to_row")
    return t_env.from_data_stream(rows)


def _configured(resource: Any, http_config: dict[str, Any]) -> Any:
    from evgen.http import HttpSettings

    return _OpenWith(resource, HttpSettings.from_job_config({"http": http_config}))


@dataclass(frozen=True)
class _OpenWith:
    """A resource plus the settings it is opened with in each operator."""

    resource: Any
    settings: Any

    def open(self, pool_size: int, loop: Any = None) -> None:
        self.resource.open(self.settings, pool_size, loop)

    def close(self) -> None:
        self.resource.close()


def execute_on_flink(stream: Stream, *, out: TextIO | None = None) -> RunResult:
    """Run ``stream`` on the local mini-cluster until it finishes; return the counts."""
    from evgen.runtime.flinkenv import create_environment

    job = stream.job
    live = job.config.live_status
    out = out or sys.stderr
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="evgen-status-") as status_dir:
        env = create_environment(job.config.flink, job.job_dir, job.connector_jars())
        build_graph(stream, env, status_dir)
        client = env.execute_async(job.name)
        status = "RUNNING"
        last_line = 0.0
        savepoints = savepoint_location(job.config.flink, job.job_dir, status_dir)
        with GracefulStop(client, savepoints, lambda line: _say(line, out)) as stop:  # SIGTERM/SIGINT: drain
            while True:
                status = _job_status(client)
                if status in ("FINISHED", "FAILED", "CANCELED", "TERMINATED"):
                    break
                stop.poll(status)
                now = time.monotonic()
                if live and now - last_line >= 1.0:
                    _live_line(read_status(status_dir), now - started, out)
                    last_line = now
                time.sleep(POLL_INTERVAL_S)
        client.get_job_execution_result().result()  # raises with Flink's cause if the job failed
        if stop.savepoint and job.config.flink.checkpoint_dir:
            _say(f"stopped; drained savepoint: {stop.savepoint}", out)
        status = "FINISHED" if status == "TERMINATED" else status
        counts = read_status(status_dir)
    result = RunResult(counts=counts, elapsed_s=time.monotonic() - started, status=status)
    if live:
        out.write(("\r\033[K" if out.isatty() else "") + result.summary() + "\n")
    return result


def _say(line: str, out: TextIO) -> None:
    out.write(("\r\033[K" if out.isatty() else "") + line + "\n")
    out.flush()


def _job_status(client: Any) -> str:
    """The job's status; ``TERMINATED`` once the local mini-cluster has shut down."""
    from py4j.protocol import Py4JJavaError

    try:
        return client.get_job_status().result().name
    except Py4JJavaError:
        return "TERMINATED"


def _live_line(counts: Counter[str], elapsed: float, out: TextIO) -> None:
    errors = sum(v for k, v in counts.items() if k.startswith("error."))
    rate = counts["in"] / elapsed if elapsed else 0.0
    line = f"[{elapsed:6.1f}s] in {counts['in']:,}  out {counts['out']:,}  errors {errors:,}  ({rate:,.0f} in/s)"
    out.write(("\r\033[K" + line) if out.isatty() else line + "\n")
    out.flush()

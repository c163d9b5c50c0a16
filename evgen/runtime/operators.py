"""The mini-batching Flink function every evgen job runs.

``MiniBatchFunction`` is a KeyedProcessFunction over *buckets* (a stable hash
of the partition key, see :class:`~evgen.runtime.events.Router`). It collects a
bucket's inputs and, when ``batch_size`` are in or ``batch_duration_ms`` has
passed, runs them through the :class:`~evgen.runtime.chain.EventChain` on a
thread pool local to the operator — one contiguous slice per worker — and emits
the results in input order (the eventutilities design). Errors leave through a
side output to the error sink.

Pending inputs live in Flink keyed state (a MapState by arrival sequence) until their results are emitted, so a
checkpoint taken mid-batch holds them; after a restore the bucket's (also
checkpointed) timer runs them again: at-least-once, nothing lost. A far-future
event-time timer flushes every bucket on the final watermark of a bounded input
(pending processing-time timers are dropped there). At most ``buckets ×
batch_size`` inputs wait per subtask, so memory is bounded and Flink's
backpressure reaches the source.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Iterator, Mapping

from pyflink.common import Row, Types
from pyflink.datastream import KeyedProcessFunction, OutputTag, RuntimeContext
from pyflink.datastream.state import MapStateDescriptor
from pyflink.datastream.time_domain import TimeDomain

from evgen.connectors.base import sink_record_type
from evgen.errors import ConfigError
from evgen.runtime.chain import Completed, EventChain
from evgen.runtime.events import encode_json, to_epoch_ms
from evgen.runtime.status import OperatorStatus

#: An event-time timer this late fires only on the final watermark of a bounded input.
END_OF_INPUT = 2**62



def payload_type(row_schema: Mapping[str, Any] | None) -> Any:
    """Flink type of a job's inputs: JSON strings, or Rows of the source schema."""
    if row_schema is None:
        return Types.STRING()
    from evgen.runtime.rows import row_type

    return row_type(row_schema)


def record_type(records: bool) -> Any:
    """Flink type of what a sink consumes: records, or bare JSON strings."""
    return sink_record_type() if records else Types.STRING()


def error_tag(records: bool) -> OutputTag:
    return OutputTag("evgen-errors", record_type(records))


@dataclass(frozen=True)
class BatchSettings:
    """Mini-batch triggers and the worker pool of a job's ``process`` steps."""

    batch_size: int = 100
    batch_duration_ms: int = 1000
    max_workers: int = 8
    sync: bool = False
    buckets: int = 16

    def __post_init__(self) -> None:
        if min(self.batch_size, self.batch_duration_ms, self.max_workers, self.buckets) < 1:
            raise ConfigError(f"batch settings must all be >= 1 (got {self})")


def subtask_index(runtime_context: RuntimeContext) -> int:
    """This subtask's index. PyFlink 2.2's thread-mode context calls a Java method that
    Flink 2 moved to ``getTaskInfo()``; go there directly when needed."""
    try:
        return runtime_context.get_index_of_this_subtask()
    except AttributeError:
        return int(runtime_context._runtime_context.getTaskInfo().getIndexOfThisSubtask())  # type: ignore[attr-defined]


class MiniBatchFunction(KeyedProcessFunction):
    """Run the chain over count/time-triggered mini-batches on a thread pool."""

    def __init__(
        self,
        chain: EventChain,
        settings: BatchSettings,
        records: bool,
        error_records: bool,
        status_dir: str | None,
        resources: tuple[Any, ...] = (),
        row_schema: Mapping[str, Any] | None = None,
    ):
        self.chain = chain
        self.row_schema = row_schema  # inputs are Rows of this schema (the Row data path)
        self.settings = settings
        self.records = records
        self.error_records = error_records
        self.errors_tag = error_tag(error_records)
        self.status_dir = status_dir
        self.resources = resources
        self.status: OperatorStatus | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._pending: dict[int, list[Any]] = {}
        self._deadlines: dict[int, int] = {}
        self._state: Any = None

    def open(self, runtime_context: RuntimeContext) -> None:
        self.status = OperatorStatus(
            self.status_dir, "process", subtask_index(runtime_context), runtime_context.get_metrics_group()
        )
        for resource in self.resources:
            resource.open(self.settings.max_workers)
        if not self.settings.sync and self.settings.max_workers > 1:
            self._pool = ThreadPoolExecutor(self.settings.max_workers, thread_name_prefix="evgen-process")
        # A MapState (sequence number -> input): in thread mode a put costs ~0.1x a ListState.add.
        self._state = runtime_context.get_map_state(
            MapStateDescriptor("evgen-pending", Types.LONG(), payload_type(self.row_schema))
        )
        self._seq = time.time_ns()  # grows across restarts, so restored inputs sort first
        self._pending = {}
        self._deadlines = {}

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        for resource in self.resources:
            resource.close()
        if self.status is not None:
            self.status.flush()

    def process_element(self, raw: Any, ctx: KeyedProcessFunction.Context) -> Iterator[Any]:
        assert self.status is not None
        self.status.count("in")
        if self.settings.sync:
            yield from self._emit([self._run_one(raw)])
            return
        bucket = ctx.get_current_key()
        pending = self._bucket(bucket)
        pending.append(raw)
        self._seq += 1
        self._state.put(self._seq, raw)
        if len(pending) == 1:
            timers = ctx.timer_service()
            deadline = timers.current_processing_time() + self.settings.batch_duration_ms
            self._deadlines[bucket] = deadline
            timers.register_processing_time_timer(deadline)
            timers.register_event_time_timer(END_OF_INPUT)
        if len(pending) >= self.settings.batch_size:
            yield from self._flush(bucket)

    def on_timer(self, timestamp: int, ctx: KeyedProcessFunction.OnTimerContext) -> Iterator[Any]:
        bucket = ctx.get_current_key()
        due = ctx.time_domain() == TimeDomain.EVENT_TIME or timestamp >= self._deadlines.get(bucket, 0)
        if due and self._bucket(bucket):
            yield from self._flush(bucket)

    def _bucket(self, bucket: int) -> list[str]:
        """The bucket's pending inputs; after a restore, reloaded from keyed state."""
        pending = self._pending.get(bucket)
        if pending is None:
            pending = self._pending[bucket] = [raw for _, raw in sorted(self._state.items())]
        return pending

    def _flush(self, bucket: int) -> Iterator[Any]:
        batch = self._pending.pop(bucket, [])
        self._deadlines.pop(bucket, None)
        assert self.status is not None
        self.status.observe_batch(len(batch))
        yield from self._emit(self._run_batch(batch))
        self._state.clear()
        self.status.maybe_flush()

    def _run_one(self, raw: str) -> tuple[Completed, float]:
        start = time.perf_counter()
        result = self.chain.complete(raw)
        return result, (time.perf_counter() - start) * 1000.0

    def _run_slice(self, raws: list[str]) -> list[tuple[Completed, float]]:
        return [self._run_one(raw) for raw in raws]

    def _run_batch(self, batch: list[str]) -> list[tuple[Completed, float]]:
        """Results in input order; one contiguous slice of the batch per worker."""
        if self._pool is None or len(batch) == 1:
            return self._run_slice(batch)
        size = -(-len(batch) // self.settings.max_workers)
        slices = [batch[i : i + size] for i in range(0, len(batch), size)]
        return [result for part in self._pool.map(self._run_slice, slices) for result in part]

    def _emit(self, results: list[tuple[Completed, float]]) -> Iterator[Any]:
        status = self.status
        assert status is not None
        for result, latency_ms in results:
            status.observe_latency(latency_ms)
            if result.error is not None:
                status.count(f"error.{result.error['error_type']}")
                value = encode_json(result.error)
                yield self.errors_tag, (Row(None, value, to_epoch_ms(result.error["dt"])) if self.error_records else value)
            elif result.dropped is not None:
                status.count(f"filtered.{result.dropped}")
            else:
                status.count("completed")
                for key, value, ts in result.outputs:
                    status.count("out")
                    yield Row(key, value, ts) if self.records else value

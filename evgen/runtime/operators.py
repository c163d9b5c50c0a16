"""The mini-batching Flink function every evgen job runs.

``MiniBatchFunction`` is a KeyedProcessFunction over *buckets* (a stable hash
of the partition key, see :class:`~evgen.runtime.events.Router`). Each input is
submitted to a thread pool local to the operator as it arrives; when a bucket
has ``batch_size`` inputs or ``batch_duration_ms`` has passed, the batch's
results are emitted in input order (the eventutilities design). Errors leave
through a side output to the error sink. ``DirectFunction`` is the synchronous,
unkeyed variant for functions that do no I/O at parallelism 1.

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
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Iterator, Mapping

from pyflink.common import Row, Types
from pyflink.datastream import KeyedProcessFunction, OutputTag, ProcessFunction, RuntimeContext
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


class _Outcomes:
    """What both process functions share: the chain, counters, and turning results into records."""

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
        self.settings = settings
        self.records = records
        self.error_records = error_records
        self.errors_tag = error_tag(error_records)
        self.status_dir = status_dir
        self.resources = resources
        self.row_schema = row_schema  # inputs are Rows of this schema (the Row data path)
        self.status: OperatorStatus | None = None

    def _open(self, runtime_context: RuntimeContext) -> None:
        self.status = OperatorStatus(
            self.status_dir, "process", subtask_index(runtime_context), runtime_context.get_metrics_group()
        )
        for resource in self.resources:
            resource.open(self.settings.max_workers)

    def close(self) -> None:
        for resource in self.resources:
            resource.close()
        if self.status is not None:
            self.status.flush()

    def _run_one(self, raw: Any) -> tuple[Completed, float]:
        start = time.perf_counter()
        result = self.chain.complete(raw)
        return result, (time.perf_counter() - start) * 1000.0

    def _emit(self, result: Completed, latency_ms: float) -> Iterator[Any]:
        status = self.status
        assert status is not None
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


class DirectFunction(_Outcomes, ProcessFunction):
    """Synchronous processing, one event at a time, chained right after the source.

    For functions that do no I/O (a thread pool cannot speed up Python code that holds the
    GIL) at parallelism 1, where order is kept without keying: no shuffle, no state, no timers.
    """

    def open(self, runtime_context: RuntimeContext) -> None:
        self._open(runtime_context)

    def process_element(self, raw: Any, ctx: ProcessFunction.Context) -> Iterator[Any]:
        assert self.status is not None
        self.status.count("in")
        yield from self._emit(*self._run_one(raw))
        self.status.maybe_flush()


class MiniBatchFunction(_Outcomes, KeyedProcessFunction):
    """Run the chain over count/time-triggered mini-batches on a thread pool (or synchronously)."""

    def __init__(self, *args: Any, **kwargs: Any):
        _Outcomes.__init__(self, *args, **kwargs)
        self._pool: ThreadPoolExecutor | None = None
        self._pending: dict[int, list[Future[tuple[Completed, float]]]] = {}
        self._deadlines: dict[int, int] = {}
        self._state: Any = None
        self._seq = 0

    def open(self, runtime_context: RuntimeContext) -> None:
        self._open(runtime_context)
        self._pending = {}
        self._deadlines = {}
        if self.settings.sync:
            return
        self._pool = ThreadPoolExecutor(self.settings.max_workers, thread_name_prefix="evgen-process")
        # A MapState (sequence number -> input): in thread mode a put costs ~0.1x a ListState.add.
        self._state = runtime_context.get_map_state(
            MapStateDescriptor("evgen-pending", Types.LONG(), payload_type(self.row_schema))
        )
        self._seq = time.time_ns()  # grows across restarts, so restored inputs sort first

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        super().close()

    def process_element(self, raw: Any, ctx: KeyedProcessFunction.Context) -> Iterator[Any]:
        assert self.status is not None
        self.status.count("in")
        if self._pool is None:
            yield from self._emit(*self._run_one(raw))
            self.status.maybe_flush()
            return
        bucket = ctx.get_current_key()
        pending = self._bucket(bucket)
        pending.append(self._pool.submit(self._run_one, raw))  # work starts as events arrive
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

    def _bucket(self, bucket: int) -> list[Future[tuple[Completed, float]]]:
        """The bucket's in-flight work; after a restore, re-submitted from keyed state."""
        pending = self._pending.get(bucket)
        if pending is None:
            assert self._pool is not None
            restored = [raw for _, raw in sorted(self._state.items())]
            pending = self._pending[bucket] = [self._pool.submit(self._run_one, raw) for raw in restored]
        return pending

    def _flush(self, bucket: int) -> Iterator[Any]:
        """Wait for the bucket's batch and emit its results in input order."""
        batch = self._pending.pop(bucket, [])
        self._deadlines.pop(bucket, None)
        assert self.status is not None
        self.status.observe_batch(len(batch))
        for future in batch:
            yield from self._emit(*future.result())
        self._state.clear()
        self.status.maybe_flush()

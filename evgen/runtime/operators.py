"""The two Flink functions every evgen job runs.

``AdmitFunction`` (a ProcessFunction chained after the source) decodes and
validates inputs, drops canaries, applies early filters and computes the
partition key. ``MiniBatchFunction`` (a KeyedProcessFunction) submits each
admitted event to a thread pool local to the operator and emits the results of a
batch, in input order, when ``batch_size`` events are in or
``batch_duration_ms`` has passed — the eventutilities design. At most one batch
is in flight, so memory is bounded and Flink's backpressure reaches the source.
Errors leave through a side output to the error sink.
"""

from __future__ import annotations

import time
import zlib
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Iterator

from pyflink.common import Row, Types
from pyflink.datastream import KeyedProcessFunction, OutputTag, ProcessFunction, RuntimeContext
from pyflink.datastream.state import ListStateDescriptor
from pyflink.datastream.time_domain import TimeDomain

from evgen.connectors.base import sink_record_type
from evgen.runtime.chain import Admitted, Completed, EventChain, Rejected
from evgen.runtime.events import encode_json, to_epoch_ms
from evgen.runtime.status import OperatorStatus

#: An event-time timer this late fires only on the final watermark, at the end of a bounded input.
END_OF_INPUT = 2**63 - 2

ADMITTED_TYPE = Types.ROW_NAMED(["key", "raw", "ts"], [Types.STRING(), Types.STRING(), Types.LONG()])


def record_type(records: bool) -> Any:
    """Flink type of what a sink consumes: records, or bare JSON strings."""
    return sink_record_type() if records else Types.STRING()


def error_tag(records: bool) -> OutputTag:
    return OutputTag("evgen-errors", record_type(records))


@dataclass(frozen=True)
class BatchSettings:
    """Mini-batch triggers and the worker pool of a ``process`` step."""

    batch_size: int = 100
    batch_duration_ms: int = 1000
    max_workers: int = 8
    sync: bool = False
    buckets: int = 16

    def __post_init__(self) -> None:
        from evgen.errors import ConfigError

        if min(self.batch_size, self.batch_duration_ms, self.max_workers, self.buckets) < 1:
            raise ConfigError(f"batch settings must all be >= 1 (got {self})")


class _Emitting:
    """Shared output plumbing: turn outcomes into sink records / error records."""

    def __init__(self, chain: EventChain, records: bool, error_records: bool, status_dir: str | None):
        self.chain = chain
        self.records = records
        self.error_records = error_records
        self.errors_tag = error_tag(error_records)
        self.status_dir = status_dir
        self.status: OperatorStatus | None = None

    def _open_status(self, runtime_context: RuntimeContext, operator: str) -> None:
        self.status = OperatorStatus(
            self.status_dir, operator, runtime_context.get_index_of_this_subtask(), runtime_context.get_metrics_group()
        )

    def _error(self, event: dict[str, Any]) -> tuple[OutputTag, Any]:
        assert self.status is not None
        self.status.count(f"error.{event['error_type']}")
        value = encode_json(event)
        if self.error_records:
            return self.errors_tag, Row(None, value, to_epoch_ms(event["dt"]))
        return self.errors_tag, value


class AdmitFunction(_Emitting, ProcessFunction):
    """Decode, validate, filter and key every input (see :meth:`EventChain.admit`)."""

    def open(self, runtime_context: RuntimeContext) -> None:
        self._open_status(runtime_context, "admit")

    def process_element(self, value: str, ctx: ProcessFunction.Context) -> Iterator[Any]:
        assert self.status is not None
        self.status.count("in")
        result = self.chain.admit(value)
        if isinstance(result, Admitted):
            yield Row(result.key, result.raw, result.ts)
        elif isinstance(result, Rejected):
            yield self._error(result.error)
        else:
            self.status.count(f"filtered.{result.reason}")
        self.status.maybe_flush()

    def close(self) -> None:
        if self.status is not None:
            self.status.flush()


class MiniBatchFunction(_Emitting, KeyedProcessFunction):
    """Run the process steps in a thread pool, in count/time-triggered mini-batches.

    The stream is keyed by *bucket* (a stable hash of the partition key), so all
    events with one partition key share a bucket and leave in input order. Each
    bucket's pending inputs live in Flink keyed state until their results are
    emitted: a checkpoint taken mid-batch holds them, and after a restore the
    bucket's (also checkpointed) timer re-runs them — at-least-once, nothing lost.
    Work is submitted to the pool as it arrives, so concurrency spans buckets.
    """

    def __init__(
        self,
        chain: EventChain,
        settings: BatchSettings,
        records: bool,
        error_records: bool,
        status_dir: str | None,
        resources: tuple[Any, ...] = (),
    ):
        _Emitting.__init__(self, chain, records, error_records, status_dir)
        self.settings = settings
        self.resources = resources
        self._pool: ThreadPoolExecutor | None = None
        self._pending: dict[int, list[Future[tuple[Completed, float]]]] = {}
        self._deadlines: dict[int, int] = {}
        self._state: Any = None

    def open(self, runtime_context: RuntimeContext) -> None:
        self._open_status(runtime_context, "process")
        for resource in self.resources:
            resource.open(self.settings.max_workers)
        if not self.settings.sync:
            self._pool = ThreadPoolExecutor(self.settings.max_workers, thread_name_prefix="evgen-process")
            self._state = runtime_context.get_list_state(ListStateDescriptor("evgen-pending", Types.STRING()))
        self._pending = {}
        self._deadlines = {}

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=False)
        for resource in self.resources:
            resource.close()
        if self.status is not None:
            self.status.flush()

    def _timed_complete(self, raw: str) -> tuple[Completed, float]:
        start = time.perf_counter()
        result = self.chain.complete(raw)
        return result, (time.perf_counter() - start) * 1000.0

    def _submit(self, raw: str) -> Future[tuple[Completed, float]]:
        assert self._pool is not None
        return self._pool.submit(self._timed_complete, raw)

    def _bucket(self, bucket: int) -> list[Future[tuple[Completed, float]]]:
        """The bucket's in-flight work; after a restore, re-submitted from keyed state."""
        pending = self._pending.get(bucket)
        if pending is None:
            pending = self._pending[bucket] = [self._submit(raw) for raw in self._state.get() or ()]
        return pending

    def process_element(self, value: Row, ctx: KeyedProcessFunction.Context) -> Iterator[Any]:
        raw = value[1]
        if self._pool is None:
            yield from self._emit(*self._timed_complete(raw))
            return
        bucket = ctx.get_current_key()
        pending = self._bucket(bucket)
        pending.append(self._submit(raw))
        self._state.add(raw)
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

    def _flush(self, bucket: int) -> Iterator[Any]:
        batch = self._pending.pop(bucket, [])
        self._deadlines.pop(bucket, None)
        assert self.status is not None
        self.status.observe_batch(len(batch))
        for future in batch:
            yield from self._emit(*future.result())
        self._state.clear()
        self.status.maybe_flush()

    def _emit(self, result: Completed, latency_ms: float) -> Iterator[Any]:
        assert self.status is not None
        self.status.observe_latency(latency_ms)
        if result.error is not None:
            yield self._error(result.error)
        elif result.dropped is not None:
            self.status.count(f"filtered.{result.dropped}")
        else:
            self.status.count("completed")
            for key, value, ts in result.outputs:
                self.status.count("out")
                yield Row(key, value, ts) if self.records else value


def bucket_of(key: str, buckets: int) -> int:
    """A stable bucket for a partition key (same in every process and run)."""
    return zlib.crc32(key.encode("utf-8")) % buckets

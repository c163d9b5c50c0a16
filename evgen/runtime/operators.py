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
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Iterator

from pyflink.common import Row, Types
from pyflink.datastream import KeyedProcessFunction, OutputTag, ProcessFunction, RuntimeContext
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

    def __post_init__(self) -> None:
        from evgen.errors import ConfigError

        if self.batch_size < 1 or self.batch_duration_ms < 1 or self.max_workers < 1:
            raise ConfigError(
                f"batch_size, batch_duration_ms and max_workers must be >= 1 "
                f"(got {self.batch_size}, {self.batch_duration_ms}, {self.max_workers})"
            )


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
    """Run the process steps in a thread pool, in count/time-triggered mini-batches."""

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
        self._batch: list[Future[tuple[Completed, float]]] = []
        self._deadline = 0

    def open(self, runtime_context: RuntimeContext) -> None:
        self._open_status(runtime_context, "process")
        for resource in self.resources:
            resource.open(self.settings.max_workers)
        if not self.settings.sync:
            self._pool = ThreadPoolExecutor(self.settings.max_workers, thread_name_prefix="evgen-process")
        self._batch = []

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

    def process_element(self, value: Row, ctx: KeyedProcessFunction.Context) -> Iterator[Any]:
        if self._pool is None:
            yield from self._emit(*self._timed_complete(value[1]))
            return
        self._batch.append(self._pool.submit(self._timed_complete, value[1]))
        if len(self._batch) == 1:
            timers = ctx.timer_service()
            self._deadline = timers.current_processing_time() + self.settings.batch_duration_ms
            timers.register_processing_time_timer(self._deadline)
            timers.register_event_time_timer(END_OF_INPUT)
        if len(self._batch) >= self.settings.batch_size:
            yield from self._flush()

    def on_timer(self, timestamp: int, ctx: KeyedProcessFunction.OnTimerContext) -> Iterator[Any]:
        if self._batch and (ctx.time_domain() == TimeDomain.EVENT_TIME or timestamp >= self._deadline):
            yield from self._flush()

    def _flush(self) -> Iterator[Any]:
        batch, self._batch = self._batch, []
        assert self.status is not None
        self.status.observe_batch(len(batch))
        for future in batch:
            yield from self._emit(*future.result())
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

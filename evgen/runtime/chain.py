"""The chain of steps one input event goes through, independent of Flink.

``EventChain.complete(raw)`` decodes and validates the input against the source
schema, drops canaries, runs the user's filters and ``process`` steps in order,
and normalizes and validates every output against the sink schema. Every input
ends as outputs, exactly one error event, or a counted drop — nothing is lost.
Flink runs it in the mini-batched keyed operator; :mod:`evgen.testing` runs it
in-process.

    >>> chain = EventChain(source=src_codec, sink=sink_codec, errors=factory,
    ...                    steps=(Step.process(enrich),))         # doctest: +SKIP
    >>> chain.complete(raw_json).outputs                            # doctest: +SKIP
    [('{"wiki_id":"enwiki","page_id":1}', '{"$schema":...}', 1700000000000)]
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from evgen.errors import summarize
from evgen.runtime.errorevents import (
    INVALID_INPUT,
    INVALID_OUTPUT,
    NONE_RETURNED,
    UNDECODABLE_INPUT,
    ErrorEventFactory,
)
from evgen.runtime.events import EventCodec
from evgen.runtime.validation import InvalidEvent

CANARY_DOMAIN = "canary"


@dataclass(frozen=True)
class Step:
    """One user function in the chain: a ``filter`` or a ``process``."""

    kind: Literal["filter", "process"]
    fn: Callable[..., Any]
    name: str

    @classmethod
    def filter(cls, fn: Callable[[Any], bool], name: str | None = None) -> Step:
        return cls("filter", fn, name or _name_of(fn))

    @classmethod
    def process(cls, fn: Callable[[Any], Any], name: str | None = None) -> Step:
        return cls("process", fn, name or _name_of(fn))


def _name_of(fn: Callable[..., Any]) -> str:
    return getattr(inspect.unwrap(fn), "__name__", type(fn).__name__)


@dataclass
class Completed:
    """What became of one input: outputs ``(key, json, ts)``, or an error event, or a drop."""

    outputs: list[tuple[str | None, str, int | None]] = field(default_factory=list)
    error: dict[str, Any] | None = None
    dropped: str | None = None


class _Failure(Exception):
    """Internal: a failure with a stable error type."""

    def __init__(self, error_type: str, message: str, cause: BaseException | None = None):
        super().__init__(message)
        self.error_type = error_type
        self.cause = cause


@dataclass(frozen=True)
class EventChain:
    """Everything needed to turn one raw input into outputs / error / drop; picklable."""

    source: EventCodec
    sink: EventCodec
    errors: ErrorEventFactory
    steps: tuple[Step, ...] = ()
    drop_canary: bool = True
    #: Outputs carry their message key and event time (for sinks that write records, e.g.
    #: Kafka); False leaves both None: a sink of bare JSON lines would not use them.
    keyed: bool = True

    def complete(self, raw: Any) -> Completed:
        """Decode, filter, process, normalize and encode one input (JSON text or Row).

        All or nothing: if any step fails, no output of this input is kept and
        the result is one error event carrying the input.
        """
        started = self._start(raw)
        if isinstance(started, Completed):
            return started
        try:
            items: list[Any] = [started]
            for step in self.steps:
                items = self._run_step(step, items)
                if not items:
                    return Completed(dropped=step.name)
            return Completed(outputs=[self._finish(item) for item in items])
        except Exception as e:
            return self._failed(raw, e)

    async def complete_async(self, raw: Any) -> Completed:
        """:meth:`complete` on an event loop: ``async`` steps (those with ``acall``) are awaited."""
        started = self._start(raw)
        if isinstance(started, Completed):
            return started
        try:
            items: list[Any] = [started]
            for step in self.steps:
                if step.kind == "process" and hasattr(step.fn, "acall"):
                    items = [out for item in items for out in self._outputs_of(step, await step.fn.acall(item))]
                else:
                    items = self._run_step(step, items)
                if not items:
                    return Completed(dropped=step.name)
            return Completed(outputs=[self._finish(item) for item in items])
        except asyncio.CancelledError as e:  # raised by user code, unless this task is being cancelled
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise
            return self._failed(raw, e)
        except Exception as e:
            return self._failed(raw, e)

    @property
    def awaits(self) -> bool:
        """Some step is ``async`` (it has ``acall``): :meth:`complete_async` awaits it."""
        return any(hasattr(step.fn, "acall") for step in self.steps)

    @property
    def blocks(self) -> bool:
        """Some step does blocking I/O (an injected ``requests`` session): on an event loop it
        would stall every other input, so the chain runs on worker threads instead."""
        return any(hasattr(step.fn, "open") and not hasattr(step.fn, "acall") for step in self.steps)

    def _start(self, raw: Any) -> Any:
        """The decoded input event, or what became of it (an error event, the canary drop)."""
        try:
            event = self.source.decode(raw)
        except ValidationError as e:
            return Completed(error=self._input_error(self.source.text(raw), e))
        if self.drop_canary and _is_canary(event):
            return Completed(dropped="canary")
        return event

    def _failed(self, raw: Any, e: BaseException) -> Completed:
        text = self.source.text(raw)
        if isinstance(e, _Failure):
            return Completed(error=self.errors.build(text, error_type=e.error_type, message=str(e), exc=e.cause))
        return Completed(error=self.errors.from_exception(text, e))  # user code

    def _input_error(self, raw: str, e: ValidationError) -> dict[str, Any]:
        errors = e.errors(include_url=False)
        if errors and errors[0]["type"] == "json_invalid":
            return self.errors.build(
                raw, error_type=UNDECODABLE_INPUT, message=f"input is not JSON: {errors[0]['msg']}"
            )
        return self.errors.build(
            raw,
            error_type=INVALID_INPUT,
            message=f"input is not a valid {self.source.stream} event ({self.source.schema_uri}): "
            + summarize(errors, limit=3),
        )

    def _run_step(self, step: Step, items: list[Any]) -> list[Any]:
        if step.kind == "filter":
            return [item for item in items if step.fn(item)]
        return [out for item in items for out in self._outputs_of(step, step.fn(item))]

    @staticmethod
    def _outputs_of(step: Step, result: Any) -> list[Any]:
        """What one call of a process step returned, as a list of events."""
        if result is None:
            raise _Failure(NONE_RETURNED, f"process function {step.name!r} returned None")
        if isinstance(result, (BaseModel, dict)):
            return [result]
        if isinstance(result, Iterable) and not isinstance(result, (str, bytes)):
            return list(result)
        raise _Failure(INVALID_OUTPUT, f"process function {step.name!r} returned a {type(result).__name__}, not an event")

    def _finish(self, item: Any) -> tuple[str | None, str, int | None]:
        try:
            data = self.sink.normalize(item)
        except InvalidEvent as e:
            raise _Failure(
                INVALID_OUTPUT, f"output is not a valid {self.sink.stream} event ({self.sink.schema_uri}): {e}", e
            ) from e
        encoded = self.sink.encode(data)
        if not self.keyed:
            return None, encoded, None
        return self.sink.key_of_dict(data), encoded, self.sink.event_time_ms(data)


def _is_canary(event: Any) -> bool:
    meta = getattr(event, "meta", None)
    return getattr(meta, "domain", None) == CANARY_DOMAIN



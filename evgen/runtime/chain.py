"""The chain of steps one input event goes through, independent of Flink.

A job is ``admit`` (decode + validate against the source schema, drop canaries,
user filters placed before the first ``process``, compute the partition key)
followed by ``complete`` (the user's ``process`` steps and later filters,
output normalization and validation). Flink runs ``admit`` in one operator and
``complete`` in the mini-batched keyed operator; :mod:`evgen.testing` runs both
in-process. Either way every input ends as outputs, one error event, or a
counted drop — nothing is lost.

    >>> chain = EventChain(source=src_codec, sink=sink_codec, errors=factory,
    ...                    steps=(Step.process(enrich),))         # doctest: +SKIP
    >>> admitted = chain.admit(raw_json)                            # doctest: +SKIP
    >>> chain.complete(admitted.raw).outputs                        # doctest: +SKIP
"""

from __future__ import annotations

import inspect
import itertools
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Literal

from pydantic import BaseModel, ValidationError

from evgen.runtime.errorevents import (
    INVALID_INPUT,
    INVALID_OUTPUT,
    NONE_RETURNED,
    UNDECODABLE_INPUT,
    ErrorEventFactory,
)
from evgen.runtime.events import EventCodec, _get_path, encode_json

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

    @property
    def is_generator(self) -> bool:
        target = inspect.unwrap(self.fn)
        return inspect.isgeneratorfunction(target) or inspect.isgeneratorfunction(getattr(target, "__call__", None))


def _name_of(fn: Callable[..., Any]) -> str:
    return getattr(inspect.unwrap(fn), "__name__", type(fn).__name__)


@dataclass(frozen=True)
class Admitted:
    """An input that passed admission: its partition key, raw JSON and event time."""

    key: str
    raw: str
    ts: int | None


@dataclass(frozen=True)
class Rejected:
    """An input that became an error event."""

    error: dict[str, Any]


@dataclass(frozen=True)
class Dropped:
    """An input intentionally filtered out (``reason``: ``canary`` or a filter's name)."""

    reason: str


@dataclass
class Completed:
    """What ``complete`` made of one admitted input: outputs, or an error, or a drop."""

    outputs: list[tuple[str | None, str, int | None]] = field(default_factory=list)  # (key, json, ts)
    error: dict[str, Any] | None = None
    dropped: str | None = None


class _Failure(Exception):
    """Internal: a failure with a stable error type and message."""

    def __init__(self, error_type: str, message: str, cause: BaseException | None = None):
        super().__init__(message)
        self.error_type = error_type
        self.cause = cause


@dataclass
class EventChain:
    """Everything needed to turn one raw input into outputs / error / drop; picklable."""

    source: EventCodec
    sink: EventCodec
    errors: ErrorEventFactory
    steps: tuple[Step, ...] = ()
    partition_key: Callable[[Any], Any] | None = None
    drop_canary: bool = True

    def __post_init__(self) -> None:
        first_process = next((i for i, s in enumerate(self.steps) if s.kind == "process"), len(self.steps))
        self._admission = self.steps[:first_process]
        self._completion = self.steps[first_process:]
        self._key_paths = self.source.key_getters() if self.partition_key is None else {}
        self._round_robin = itertools.count()

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_round_robin"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._round_robin = itertools.count()

    # -- admission ---------------------------------------------------------
    def admit(self, raw: str) -> Admitted | Rejected | Dropped:
        """Decode and validate ``raw``; apply canary and early filters; compute the key."""
        try:
            event = self.source.decode(raw)
        except ValidationError as e:
            return Rejected(self._input_error(raw, e))
        if self.drop_canary and _is_canary(event):
            return Dropped("canary")
        try:
            for step in self._admission:
                if not step.fn(event):
                    return Dropped(step.name)
            key = self._key(event)
        except Exception as e:  # user code
            return Rejected(self.errors.from_exception(raw, e))
        return Admitted(key, raw, _event_time(event))

    def _input_error(self, raw: str, e: ValidationError) -> dict[str, Any]:
        errors = e.errors(include_url=False)
        if errors and errors[0]["type"] == "json_invalid":
            return self.errors.build(
                raw, error_type=UNDECODABLE_INPUT, message=f"input is not a JSON object: {errors[0]['msg']}"
            )
        return self.errors.build(
            raw,
            error_type=INVALID_INPUT,
            message=f"input is not a valid {self.source.stream} event ({self.source.schema_uri}): "
            + _summarize(errors),
        )

    def _key(self, event: Any) -> str:
        if self.partition_key is not None:
            value = self.partition_key(event)
            return value if isinstance(value, str) else encode_json(_jsonable(value))
        if self._key_paths:
            return encode_json({name: _jsonable(_get_path(event, path)) for name, path in self._key_paths.items()})
        return str(next(self._round_robin) % 128)

    # -- completion --------------------------------------------------------
    def complete(self, raw: str) -> Completed:
        """Run the process steps (and later filters) on an admitted input."""
        try:
            items: list[Any] = [self.source.decode(raw)]
            for step in self._completion:
                items = self._run_step(step, items)
                if not items:
                    return Completed(dropped=step.name)
            return Completed(outputs=[self._finish(item) for item in items])
        except _Failure as f:
            return Completed(error=self.errors.build(raw, error_type=f.error_type, message=str(f), exc=f.cause))
        except Exception as e:  # user code
            return Completed(error=self.errors.from_exception(raw, e))

    def _run_step(self, step: Step, items: list[Any]) -> list[Any]:
        if step.kind == "filter":
            return [item for item in items if step.fn(item)]
        out: list[Any] = []
        for item in items:
            result = step.fn(item)
            if result is None:
                raise _Failure(NONE_RETURNED, f"process function {step.name!r} returned None")
            if isinstance(result, (BaseModel, dict)):
                out.append(result)
            elif isinstance(result, Iterable) and not isinstance(result, (str, bytes)):
                out.extend(result)
            else:
                raise _Failure(
                    INVALID_OUTPUT, f"process function {step.name!r} returned a {type(result).__name__}, not an event"
                )
        return out

    def _finish(self, item: Any) -> tuple[str | None, str, int | None]:
        try:
            data = self.sink.normalize(item)
        except (ValidationError, TypeError) as e:
            detail = _summarize(e.errors(include_url=False)) if isinstance(e, ValidationError) else str(e)
            raise _Failure(
                INVALID_OUTPUT, f"output is not a valid {self.sink.stream} event ({self.sink.schema_uri}): {detail}", e
            ) from e
        return self.sink.key_of_dict(data), encode_json(data), self.sink.event_time_ms(data)


def _is_canary(event: Any) -> bool:
    meta = getattr(event, "meta", None)
    return getattr(meta, "domain", None) == CANARY_DOMAIN


def _event_time(event: Any) -> int | None:
    from evgen.runtime.events import to_epoch_ms

    ts = to_epoch_ms(getattr(event, "dt", None))
    if ts is None:
        ts = to_epoch_ms(getattr(getattr(event, "meta", None), "dt", None))
    return ts


def _jsonable(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True)
    return value


def _summarize(errors: list[Any], limit: int = 3) -> str:
    parts = [f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}" for err in errors[:limit]]
    more = len(errors) - limit
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


class Tally:
    """Counts of what happened to inputs: ``in``, ``out``, ``error.<type>``, ``filtered.<reason>``."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def admitted(self, result: Admitted | Rejected | Dropped) -> None:
        self.counts["in"] += 1
        self._outcome(result)

    def _outcome(self, result: Any) -> None:
        if isinstance(result, Rejected):
            self.counts[f"error.{result.error['error_type']}"] += 1
        elif isinstance(result, Dropped):
            self.counts[f"filtered.{result.reason}"] += 1

    def completed(self, result: Completed) -> None:
        if result.error is not None:
            self.counts[f"error.{result.error['error_type']}"] += 1
        elif result.dropped is not None:
            self.counts[f"filtered.{result.dropped}"] += 1
        else:
            self.counts["out"] += len(result.outputs)
            self.counts["completed"] += 1

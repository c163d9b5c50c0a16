"""How one event is read, keyed, normalized and written, independent of Flink.

``EventCodec`` binds a generated model class to its stream: it decodes JSON (or
a Flink Row) into the model, and turns outputs into normalized JSON valid against
the stream's schema, with their message key and event time. ``Router`` gives
each raw input its bucket (a stable hash of the partition key).

    >>> from pydantic import BaseModel
    >>> class Event(BaseModel):
    ...     id: int
    ...     meta: dict[str, str]
    >>> schema = {"type": "object", "properties": {"id": {"type": "integer"}, "meta": {"type": "object"}}}
    >>> codec = EventCodec(Event, stream="my.stream", schema_uri="/my/schema/1.0.0", schema=schema,
    ...                    key_fields={"id": "id"})
    >>> out = codec.normalize(codec.decode('{"id": 1, "meta": {"id": "x"}}'))
    >>> out["$schema"], out["meta"]["stream"], out["meta"]["id"], codec.key_of_dict(out)
    ('/my/schema/1.0.0', 'my.stream', 'x', '{"id":1}')
    >>> codec.normalize({"id": "one"})
    Traceback (most recent call last):
    ...
    evgen.runtime.validation.InvalidEvent: id: "one" is not of type "integer"
"""

from __future__ import annotations

import json
import uuid
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

import pydantic_core
from pydantic import BaseModel

from evgen.runtime.errorevents import utc_now_iso
from evgen.runtime.validation import EventValidator, InvalidEvent


def encode_json(value: Any) -> str:
    """Compact JSON, UTF-8 kept as is (what every sink writes)."""
    return pydantic_core.to_json(value).decode("utf-8")


def encode_error(event: Mapping[str, Any]) -> str:
    """:func:`encode_json` of an error event; should its text have no UTF-8 form (a user
    exception's message with a lone surrogate), the same JSON with non-ASCII escaped, so an
    error event is always written and the operator never fails on it.

        >>> encode_error({"message": "bad \\ud800"})
        '{"message":"bad \\\\ud800"}'
    """
    try:
        return encode_json(event)
    except pydantic_core.PydanticSerializationError:
        return json.dumps(event, ensure_ascii=True, separators=(",", ":"), default=str)


def get_json_path(obj: Any, dotted: str) -> Any:
    """The value at ``dotted`` (``"page.page_id"``) in a JSON-shaped object; None where it stops.

        >>> get_json_path({"page": {"page_id": 7}}, "page.page_id"), get_json_path({"page": 1}, "page.x")
        (7, None)
    """
    value: Any = obj
    for part in dotted.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def message_key(event: Mapping[str, Any], key_fields: Mapping[str, str]) -> str | None:
    """The record key Event Platform producers write: compact JSON of the stream's message key
    fields (``name -> dotted path``), UTF-8 kept as is; None without key fields.

        >>> message_key({"wiki_id": "ruwiki", "page": {"page_id": 7}}, {"wiki_id": "wiki_id", "page_id": "page.page_id"})
        '{"wiki_id":"ruwiki","page_id":7}'
    """
    if not key_fields:
        return None
    return encode_json({name: get_json_path(event, path) for name, path in key_fields.items()})


def to_epoch_ms(value: Any) -> int | None:
    """Epoch milliseconds of an ISO-8601 string or aware datetime; None if neither."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if isinstance(value, datetime) and value.tzinfo is not None:
        return int(value.timestamp() * 1000)
    return None


@dataclass(frozen=True)
class EventCodec:
    """A model class bound to a stream: decode, key, time, normalize, encode."""

    model: type[BaseModel]
    stream: str
    schema_uri: str
    #: The resolved JSONSchema the model was generated from: what outputs are validated
    #: against, and how Flink Rows are read (the Row data path).
    schema: Mapping[str, Any]
    key_fields: Mapping[str, str] = field(default_factory=dict)

    @cached_property
    def validator(self) -> EventValidator:
        """The compiled schema (compiled on first use: a source never needs it)."""
        return EventValidator(self.schema)

    def decode(self, raw: Any) -> BaseModel:
        """Parse and validate ``raw``, a JSON string or a Flink Row (raises ``ValidationError``)."""
        if isinstance(raw, str):
            return self.model.model_validate_json(raw)
        return self.model.model_validate(self.row_to_dict(raw))

    def row_to_dict(self, row: Any) -> dict[str, Any]:
        from evgen.runtime.rows import from_row

        return from_row(row, self.schema)

    def text(self, raw: Any) -> str:
        """The input as JSON text (what error events keep as ``raw_event``)."""
        return raw if isinstance(raw, str) else encode_json(self.row_to_dict(raw))

    def key_of_dict(self, event: Mapping[str, Any]) -> str | None:
        """The message key of a JSON-shaped event, as compact JSON (None without key fields)."""
        return message_key(event, self.key_fields)

    def normalize(self, event: Mapping[str, Any] | BaseModel) -> dict[str, Any]:
        """Set ``$schema``, ``meta.stream``, ``meta.dt`` (now) and ``meta.id`` (if absent);
        validate against the stream's schema; return the JSON-shaped event.

        Raises :class:`~evgen.runtime.validation.InvalidEvent` when the result is not a
        valid event of this stream (or not an event at all).
        """
        try:
            if isinstance(event, BaseModel):
                data = event.model_dump(mode="json", by_alias=True, exclude_unset=True, exclude_none=True, warnings=False)
            elif isinstance(event, Mapping):
                data = pydantic_core.to_jsonable_python(dict(event), by_alias=True)  # datetimes, models -> JSON
            else:
                raise InvalidEvent(f"expected a {self.model.__name__}, got {type(event).__name__}")
        except pydantic_core.PydanticSerializationError as e:
            raise InvalidEvent(str(e)) from None
        data["$schema"] = self.schema_uri
        meta = data.get("meta") or {}
        if not isinstance(meta, Mapping):
            raise InvalidEvent(f"meta: {meta!r} is not an object")
        meta = dict(meta)
        meta["stream"] = self.stream
        meta["dt"] = utc_now_iso()
        if "id" not in meta:
            meta["id"] = str(uuid.uuid4())
        data["meta"] = meta
        self.validator.validate(data)
        return data

    def encode(self, event: Mapping[str, Any]) -> str:
        """The normalized event as compact JSON."""
        return encode_json(event)

    @staticmethod
    def event_time_ms(event: Mapping[str, Any]) -> int | None:
        """Event time of a JSON-shaped event: ``dt``, else ``meta.dt``."""
        ts = to_epoch_ms(event.get("dt"))
        if ts is None:
            meta = event.get("meta")
            ts = to_epoch_ms(meta.get("dt")) if isinstance(meta, Mapping) else None
        return ts



@dataclass(frozen=True)
class Router:
    """Assigns each raw input (JSON text or Row) its bucket and event time.

    The bucket is a stable hash of the partition key, so events with one key
    share a bucket and are processed in order. With one bucket (parallelism 1),
    inputs are not even parsed here.

        >>> Router(buckets=1).bucket('{"a": 1}')
        0
        >>> router = Router(buckets=8, key_fields={"id": "id"})
        >>> router.bucket('{"id": 7, "x": 1}') == router.bucket('{"x": 2, "id": 7}')
        True
    """

    buckets: int
    key_fields: Mapping[str, str] = field(default_factory=dict)
    partition_key: Callable[[Any], Any] | None = None
    source: EventCodec | None = None

    def _parse(self, raw: Any) -> Any:
        try:
            return pydantic_core.from_json(raw) if isinstance(raw, str) else self.source.row_to_dict(raw)  # type: ignore[union-attr]
        except ValueError:
            return None  # the process step turns it into an error event

    def bucket(self, raw: Any) -> int:
        """The bucket of ``raw`` (0 for unparsable input: its error event is made later)."""
        if self.buckets == 1:
            return 0
        if self.partition_key is not None and self.source is not None:
            try:
                value = self.partition_key(self.source.decode(raw))
            except Exception:  # invalid input or user code: the process step reports it
                return 0
            key = value if isinstance(value, str) else encode_json(value)
        else:
            event = self._parse(raw)
            if not isinstance(event, dict):
                return 0
            key = message_key(event, self.key_fields) or encode_json(event)
        return zlib.crc32(key.encode("utf-8")) % self.buckets

    def event_time(self, raw: Any) -> int | None:
        """Epoch ms of the input's ``dt`` (or ``meta.dt``); None if it has none."""
        event = self._parse(raw)
        return EventCodec.event_time_ms(event) if isinstance(event, dict) else None

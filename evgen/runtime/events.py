"""How one event is read, keyed, normalized and written, independent of Flink.

``EventCodec`` binds a generated model class to its stream: it decodes JSON
into the model, extracts the stream's message key and event time, and turns
user outputs into normalized JSON valid against the stream's schema.

    >>> codec = EventCodec(MyModel, stream="my.stream", schema_uri="/my/schema/1.0.0",
    ...                    key_fields={"id": "id"})            # doctest: +SKIP
    >>> event = codec.decode('{"id": 1, ...}')                  # doctest: +SKIP
    >>> codec.key(event)                                        # doctest: +SKIP
    '{"id":1}'
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Mapping

from pydantic import BaseModel

from evgen.runtime.errorevents import utc_now_iso


def encode_json(value: Any) -> str:
    """Compact JSON, UTF-8 kept as is (what every sink writes)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _attribute_path(model: type[BaseModel], dotted: str) -> tuple[str, ...]:
    """Map a JSON path such as ``page.page_id`` to the model's attribute names."""
    names: list[str] = []
    current: Any = model
    for part in dotted.split("."):
        fields = getattr(current, "model_fields", None)
        if fields is None:
            raise KeyError(dotted)
        for name, info in fields.items():
            if part in (name, info.alias):
                names.append(name)
                current = info.annotation
                current = _unwrap_optional(current)
                break
        else:
            raise KeyError(dotted)
    return tuple(names)


def _unwrap_optional(annotation: Any) -> Any:
    args = getattr(annotation, "__args__", None)
    if args:
        non_none = [a for a in args if a is not type(None)]
        if len(non_none) == 1:
            return non_none[0]
    return annotation


def _get_path(obj: Any, path: tuple[str, ...]) -> Any:
    for name in path:
        if obj is None:
            return None
        obj = getattr(obj, name, None) if not isinstance(obj, Mapping) else obj.get(name)
    return obj


def _get_json_path(obj: Mapping[str, Any], dotted: str) -> Any:
    value: Any = obj
    for part in dotted.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


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
    key_fields: Mapping[str, str] = field(default_factory=dict)

    def decode(self, raw: str) -> BaseModel:
        """Parse and validate ``raw`` (raises pydantic ``ValidationError``)."""
        return self.model.model_validate_json(raw)

    def key_getters(self) -> dict[str, tuple[str, ...]]:
        """Attribute paths of the stream's message key fields on the model."""
        return {name: _attribute_path(self.model, path) for name, path in self.key_fields.items()}

    def key_of_dict(self, event: Mapping[str, Any]) -> str | None:
        """The message key of a JSON-shaped event, as compact JSON (None without key fields)."""
        if not self.key_fields:
            return None
        return encode_json({name: _get_json_path(event, path) for name, path in self.key_fields.items()})

    def normalize(self, event: Mapping[str, Any] | BaseModel) -> dict[str, Any]:
        """Set ``$schema``, ``meta.stream``, ``meta.dt`` (now) and ``meta.id`` (if absent);
        validate against the model; return the JSON-shaped event.

        Raises ``pydantic.ValidationError`` (or ``TypeError`` for a non-event) when the
        result is not a valid event of this stream.
        """
        if isinstance(event, BaseModel):
            data = event.model_dump(mode="json", by_alias=True, exclude_unset=True, exclude_none=True)
        elif isinstance(event, Mapping):
            data = dict(event)
        else:
            raise TypeError(f"expected a {self.model.__name__}, got {type(event).__name__}")
        data["$schema"] = self.schema_uri
        meta = dict(data.get("meta") or {})
        meta["stream"] = self.stream
        meta["dt"] = utc_now_iso()
        meta.setdefault("id", str(uuid.uuid4()))
        data["meta"] = meta
        self.model.__pydantic_validator__.validate_python(data)
        return data

    def event_time_ms(self, event: Mapping[str, Any]) -> int | None:
        """Event time of a JSON-shaped event: ``dt``, else ``meta.dt``."""
        ts = to_epoch_ms(event.get("dt"))
        if ts is None:
            meta = event.get("meta")
            ts = to_epoch_ms(meta.get("dt")) if isinstance(meta, Mapping) else None
        return ts


KeyFn = Callable[[BaseModel], Any]

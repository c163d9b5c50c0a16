"""Validating JSON-shaped events against their stream's JSONSchema (jsonschema-rs).

What a sink checks before it writes: the very schema the stream's models were generated
from, formats included (``date-time``, ``uri-reference``), as Event Platform's EventGate
checks it. Compiled once per process; pickles as its schema (a Flink worker recompiles).

    >>> validator = EventValidator({"type": "object", "required": ["id"],
    ...                             "properties": {"id": {"type": "integer"}}})
    >>> validator.validate({"id": 1})
    >>> validator.validate({"id": "x", "extra": 1})
    Traceback (most recent call last):
    ...
    evgen.runtime.validation.InvalidEvent: id: "x" is not of type "integer"
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jsonschema_rs

from evgen.errors import summarize

__all__ = ["EventValidator", "InvalidEvent"]

#: Longest message kept per error (jsonschema-rs quotes the whole offending value).
_MESSAGE_CHARS = 160


class InvalidEvent(ValueError):
    """An event is not valid against its schema; the message is one line, up to 3 errors."""


class EventValidator:
    """A compiled JSONSchema of events; :meth:`validate` raises :class:`InvalidEvent`."""

    __slots__ = ("schema", "_validator")

    def __init__(self, schema: Mapping[str, Any]):
        self.schema = schema
        self._validator = jsonschema_rs.validator_for(dict(schema))

    def __reduce__(self) -> tuple[Any, ...]:
        return (EventValidator, (self.schema,))

    def validate(self, event: Any) -> None:
        """Return if ``event`` (JSON-shaped: dicts, lists, str, numbers, bools, None) is valid."""
        try:
            if self._validator.is_valid(event):
                return
            errors = [
                {"loc": error.instance_path, "msg": _shorten(error.message), "type": "schema"}
                for error in self._validator.iter_errors(event)
            ]
        except ValueError as e:  # a value JSON has no type for
            raise InvalidEvent(str(e)) from None
        raise InvalidEvent(summarize(errors, limit=3))


def _shorten(message: str) -> str:
    return message if len(message) <= _MESSAGE_CHARS else message[: _MESSAGE_CHARS - 1] + "…"

"""Error events: every failure in a running job becomes one, valid against the
Wikimedia ``error`` schema (2.1.0), with the original input preserved.

    >>> factory = ErrorEventFactory(
    ...     emitter_id="my_job", stream="my_job.error", schema_uri="/error/2.1.0",
    ...     source_stream="mediawiki.page_change.v1", source_schema_uri="/mediawiki/page/change/1.1.0")
    >>> event = factory.build('{"not": "valid"', error_type="undecodable_input", message="bad JSON")
    >>> event["raw_event"], event["errored_stream_name"]
    ('{"not": "valid"', 'mediawiki.page_change.v1')
"""

from __future__ import annotations

import json
import traceback
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import jsonschema_rs

#: Stable ``error_type`` codes the runtime itself produces (exceptions in user
#: code use the exception's class name, or its ``error_type`` attribute).
UNDECODABLE_INPUT = "undecodable_input"
INVALID_INPUT = "invalid_input"
NONE_RETURNED = "none_returned"
INVALID_OUTPUT = "invalid_output"

#: Longest ``stack`` kept in an error event (the schema has no limit; Kafka does).
MAX_STACK_CHARS = 8000

#: What the error schema allows in ``meta.uri``: an input's own ``meta.uri`` is kept only if it fits.
_META_URI = jsonschema_rs.validator_for({"type": "string", "format": "uri-reference", "maxLength": 8192},
                                        validate_formats=True)


def utc_now_iso() -> str:
    """The current time as ``YYYY-MM-DDTHH:MM:SS.ffffffZ``."""
    return datetime.now(timezone.utc).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def error_type_of(exc: BaseException) -> str:
    """``exc.error_type`` when the exception carries a stable code, else its class name."""
    code = getattr(exc, "error_type", None)
    return code if isinstance(code, str) and code else type(exc).__name__


@dataclass(frozen=True)
class ErrorEventFactory:
    """Builds error events for one job; picklable, so Flink functions can carry it."""

    emitter_id: str
    stream: str
    schema_uri: str
    source_stream: str
    source_schema_uri: str

    def build(
        self,
        raw_event: str,
        *,
        error_type: str,
        message: str,
        exc: BaseException | None = None,
    ) -> dict[str, Any]:
        """An error event for ``raw_event`` (the input exactly as it was read)."""
        original = _loose_parse(raw_event)
        meta_in: dict[str, Any] = original["meta"] if isinstance(original.get("meta"), dict) else {}
        now = utc_now_iso()
        meta: dict[str, Any] = {"stream": self.stream, "id": str(uuid.uuid4()), "dt": now}
        for key in ("domain", "uri", "request_id"):
            value = meta_in.get(key)
            if isinstance(value, str) and value and _writable(value) and (key != "uri" or _META_URI.is_valid(value)):
                meta[key] = value
        event: dict[str, Any] = {
            "$schema": self.schema_uri,
            "meta": meta,
            "dt": now,
            "emitter_id": self.emitter_id,
            "error_type": error_type,
            "message": message.strip() or error_type,
            "raw_event": raw_event,
            "errored_schema_uri": _str_or(original.get("$schema"), self.source_schema_uri),
            "errored_stream_name": _str_or(meta_in.get("stream"), self.source_stream),
        }
        if exc is not None:
            stack = "".join(traceback.format_exception(exc))
            event["stack"] = stack[-MAX_STACK_CHARS:]
        return event

    def from_exception(self, raw_event: str, exc: BaseException) -> dict[str, Any]:
        """An error event for an exception raised while handling ``raw_event``."""
        return self.build(raw_event, error_type=error_type_of(exc), message=f"{type(exc).__name__}: {exc}", exc=exc)


def _loose_parse(raw: str) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except (ValueError, TypeError):
        return {}
    return value if isinstance(value, dict) else {}


def _str_or(value: Any, default: str) -> str:
    return value if isinstance(value, str) and value and _writable(value) else default


def _writable(text: str) -> bool:
    """``text`` has a UTF-8 form (a lone surrogate, e.g. from a ``"\\ud800"`` escape, has none)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True

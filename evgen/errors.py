"""Exceptions evgen raises for bad input.

Every :class:`EvgenError` carries a message meant to be shown to a user as one
line; the CLI prints ``error: <message>`` and exits non-zero, with no traceback.

    >>> from evgen.errors import StreamConfigError
    >>> str(StreamConfigError("unknown stream 'nope'"))
    "unknown stream 'nope'"
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


class EvgenError(Exception):
    """Base class of all user-facing evgen errors (one-line message)."""


class StreamConfigError(EvgenError):
    """The stream config is unreachable, invalid, or lacks a stream."""


class SchemaError(EvgenError):
    """A schema cannot be found, fetched, parsed or resolved."""


class CodegenError(EvgenError):
    """Models or a job project cannot be generated."""


class ConfigError(EvgenError):
    """A job configuration (YAML, descriptors, options) is invalid."""


class ContractError(EvgenError):
    """A user function's signature does not fit the stream's models."""


class DependencyError(EvgenError):
    """A jar (or the development Kafka broker's classpath) cannot be fetched or verified."""


class BrokerError(EvgenError):
    """The development Kafka broker cannot be started, reached or used."""


class ClusterError(EvgenError):
    """A Flink cluster cannot be started or reached, or it refused a job, a stop or a savepoint."""


def summarize(errors: Sequence[Mapping[str, Any]], *, root: str = "<root>", limit: int | None = None) -> str:
    """Pydantic validation errors (``ValidationError.errors()``) on one line: ``loc: msg; ...``.

        >>> summarize([{"loc": ("a", 0), "msg": "bad", "type": "x"}, {"loc": (), "msg": "no", "type": "extra_forbidden"}])
        'a.0: bad; <root>: unknown key'
    """
    shown = errors if limit is None else errors[:limit]
    parts = [f"{'.'.join(str(p) for p in err['loc']) or root}: "
             f"{'unknown key' if err['type'] == 'extra_forbidden' else err['msg']}" for err in shown]
    more = len(errors) - len(shown)
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")

"""Binding a job's configured sides to its lock, models and connectors.

A :class:`Side` is one of source / sink / error sink, fully resolved: the locked
stream (schema URI, stream config snapshot), the generated model class, its
:class:`~evgen.runtime.events.EventCodec`, the connector and its validated
options.

    >>> lock = Lock.load(job_dir / "evgen.lock")                     # doctest: +SKIP
    >>> side = bind_side("source", cfg.source, lock, job_dir, job="my_job")  # doctest: +SKIP
    >>> side.model.__name__                                           # doctest: +SKIP
    'PageChange'
"""

from __future__ import annotations

import importlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from evgen.connectors.base import Connector, Endpoint, get_connector
from evgen.errors import ConfigError
from evgen.lock import Lock, LockedStream
from evgen.runtime.config import SinkDescriptor, SourceDescriptor
from evgen.runtime.events import EventCodec
from evgen.streamref import StreamRef


@dataclass(frozen=True)
class Side:
    """One resolved side of a job."""

    role: str
    locked: LockedStream
    model: type[BaseModel]
    codec: EventCodec
    connector: Connector
    endpoint: Endpoint


def load_model(lock: Lock, locked: LockedStream, job_dir: Path) -> type[BaseModel]:
    """Import the generated model class of ``locked`` from the job's package."""
    root = str(job_dir.resolve())
    if root not in sys.path:
        sys.path.insert(0, root)
    module_name = f"{lock.package}.models.{locked.module}"
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise ConfigError(f"cannot import generated models {module_name} from {root}: {e} (run `evgen regen`)") from None
    model = getattr(module, locked.model, None)
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise ConfigError(f"generated module {module_name} has no model class {locked.model} (run `evgen regen`)")
    return model


def load_schema(lock: Lock, locked: LockedStream, job_dir: Path) -> dict[str, Any]:
    """The resolved JSONSchema generated next to the stream's models."""
    path = job_dir / lock.package / "models" / f"{locked.module}.schema.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise ConfigError(f"cannot read generated schema {path}: {e} (run `evgen regen`)") from None


def bind_side(
    role: str,
    descriptor: SourceDescriptor | SinkDescriptor,
    lock: Lock,
    job_dir: Path,
    *,
    job: str,
    production: bool = False,
) -> Side:
    """Resolve ``descriptor`` against the lock; one-line :class:`ConfigError` on any mismatch."""
    ref = StreamRef.parse(descriptor.stream, require_version=False)
    if ref.version is None and (role != "source" or production):
        why = "in production mode" if role == "source" else f"for a {role.replace('_', ' ')}"
        raise ConfigError(f"{role}: stream {descriptor.stream!r} needs a version {why} ('<stream>:<version>')")
    locked = lock.find(ref)
    model = load_model(lock, locked, job_dir)
    codec = EventCodec(
        model=model,
        stream=locked.stream,
        schema_uri=locked.schema_uri,
        key_fields=dict(locked.config.message_key_fields or {}),
        schema=load_schema(lock, locked, job_dir),
    )
    connector = get_connector(descriptor.connector)
    options = connector.parse_options(role, descriptor.options)
    endpoint = Endpoint(
        role=role,
        job=job,
        stream=locked.config,
        schema_uri=locked.schema_uri,
        options=options,
        extra={"job_dir": str(job_dir.resolve())},
    )
    return Side(role, locked, model, codec, connector, endpoint)


def default_error_sink(lock: Lock) -> SinkDescriptor:
    """The error sink of the lock, written as JSON lines under ``out/errors``."""
    locked = lock.streams.get("error_sink")
    if locked is None:
        raise ConfigError("no error_sink configured and the lock has none")
    return SinkDescriptor(stream=str(locked.ref), connector="file", options={"path": "out/errors"})


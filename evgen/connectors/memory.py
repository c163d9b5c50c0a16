"""The ``memory`` connector, for tests: events from a Python list, outputs
collected where the test can read them.

Source options: ``events`` — a list of JSON strings (or mappings, dumped to
JSON). Sink options: ``name`` — outputs land in :data:`STORE` under that name
(a temporary directory, since Flink writes them from its own threads or
processes), read back with ``STORE.read(name)``.

    source: {stream: "my.stream:1.0.0", connector: memory, options: {events: ['{"a": 1}']}}
    sink:   {stream: "out.stream:1.0.0", connector: memory, options: {name: outputs}}
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pyflink.common import Types

from evgen.connectors.base import Connector, ConnectorOptions, Endpoint, register
from evgen.connectors.file import FileConnector, FileOptions, read_json_lines

if TYPE_CHECKING:
    from pyflink.datastream import DataStream, StreamExecutionEnvironment


class MemoryOptions(ConnectorOptions):
    events: list[Any] | None = None
    name: str | None = None


class MemoryStore:
    """Named places where ``memory`` sinks put their outputs."""

    def __init__(self) -> None:
        self._root: Path | None = None

    def directory(self, name: str) -> Path:
        if self._root is None:
            self._root = Path(tempfile.mkdtemp(prefix="evgen-memory-"))
        return self._root / name

    def read(self, name: str) -> list[str]:
        """The JSON lines a ``memory`` sink called ``name`` wrote (empty if none)."""
        path = self.directory(name)
        return read_json_lines(path) if path.exists() else []

    def clear(self, name: str) -> None:
        shutil.rmtree(self.directory(name), ignore_errors=True)


STORE = MemoryStore()


class MemoryConnector(Connector):
    name = "memory"
    Options = MemoryOptions
    wants_records = False

    def read(self, env: StreamExecutionEnvironment, endpoint: Endpoint) -> DataStream:
        assert isinstance(endpoint.options, MemoryOptions)
        events = [e if isinstance(e, str) else json.dumps(e) for e in endpoint.options.events or []]
        return env.from_collection(events, type_info=Types.STRING())

    def write(self, records: DataStream, endpoint: Endpoint) -> None:
        assert isinstance(endpoint.options, MemoryOptions)
        name = endpoint.options.name or endpoint.role
        STORE.clear(name)
        path = STORE.directory(name)
        file_endpoint = Endpoint(endpoint.role, endpoint.job, endpoint.stream, endpoint.schema_uri,
                                 FileOptions(path=str(path)), endpoint.extra)
        FileConnector().write(records, file_endpoint)


register(MemoryConnector())

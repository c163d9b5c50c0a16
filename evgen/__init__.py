"""evgen: typed PyFlink jobs for Event Platform streams.

    from evgen import SinkDescriptor, SourceDescriptor, stream_manager

    with stream_manager(
        source=SourceDescriptor(stream="mediawiki.page_change.v1:1.1.0", options={"path": "in.jsonl"}),
        sink=SinkDescriptor(stream="mediawiki.page_content_change.v1:1.1.0", options={"path": "out"}),
    ) as stream:
        stream.process(enrich).execute()

The runtime names (``Stream``, ``stream_manager``, ``JobConfig`` and the descriptors,
``RunResult``, ``HttpSettings``, ``http_process_function``) load on first use, so generator
commands do not pay for importing PyFlink. (Run the example in a job directory, or pass
``job_dir=`` to ``stream_manager``.)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from evgen.errors import (
    CodegenError,
    ConfigError,
    ContractError,
    EvgenError,
    SchemaError,
    StreamConfigError,
)
from evgen.streamref import StreamRef

if TYPE_CHECKING:
    from evgen.http import HttpSettings, http_process_function
    from evgen.runtime.config import JobConfig, SinkDescriptor, SourceDescriptor
    from evgen.runtime.execute import RunResult
    from evgen.runtime.stream import Stream, stream_manager

_LAZY = {
    "Stream": "evgen.runtime.stream",
    "stream_manager": "evgen.runtime.stream",
    "SourceDescriptor": "evgen.runtime.config",
    "SinkDescriptor": "evgen.runtime.config",
    "JobConfig": "evgen.runtime.config",
    "RunResult": "evgen.runtime.execute",
    "HttpSettings": "evgen.http",
    "http_process_function": "evgen.http",
}

__all__ = [
    "CodegenError",
    "ConfigError",
    "ContractError",
    "EvgenError",
    "HttpSettings",
    "JobConfig",
    "RunResult",
    "SchemaError",
    "SinkDescriptor",
    "SourceDescriptor",
    "Stream",
    "StreamConfigError",
    "StreamRef",
    "http_process_function",
    "stream_manager",
]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'evgen' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})

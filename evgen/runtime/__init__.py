"""The evgen runtime: what a generated job imports and runs on PyFlink.

    from evgen.runtime import main
    main("page_content_change")          # python -m page_content_change --config ...

Nothing is imported here eagerly. A Python worker unpickles the job's functions on several
threads at once; had this package's ``__init__`` imported the runner (and through it
``execute`` and ``operators``), one thread importing ``evgen.runtime.operators`` would wait
for this package while another, inside it, waited for ``operators``: Python's import
deadlock (``_DeadlockError``), which failed and restarted jobs on a cluster.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from evgen.runtime.runner import main, run_job

__all__ = ["main", "run_job"]


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module 'evgen.runtime' has no attribute {name!r}")
    value = getattr(importlib.import_module("evgen.runtime.runner"), name)
    globals()[name] = value
    return value

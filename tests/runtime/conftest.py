"""A generated job (page_change -> page_content_change) to run runtime tests against.

The job is generated once per session with ``evgen new-job`` from the shared
stream config and schema repository; tests add their own pipeline modules to it.
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from evgen.project import new_job

JOB = "rt_job"


@pytest.fixture(scope="session")
def job_dir(tmp_path_factory: pytest.TempPathFactory, stream_configs_file: Path, primary_schema_repo: Path) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("jobs")
    path = new_job(
        JOB,
        source="mediawiki.page_change.v1:1.1.0",
        sink="mediawiki.page_content_change.v1:1.1.0",
        stream_config=str(stream_configs_file),
        schema_uris=[str(primary_schema_repo)],
        output_dir=root,
        env={},
    )
    sys.path.insert(0, str(path))
    yield path
    sys.path.remove(str(path))
    for name in [m for m in sys.modules if m == JOB or m.startswith(JOB + ".")]:
        del sys.modules[name]


@pytest.fixture(scope="session")
def add_module(job_dir: Path) -> Callable[[str, str], Any]:
    """``add_module(name, source)``: write ``<job>/<name>.py`` into the job and import it."""
    import importlib

    def add(name: str, source: str) -> Any:
        (job_dir / JOB / f"{name}.py").write_text(textwrap.dedent(source))
        importlib.invalidate_caches()
        return importlib.import_module(f"{JOB}.{name}")

    return add


@pytest.fixture(scope="session")
def valid_events(page_change_events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The real events that are valid against page/change 1.1.0 (which requires performer)."""
    return [e for e in page_change_events if "performer" in e]

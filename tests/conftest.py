"""Fixtures shared by evgen's tests: the read-only Wikimedia data beside the repository.

CI clones the repository with ``../shared`` next to it; so does the dev machine.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from evgen.testing.servers import StaticFileServer

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "wikimedia"


def _shared(relative: str) -> Path:
    path = SHARED / relative
    if not path.exists():
        pytest.fail(f"shared test data missing: {path} (clone ../shared beside the repository)")
    return path


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The evgen repository checkout."""
    return REPO


@pytest.fixture(scope="session")
def primary_schema_repo() -> Path:
    """Wikimedia's primary schema repository (``jsonschema`` dir, with its text-file symlinks)."""
    return _shared("schema-repos/primary/jsonschema")


@pytest.fixture(scope="session")
def stream_configs_file() -> Path:
    """A real-shaped stream config snapshot: ``{"streams": {...}}``."""
    return _shared("streamconfigs.json")


@pytest.fixture(scope="session")
def page_change_events() -> list[dict[str, Any]]:
    """Real mediawiki/page/change 1.2.0 events."""
    directory = _shared("events/page_change")
    return [json.loads(p.read_text()) for p in sorted(directory.glob("*.json"))]


@pytest.fixture(scope="session")
def primary_schema_server(primary_schema_repo: Path) -> Iterator[StaticFileServer]:
    """The primary schema repository served over real HTTP on 127.0.0.1 (symlinks followed)."""
    with StaticFileServer(primary_schema_repo) as server:
        yield server

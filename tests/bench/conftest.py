"""Fixtures of the benchmark suite's tests."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(scope="session")
def valid_events(page_change_events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The real events that are valid against page/change 1.1.0 (which requires performer)."""
    return [e for e in page_change_events if "performer" in e]

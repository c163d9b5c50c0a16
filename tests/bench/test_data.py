"""bench.data: the cached dataset built from the real page_change events."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bench.data import average_size, dataset, replicate, templates, validator
from bench.errors import BenchError
from evgen.schemas import SchemaRepository


@pytest.fixture(scope="module")
def schema(primary_schema_repo: Path) -> dict[str, Any]:
    with SchemaRepository([str(primary_schema_repo)]) as repo:
        return dict(repo.resolve("mediawiki/page/change", "1.1.0").schema)


def test_dataset_is_valid_varied_and_cached(tmp_path: Path, schema: dict[str, Any]) -> None:
    path = dataset(300, schema, tmp_path)
    events = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(events) == 300
    validate = validator(schema)
    for event in events:
        validate(event)
    assert len({e["meta"]["id"] for e in events}) == 300
    assert len({e["page"]["page_id"] for e in events}) > 290
    assert 1400 <= average_size(path) <= 2100  # ≈1.7 KB
    mtime = path.stat().st_mtime_ns
    assert dataset(300, schema, tmp_path) == path and path.stat().st_mtime_ns == mtime


def test_templates_are_the_real_events_valid_against_1_1_0(schema: dict[str, Any]) -> None:
    bases = templates(schema)
    assert len(bases) == 9  # the 10 shared events less the one without performer
    assert all("performer" in e for e in bases)


def test_templates_need_events(tmp_path: Path, schema: dict[str, Any]) -> None:
    with pytest.raises(BenchError, match="no page_change events in"):
        templates(schema, tmp_path)


def test_dataset_needs_a_positive_count(tmp_path: Path, schema: dict[str, Any]) -> None:
    with pytest.raises(BenchError, match="at least one event"):
        dataset(0, schema, tmp_path)


def test_replicate_links_copies(tmp_path: Path) -> None:
    source = tmp_path / "data.jsonl"
    source.write_text("a\nb\n")
    directory = replicate(source, 3, tmp_path / "copies")
    files = sorted(directory.iterdir())
    assert [f.name for f in files] == ["part-000.jsonl", "part-001.jsonl", "part-002.jsonl"]
    assert all(f.read_text() == "a\nb\n" for f in files)

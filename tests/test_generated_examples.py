"""generated_examples/page_content_change: its generated files are exactly what evgen generates today.

The example was made with (from the repository root, ../shared beside it):

    evgen new-job page_content_change --source mediawiki.page_change.v1:1.1.0 \\
        --sink mediawiki.page_content_change.v1:1.1.0 --output-dir generated_examples \\
        --stream-config ../shared/wikimedia/streamconfigs.json \\
        --schema-uri ../shared/wikimedia/schema-repos/primary/jsonschema
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from evgen.lock import LOCK_FILE, Lock
from evgen.project import new_job, regen
from evgen.uris import resolve_against


@pytest.fixture(scope="module")
def example(repo_root: Path) -> Path:
    return repo_root / "generated_examples" / "page_content_change"


def test_regenerating_gives_the_committed_generated_files(example: Path, tmp_path: Path) -> None:
    committed = Lock.load(example / LOCK_FILE)
    fresh_dir = new_job(
        "page_content_change",
        source="mediawiki.page_change.v1:1.1.0",
        sink="mediawiki.page_content_change.v1:1.1.0",
        stream_config=resolve_against(committed.stream_config_uri, example),
        schema_uris=[resolve_against(u, example) for u in committed.schema_uris],
        output_dir=tmp_path,
    )
    fresh = Lock.load(fresh_dir / LOCK_FILE)
    assert fresh.generated == committed.generated
    for relative in committed.generated:
        assert (fresh_dir / relative).read_bytes() == (example / relative).read_bytes(), relative
    for role, locked in committed.streams.items():
        again = fresh.streams[role]
        assert resolve_against(again.source_url, fresh_dir) == resolve_against(locked.source_url, example)
        assert again.to_dict() | {"source_url": ""} == locked.to_dict() | {"source_url": ""}


def test_committed_generated_files_match_their_lock(example: Path) -> None:
    lock = Lock.load(example / LOCK_FILE)
    for relative, sha in lock.generated.items():
        assert hashlib.sha256((example / relative).read_bytes()).hexdigest() == sha, relative


def test_lock_paths_are_portable(example: Path) -> None:
    lock = Lock.load(example / LOCK_FILE)
    recorded = [lock.stream_config_uri, *lock.schema_uris, *(s.source_url for s in lock.streams.values())]
    assert all(p.startswith("../../../shared/") for p in recorded), recorded


def test_regen_check_passes_on_the_example(example: Path) -> None:
    result = regen(example, check=True)
    assert not result.stale, (result.edited, result.missing, result.changed, result.removed, result.lock_changed)

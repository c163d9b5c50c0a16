"""The benchmark input: many page_change events built from the real ones, cached on disk.

Templates are the real ``mediawiki/page/change`` events in
``../shared/wikimedia/events/page_change`` that are valid against the 1.1.0 schema (those
with ``performer``). Each generated event is a template with a fresh ``meta.id`` (UUID4),
a varied ``page.page_id`` and ``revision.rev_id``; every one is validated against the
resolved 1.1.0 schema before the file is written (about 1.7 KB per line). The file is
written once per size to the cache directory and reused.

    >>> path = dataset(2_000, schema)                                  # doctest: +SKIP
    >>> sum(1 for _ in path.open())                                    # doctest: +SKIP
    2000
"""

from __future__ import annotations

import json
import os
import random
import uuid
from pathlib import Path
from typing import Any, Mapping

import fastjsonschema
import platformdirs

from bench import REPO
from bench.errors import BenchError

#: Bump when the way events are generated changes (invalidates cached files).
FORMAT_VERSION = 1
SEED = 20240601
SHARED_EVENTS = REPO.parent / "shared" / "wikimedia" / "events" / "page_change"


def cache_dir() -> Path:
    """``$EVGEN_CACHE_DIR/bench``, else the platform's user cache dir for evgen."""
    root = os.environ.get("EVGEN_CACHE_DIR", "").strip()
    base = Path(root).expanduser() if root else Path(platformdirs.user_cache_dir("evgen"))
    return base / "bench"


def validator(schema: Mapping[str, Any]) -> Any:
    """A fastjsonschema validator of a resolved event schema (``uri-reference`` accepted as is)."""
    return fastjsonschema.compile(dict(schema), formats={"uri-reference": r"^.*$"})


def templates(schema: Mapping[str, Any], events_dir: Path = SHARED_EVENTS) -> list[dict[str, Any]]:
    """The real events valid against ``schema`` (the page/change 1.1.0 one), in file-name order."""
    files = sorted(events_dir.glob("*.json"))
    if not files:
        raise BenchError(f"no page_change events in {events_dir} (clone ../shared beside the repository)")
    validate = validator(schema)
    valid: list[dict[str, Any]] = []
    for path in files:
        event = json.loads(path.read_text(encoding="utf-8"))
        try:
            validate(event)
        except fastjsonschema.JsonSchemaException:
            continue  # e.g. the 1.2.0 events without performer
        valid.append(event)
    if not valid:
        raise BenchError(f"none of the events in {events_dir} is valid against {schema.get('$id')}")
    return valid


def generate(count: int, bases: list[dict[str, Any]], seed: int = SEED) -> list[str]:
    """``count`` JSON lines: templates in turn with fresh ids (deterministic for a seed)."""
    rng = random.Random(seed)
    lines: list[str] = []
    for i in range(count):
        event = json.loads(json.dumps(bases[i % len(bases)]))
        event["meta"]["id"] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        event["page"]["page_id"] = 1_000_000 + rng.randrange(50_000_000)
        event["revision"]["rev_id"] = 10_000_000 + i
        lines.append(json.dumps(event, ensure_ascii=False))
    return lines


def dataset(count: int, schema: Mapping[str, Any], directory: Path | None = None) -> Path:
    """The cached file of ``count`` events (built and validated on first use)."""
    if count < 1:
        raise BenchError(f"the dataset needs at least one event, not {count}")
    directory = directory or cache_dir()
    path = directory / f"page_change-1.1.0-{count}-v{FORMAT_VERSION}.jsonl"
    if path.is_file():
        return path
    bases = templates(schema)
    validate = validator(schema)
    lines = generate(count, bases)
    for n, line in enumerate(lines):
        try:
            validate(json.loads(line))
        except fastjsonschema.JsonSchemaException as e:
            raise BenchError(f"generated event {n} is not valid against {schema.get('$id')}: {e}") from None
    directory.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def replicate(source: Path, copies: int, directory: Path) -> Path:
    """A directory holding ``copies`` hard links (or copies) of ``source``: a larger input
    (``copies`` × the events) without rebuilding or storing it again."""
    directory.mkdir(parents=True, exist_ok=True)
    for i in range(copies):
        target = directory / f"part-{i:03d}.jsonl"
        if target.exists():
            continue
        try:
            os.link(source, target)
        except OSError:
            target.write_bytes(source.read_bytes())
    return directory


def average_size(path: Path, sample: int = 1000) -> float:
    """Mean line size in bytes over the first ``sample`` lines."""
    sizes: list[int] = []
    with path.open("rb") as f:
        for line in f:
            sizes.append(len(line.rstrip(b"\n")))
            if len(sizes) >= sample:
                break
    return sum(sizes) / len(sizes) if sizes else 0.0

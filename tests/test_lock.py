"""evgen.lock: stable JSON, lookups by stream reference, finding the job directory."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evgen.errors import ConfigError
from evgen.lock import LOCK_FILE, Lock, LockedStream, find_job_dir
from evgen.streamconfig import StreamConfig
from evgen.streamref import StreamRef


def _locked(role: str, stream: str, version: str, model: str) -> LockedStream:
    return LockedStream(
        role=role,
        stream=stream,
        version=version,
        requested_version="latest",
        schema_title="mediawiki/page/change",
        schema_uri=f"/mediawiki/page/change/{version}",
        source_url=f"../schemas/mediawiki/page/change/{version}.yaml",
        sha256="0" * 64,
        module=stream.replace(".", "_"),
        model=model,
        config=StreamConfig(stream, "mediawiki/page/change", (f"eqiad.{stream}",), ("eqiad.",), None, True, {"k": "a.b"}),
    )


@pytest.fixture
def lock() -> Lock:
    return Lock(
        job="j",
        package="j",
        stream_config_uri="../streams.json",
        schema_uris=["../schemas", "https://schema.example.org/repo"],
        streams={
            "source": _locked("source", "a.v1", "1.1.0", "A"),
            "sink": _locked("sink", "b.v1", "1.2.0", "B"),
        },
        generated={"j/models/a_v1.py": "1" * 64},
    )


def test_save_load_round_trip_is_byte_stable(lock: Lock, tmp_path: Path) -> None:
    path = tmp_path / LOCK_FILE
    lock.save(path)
    text = path.read_text()
    loaded = Lock.load(path)
    assert loaded == lock
    loaded.save(path)
    assert path.read_text() == text
    data = json.loads(text)
    assert list(data) == sorted(data) and text.endswith("}\n") and '\n  "format": 1,' in text


def test_find_by_ref_or_name(lock: Lock) -> None:
    assert lock.find("a.v1").model == "A"
    assert lock.find("b.v1:1.2.0").role == "sink"
    assert lock.find(StreamRef("a.v1", None)).version == "1.1.0"
    assert lock.streams["sink"].ref == StreamRef("b.v1", "1.2.0")


def test_find_errors(lock: Lock) -> None:
    with pytest.raises(ConfigError, match=r"stream 'c.v1' is not in evgen.lock \(locked: a.v1:1.1.0, b.v1:1.2.0\)"):
        lock.find("c.v1:1.0.0")
    with pytest.raises(ConfigError, match=r"b.v1:9.0.0 is not what evgen.lock pins \(locked version: 1.2.0\); run `evgen regen --sink b.v1:9.0.0`"):
        lock.find("b.v1:9.0.0")


def test_load_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no evgen.lock at .*missing"):
        Lock.load(tmp_path / "missing")
    bad = tmp_path / LOCK_FILE
    bad.write_text("{not json")
    with pytest.raises(ConfigError, match=r"cannot read .*evgen.lock"):
        Lock.load(bad)
    bad.write_text('{"job": "j"}')
    with pytest.raises(ConfigError, match=r"is not a valid evgen.lock \(KeyError"):
        Lock.load(bad)


def test_find_job_dir_walks_up(lock: Lock, tmp_path: Path) -> None:
    lock.save(tmp_path / LOCK_FILE)
    deep = tmp_path / "j" / "models"
    deep.mkdir(parents=True)
    assert find_job_dir(deep) == tmp_path.resolve()
    with pytest.raises(ConfigError, match=r"no evgen.lock in .* or any parent"):
        find_job_dir(tmp_path.parent / "elsewhere")

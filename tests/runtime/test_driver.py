"""The program `flink run` executes for remote runs: locations as URIs, and bad input as one line
that `evgen run --target remote` shows as its own error (the submission itself is exercised on a
real cluster in test_remote.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from evgen.runtime.driver import ERROR_PREFIX, JOB_ID_PREFIX, main, root_cause
from evgen.runtime.flinkenv import location_uri


def test_locations_become_uris(tmp_path: Path) -> None:
    assert location_uri("s3://bucket/savepoints", tmp_path) == "s3://bucket/savepoints"
    assert location_uri("file:/tmp/sp/savepoint-1", tmp_path) == "file:/tmp/sp/savepoint-1"
    assert location_uri("/abs/sp", tmp_path) == "file:///abs/sp"
    assert location_uri("rel/sp", tmp_path) == (tmp_path / "rel" / "sp").resolve().as_uri()
    assert location_uri("~no-such-user-here/sp", tmp_path) == (tmp_path / "~no-such-user-here" / "sp").resolve().as_uri()


def test_root_cause_without_java_is_the_first_line() -> None:
    assert root_cause(RuntimeError("\nfirst\nsecond")) == "first"
    assert root_cause(RuntimeError("")) == "RuntimeError"


def test_bad_job_is_one_error_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--job-dir", str(tmp_path), "--config", str(tmp_path / "missing.yaml")]) == 1
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and out[0].startswith(ERROR_PREFIX) and "missing.yaml" in out[0]
    assert not any(line.startswith(JOB_ID_PREFIX) for line in out)

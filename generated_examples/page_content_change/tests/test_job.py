"""Tests of page_content_change (yours to extend): the pipeline over the fixture events."""

from __future__ import annotations

from pathlib import Path

from evgen.testing import run_in_process

from page_content_change import job

JOB_DIR = Path(__file__).resolve().parents[1]
FIXTURE = "tests/fixtures/mediawiki_page_change_v1.jsonl"


def test_process_in_process() -> None:
    result = run_in_process(job.pipeline, job_dir=JOB_DIR, events=FIXTURE)
    assert result.errors == []
    assert len(result.outputs) == result.inputs

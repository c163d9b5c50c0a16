"""Tests of {{ cookiecutter.job }} (yours to extend): the pipeline over the fixture events."""

from __future__ import annotations

from pathlib import Path
{% if cookiecutter.missing_required %}
import pytest
{% endif %}
from evgen.testing import run_in_process

from {{ cookiecutter.job }} import job

JOB_DIR = Path(__file__).resolve().parents[1]
FIXTURE = "tests/fixtures/{{ cookiecutter.source_module }}.jsonl"

{% if cookiecutter.missing_required %}
@pytest.mark.xfail(
    strict=True,
    reason="process() does not set required sink fields ({{ cookiecutter.missing_required }}): edit job.py, then remove this mark",
)
{%- endif %}
def test_process_in_process() -> None:
    result = run_in_process(job.pipeline, job_dir=JOB_DIR, events=FIXTURE)
    assert result.errors == []
    assert len(result.outputs) == result.inputs

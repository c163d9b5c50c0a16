"""Tests of {{ cookiecutter.job }} (yours to extend): the pipeline over the fixture events,
in-process (milliseconds) and on the local Flink mini-cluster, with the same assertions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from evgen.testing import run_in_process, run_on_flink

from {{ cookiecutter.job }} import job

FIXTURE = "tests/fixtures/{{ cookiecutter.source_module }}.jsonl"

{% if cookiecutter.missing_required %}
@pytest.mark.xfail(
    strict=True,
    reason="process() does not set required sink fields ({{ cookiecutter.missing_required }}): edit job.py, then remove this mark",
)
{%- endif %}
@pytest.mark.parametrize("run", [run_in_process, pytest.param(run_on_flink, marks=pytest.mark.flink)])
def test_pipeline(run: Any, job_dir: Path) -> None:
    result = run(job.pipeline, job_dir=job_dir, events=FIXTURE)
    assert result.errors == []
    assert len(result.outputs) == result.inputs
    result.assert_conserved()

"""Testing evgen jobs: the same pipeline in-process (milliseconds) or on the
Flink mini-cluster, with results of one shape so the same assertions apply.

    from evgen.testing import run_in_process, run_on_flink
    from my_job import job

    def test_enrich(job_dir):
        for run in (run_in_process, run_on_flink):
            result = run(job.pipeline, job_dir=job_dir, events="tests/fixtures/events.jsonl")
            assert result.errors == []
            assert len(result.outputs) == result.inputs

The harness names load on first use, so the pytest plugin's servers and
fixtures do not import the Flink runtime.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from evgen.testing.harness import JobRun, run_in_process, run_on_flink, with_new_id

__all__ = ["JobRun", "run_in_process", "run_on_flink", "with_new_id"]


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module 'evgen.testing' has no attribute {name!r}")
    from evgen.testing import harness

    return getattr(harness, name)

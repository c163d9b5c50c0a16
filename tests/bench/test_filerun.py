"""bench.filerun on the mini-cluster: a correct run is measured, a wrong one fails loudly."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bench.context import Context, Settings
from bench.errors import CountMismatch
from bench.filerun import _cores, bare_chain_spec, handwritten_spec, run_file_job, typed_spec
from bench.launcher import RssSample
from bench.workspace import Workspace

pytestmark = pytest.mark.flink


@pytest.fixture(scope="module")
def ctx(tmp_path_factory: pytest.TempPathFactory, valid_events: list[dict[str, Any]]) -> Context:
    root = tmp_path_factory.mktemp("bench-filerun")
    data = root / "events.jsonl"
    data.write_text("".join(json.dumps(valid_events[i % len(valid_events)]) + "\n" for i in range(60)))
    return Context(settings=Settings.smoke_preset(), workspace=Workspace.create(root / "ws"), data=data,
                   runs_root=root / "runs", quiet=True)


def test_a_correct_run_is_measured(ctx: Context) -> None:
    m = run_file_job(ctx, "hw", handwritten_spec(ctx, "minimal", execution_mode="thread"), ctx.data, 60)
    assert m.events == 60 and m.events_per_s > 0 and m.wall_s > 0
    assert m.first_output_s is not None and 0 < m.first_output_s < m.wall_s
    assert not (ctx.runs_root / "001-hw" / "output").exists()  # outputs removed after the check


def test_a_wrong_count_fails_the_run(ctx: Context, tmp_path: Path) -> None:
    lines = ctx.data.read_text().splitlines()
    bad = tmp_path / "with-invalid.jsonl"
    bad.write_text("\n".join(lines[:59] + ['{"meta": {"id": "not-an-event"}}']) + "\n")
    with pytest.raises(CountMismatch) as raised:
        run_file_job(ctx, "typed-wrong", typed_spec(ctx, "passthrough", execution_mode="thread"), bad, 60)
    assert str(raised.value) == (
        "typed-wrong: 59 outputs for 60 inputs; 59 outputs carry the change (expected 60); 1 error events"
    )


def test_the_bare_chain_job_writes_what_the_typed_job_writes(ctx: Context) -> None:
    # Same chain, no evgen operator: every input becomes one marked output, counted like the others.
    m = run_file_job(ctx, "bare", bare_chain_spec(ctx, "passthrough", execution_mode="thread"), ctx.data, 60,
                     rss_every_s=0.1)
    assert m.events == 60 and m.events_per_s > 0
    # the JVM's CPU time is sampled (while it runs: a last sample may come after the JVM exited)
    assert any(sample.jvm > 0 and sample.job_cpu_s > 0 for sample in m.rss)


def test_cores_are_cpu_seconds_per_second_inside_the_window() -> None:
    samples = [RssSample(t, 0, 0, 0, cpu) for t, cpu in ((0.0, 0.0), (1.0, 0.5), (2.0, 1.5), (3.0, 2.5), (4.0, 2.6))]
    assert _cores(samples, (1.0, 3.0)) == pytest.approx(1.0)
    assert _cores(samples, (1.5, 1.9)) is None and _cores(samples, None) is None

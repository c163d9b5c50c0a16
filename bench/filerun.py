"""One file → file run of a job (typed evgen or hand-written), measured and checked.

:func:`run_file_job` gives the job a fresh run directory, runs it in a worker process while
watching its output grow, then checks the committed output: exactly one output per input,
each carrying the benchmark's change (``page_title`` prefixed ``bench:``), and no error
event — or it raises :class:`~bench.errors.CountMismatch`. Outputs are deleted afterwards
(the memory run writes gigabytes); logs stay.

    m = run_file_job(ctx, "typed", typed_spec(ctx, "passthrough", execution_mode="thread"), ctx.data, 100_000)
    m.events_per_s, m.overhead_s
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from bench.context import Context
from bench.errors import CountMismatch
from bench.launcher import Outcome, RssSample, launch
from bench.progress import check_output, directory_bytes, first_output_s, require_counts, steady_rate, steady_window

#: An output line whose one changed field carries the benchmark's mark.
MARKED = re.compile(rb'"page_title":\s*"bench:')

SpecBuilder = Callable[[Path, Path, Path], dict[str, Any]]  # (input, output dir, error dir) -> spec


@dataclass
class Measured:
    """The figures of one checked run."""

    label: str
    events: int
    wall_s: float
    events_per_s: float  #: steady state (output from 10 % to 90 %)
    overhead_s: float  #: wall − events / steady rate: start-up and tear-down
    first_output_s: float | None
    steady: bool  #: False: the run was too short to resolve the window; rate over the output phase
    counts: dict[str, int] = field(default_factory=dict)
    rss: list[RssSample] = field(default_factory=list)
    #: CPU cores the JVM and Python workers used in the steady window (when sampled)
    cores: float | None = None
    started: float = 0.0  #: time.time() when the worker was spawned
    progress: list[tuple[float, int]] = field(default_factory=list)  #: (seconds since spawn, output bytes)


def flink_settings(execution_mode: str, data_path: str = "json") -> dict[str, Any]:
    return {"execution_mode": execution_mode, "data_path": data_path, "parallelism": 1}


def typed_spec(ctx: Context, module: str, *, execution_mode: str, data_path: str = "json",
               params: dict[str, Any] | None = None) -> SpecBuilder:
    """Spec of the generated evgen job running ``bench_job.<module>`` file → file."""

    def build(source: Path, output: Path, errors: Path) -> dict[str, Any]:
        ws = ctx.workspace
        config = ws.config(
            {"connector": "file", "options": {"path": str(source)}},
            {"connector": "file", "options": {"path": str(output)}},
            {"connector": "file", "options": {"path": str(errors)}},
            flink=flink_settings(execution_mode, data_path),
            params=params or {},
        )
        return {"kind": "evgen", "job_dir": str(ws.job_dir), "module": ws.module(module), "config": config}

    return build


def handwritten_spec(ctx: Context, variant: str, *, execution_mode: str) -> SpecBuilder:
    """Spec of the hand-written PyFlink job (``validated`` or ``minimal``) file → file."""

    def build(source: Path, output: Path, errors: Path) -> dict[str, Any]:
        ws = ctx.workspace
        return {
            "kind": "handwritten", "variant": variant, "source": "file",
            "input": str(source), "output": str(output), "errors": str(errors),
            "source_schema": ws.source_schema, "sink_schema": ws.sink_schema,
            "sink_stream": "mediawiki.page_content_change.v1", "job_dir": str(ws.job_dir),
            "flink": flink_settings(execution_mode),
        }

    return build


def _cores(samples: list[RssSample], window: tuple[float, float] | None) -> float | None:
    """CPU seconds per second the job's processes used between the samples inside ``window``."""
    inside = [r for r in samples if window and window[0] <= r.t <= window[1]]
    if len(inside) < 2 or inside[-1].t <= inside[0].t:
        return None
    return (inside[-1].job_cpu_s - inside[0].job_cpu_s) / (inside[-1].t - inside[0].t)


def bare_chain_spec(ctx: Context, module: str, *, execution_mode: str) -> SpecBuilder:
    """Spec of the generated job's chain in a plain PyFlink ProcessFunction (no evgen operator)."""
    typed, bare = typed_spec(ctx, module, execution_mode=execution_mode), handwritten_spec(ctx, "bare_chain", execution_mode=execution_mode)

    def build(source: Path, output: Path, errors: Path) -> dict[str, Any]:
        evgen = typed(source, output, errors)
        return {**bare(source, output, errors), "module": evgen["module"], "config": evgen["config"]}

    return build


def run_file_job(
    ctx: Context,
    label: str,
    spec: SpecBuilder,
    source: Path,
    events: int,
    *,
    rss_every_s: float | None = None,
    marker: re.Pattern[bytes] | None = MARKED,
    marks: int | None = None,
) -> Measured:
    """Run, check and measure one file → file job over ``events`` inputs at ``source``.

    ``marker`` must match ``marks`` times in the output (default: once per event)."""
    run_dir = ctx.run_dir(label)
    output, errors = run_dir / "output", run_dir / "errors"
    timeout = 300.0 + events / 200.0
    outcome = launch(spec(source, output, errors), run_dir, progress=lambda: directory_bytes(output),
                     rss_every_s=rss_every_s, timeout_s=timeout, label=label)
    checked = check_output(output, marker)
    error_lines = check_output(errors).lines
    try:
        expected_marks = None if marker is None else (events if marks is None else marks)
        require_counts(label, events, checked, error_lines, marks=expected_marks)
        counts = outcome.result.get("counts") or {}
        if counts and (counts.get("in") != events or counts.get("out") != events):
            raise CountMismatch(f"{label}: the job counted {counts.get('in')} in / {counts.get('out')} out for {events:,} inputs")
    finally:
        shutil.rmtree(output, ignore_errors=True)
    return measure(ctx, label, events, outcome)


def measure(ctx: Context, label: str, events: int, outcome: Outcome) -> Measured:
    """The figures of a checked run of ``events`` inputs, from what was seen of it (logged)."""
    rate = steady_rate(outcome.progress, events)
    first = first_output_s(outcome.progress)
    steady = rate is not None
    if rate is None:  # too short to resolve: the rate over the whole output phase
        rate = events / max(outcome.wall_s - (first or 0.0), 0.05)
    ctx.log(f"{label}: {rate:,.0f} events/s steady, {outcome.wall_s:.1f} s wall")
    return Measured(
        label=label, events=events, wall_s=outcome.wall_s, events_per_s=rate,
        overhead_s=max(outcome.wall_s - events / rate, 0.0), first_output_s=first, steady=steady,
        counts=dict(outcome.result.get("counts") or {}), rss=outcome.rss,
        cores=_cores(outcome.rss, steady_window(outcome.progress)),
        started=outcome.started, progress=outcome.progress,
    )

"""Section 5, memory over a long run: RSS of the JVM and the Python worker(s), sampled each second.

The typed pass-through job reads ``memory_copies`` hard links of the dataset (1M events in
the full run) while this process samples the resident memory of the worker's process tree
every second (0.2 s in the smoke run): the JVM (mini-cluster; in thread mode the embedded Python interpreter lives
in it), the Python worker processes (process mode) and the driver. After warm-up (the first
20 % of the output phase) the growth ratio is the median of the last quarter's samples over
the median of the first quarter's: 1.0 is flat.

    results = run_memory(ctx)
    results["growth_ratio"]["median"]
"""

from __future__ import annotations

import statistics
from typing import Any

from bench.context import Context
from bench.data import replicate
from bench.errors import BenchError
from bench.filerun import run_file_job, typed_spec
from bench.launcher import RssSample
from bench.stats import Series

WARMUP_SHARE = 0.2
#: The kinds of process whose RSS is sampled (:class:`~bench.launcher.RssSample`).
PROCESSES = ("jvm", "python_workers", "driver")


def growth(samples: list[RssSample], first_output_s: float | None, kind: str = "total") -> tuple[float, float, float]:
    """(early median, late median, late / early) of one kind of RSS after warm-up."""
    start = first_output_s or 0.0
    active = [s for s in samples if s.t >= start]
    if len(active) < 8:
        raise BenchError(f"memory run: only {len(active)} RSS samples in the output phase (need 8; run longer)")
    steady = active[int(len(active) * WARMUP_SHARE):]
    quarter = max(2, len(steady) // 4)
    early = statistics.median(getattr(s, kind) for s in steady[:quarter])
    late = statistics.median(getattr(s, kind) for s in steady[-quarter:])
    return early, late, (late / early if early else float("nan"))


def growth_by_process(samples: list[RssSample], first_output_s: float | None) -> dict[str, float]:
    """Growth (late / early) of each kind of process that lived through the output phase.

    In thread mode no Python worker process does (one may show up briefly at start-up).

        growth_by_process(m.rss, m.first_output_s)   # e.g. {"jvm": 1.01, "driver": 1.0}
    """
    out = {}
    for kind in PROCESSES:
        early, _, kind_ratio = growth(samples, first_output_s, kind)
        if early:
            out[kind] = kind_ratio
    return out


def run_memory(ctx: Context) -> dict[str, Any]:
    s = ctx.settings
    source = replicate(ctx.data, s.memory_copies, ctx.runs_root / "memory-input")
    ratios, peaks, jvm_peaks, worker_peaks, rates = Series(), Series(), Series(), Series(), Series()
    by_kind: dict[str, Series] = {k: Series() for k in PROCESSES}
    timeline: list[dict[str, float]] = []
    for round_no in range(s.memory_runs):
        m = run_file_job(ctx, f"memory-r{round_no + 1}", typed_spec(ctx, "passthrough", execution_mode=s.execution_mode),
                         source, s.memory_events, rss_every_s=s.memory_sample_s)
        _, _, total_ratio = growth(m.rss, m.first_output_s)
        ratios.add(total_ratio)
        for kind, kind_ratio in growth_by_process(m.rss, m.first_output_s).items():
            by_kind[kind].add(kind_ratio)
        peaks.add(max(x.total for x in m.rss) / 2**20)
        jvm_peaks.add(max(x.jvm for x in m.rss) / 2**20)
        worker_peaks.add(max(x.python_workers for x in m.rss) / 2**20)
        rates.add(m.events_per_s)
        if round_no == 0:
            timeline = [{"t": round(x.t, 1), "jvm_mib": round(x.jvm / 2**20, 1),
                         "python_workers_mib": round(x.python_workers / 2**20, 1),
                         "driver_mib": round(x.driver / 2**20, 1)} for x in m.rss]
        ctx.log(f"memory run {round_no + 1}: growth {total_ratio:.3f}, peak {peaks.values[-1]:.0f} MiB")
    return {
        "events": s.memory_events,
        "runs": s.memory_runs,
        "execution_mode": s.execution_mode,
        "input": f"{s.memory_copies} hard links of the {s.events:,}-event dataset",
        "sample_interval_s": s.memory_sample_s,
        "growth_ratio": ratios.to_dict(3),
        "growth_ratio_by_process": {k: v.to_dict(3) for k, v in by_kind.items() if v.values},
        "peak_rss_mib": peaks.to_dict(0),
        "peak_jvm_rss_mib": jvm_peaks.to_dict(0),
        "peak_python_workers_rss_mib": worker_peaks.to_dict(0),
        "events_per_s": rates.to_dict(1),
        "timeline_run1": timeline,
    }

"""Memory growth from RSS samples (no jobs run here)."""

from __future__ import annotations

import math

import pytest

from bench.errors import BenchError
from bench.launcher import RssSample
from bench.memory import growth, growth_by_process


def samples(n: int = 40, *, jvm_growth: int = 0, worker_until: float | None = None) -> list[RssSample]:
    """One sample a second: a JVM growing by ``jvm_growth`` bytes a second from 1,000, a flat driver,
    a Python worker alive only before ``worker_until`` (always, if None)."""
    return [RssSample(t=float(t), jvm=1000 + jvm_growth * t, driver=500,
                      python_workers=300 if worker_until is None or t < worker_until else 0)
            for t in range(n)]


def test_growth_compares_the_last_quarter_with_the_first_after_warm_up() -> None:
    early, late, ratio = growth(samples(jvm_growth=10), first_output_s=0.0, kind="jvm")
    assert early < late and ratio == pytest.approx(late / early) and ratio > 1.2
    assert growth(samples(), first_output_s=0.0, kind="jvm")[2] == 1.0


def test_growth_needs_enough_samples_in_the_output_phase() -> None:
    with pytest.raises(BenchError, match="only 5 RSS samples"):
        growth(samples(10), first_output_s=5.0)


def test_a_process_gone_before_the_output_phase_has_no_growth_figure() -> None:
    rss = samples(worker_until=3.0)  # e.g. a short-lived Python process at start-up, in thread mode
    assert math.isnan(growth(rss, first_output_s=5.0, kind="python_workers")[2])
    assert growth_by_process(rss, first_output_s=5.0) == {"jvm": 1.0, "driver": 1.0}
    assert set(growth_by_process(samples(), first_output_s=5.0)) == {"jvm", "python_workers", "driver"}

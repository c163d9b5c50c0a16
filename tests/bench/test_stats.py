"""bench.stats: medians with min/max, per-run ratios, percentiles."""

from __future__ import annotations

import math

import pytest

from bench.stats import Series, percentile, ratio


def test_series_summarizes_runs() -> None:
    s = Series([5.0, 1.0, 4.0])
    assert (s.median, s.min, s.max) == (4.0, 1.0, 5.0)
    assert s.to_dict(1) == {"median": 4.0, "min": 1.0, "max": 5.0, "runs": [5.0, 1.0, 4.0]}


def test_empty_series_is_nan() -> None:
    assert math.isnan(Series().median)


def test_ratio_is_per_run() -> None:
    r = ratio(Series([10.0, 20.0, 30.0]), Series([5.0, 40.0, 10.0]))
    assert r.values == [2.0, 0.5, 3.0]
    assert r.median == 2.0


def test_ratio_needs_the_same_runs() -> None:
    with pytest.raises(ValueError):
        ratio(Series([1.0]), Series([1.0, 2.0]))


def test_percentile_interpolates() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == pytest.approx(50.5)
    assert percentile(values, 99) == pytest.approx(99.01)
    assert percentile([7.0], 99) == 7.0

"""Repeated measurements summarized as median, min and max (the suite's honesty rule).

    >>> s = Series([3.0, 1.0, 2.0])
    >>> (s.median, s.min, s.max)
    (2.0, 1.0, 3.0)
    >>> s.to_dict()
    {'median': 2.0, 'min': 1.0, 'max': 3.0, 'runs': [3.0, 1.0, 2.0]}
    >>> percentile([1.0, 2.0, 3.0, 4.0], 50)
    2.5
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from typing import Any, Sequence


@dataclass
class Series:
    """The values of one figure over the runs of a section."""

    values: list[float] = field(default_factory=list)

    def add(self, value: float) -> None:
        self.values.append(float(value))

    @property
    def median(self) -> float:
        return float(statistics.median(self.values)) if self.values else math.nan

    @property
    def min(self) -> float:
        return min(self.values) if self.values else math.nan

    @property
    def max(self) -> float:
        return max(self.values) if self.values else math.nan

    def to_dict(self, digits: int | None = None) -> dict[str, Any]:
        """``{"median", "min", "max", "runs"}`` (rounded to ``digits`` if given)."""

        def r(x: float) -> float:
            return round(x, digits) if digits is not None else x

        return {"median": r(self.median), "min": r(self.min), "max": r(self.max), "runs": [r(v) for v in self.values]}


def percentile(values: Sequence[float], pct: float) -> float:
    """The ``pct``-th percentile of ``values``, linearly interpolated (like numpy's default)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * pct / 100.0
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def ratio(numerator: Series, denominator: Series) -> Series:
    """Per-run ratios of two series measured in the same (interleaved) runs."""
    if len(numerator.values) != len(denominator.values):
        raise ValueError("ratio needs two series of the same runs")
    return Series([n / d if d else math.nan for n, d in zip(numerator.values, denominator.values)])

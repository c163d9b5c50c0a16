"""Steady-state throughput from how a job's output grew, and the output checks.

The output of a run is watched from outside while it runs (bytes in the sink directory,
in-progress part files included, or a topic's end offset). The steady-state rate is the
output between 10 % and 90 % of its final size divided by the time that took: start-up
(JVM, mini-cluster, Python workers) and tear-down are outside that window and are
reported separately as ``overhead_s = wall − events / rate``.

    >>> samples = [(0.0, 0), (5.0, 0), (6.0, 100), (7.0, 200), (8.0, 300), (9.0, 400), (10.0, 500)]
    >>> round(steady_rate(samples, events=500), 1)
    100.0
"""

from __future__ import annotations

import bisect
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from bench.errors import CountMismatch


def directory_bytes(path: Path) -> int:
    """Bytes in every file under ``path`` (hidden in-progress files included); 0 if absent."""
    total = 0
    stack = [str(path)]
    while stack:
        try:
            with os.scandir(stack.pop()) as entries:
                for entry in entries:
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            stack.append(entry.path)
                        else:
                            total += entry.stat(follow_symlinks=False).st_size
                    except FileNotFoundError:
                        continue  # renamed (committed) right now; seen on the next poll
        except (FileNotFoundError, NotADirectoryError):
            continue
    return total


def first_reaching(samples: Sequence[tuple[float, int]], level: float) -> tuple[float, int] | None:
    """The first sample ``(t, units)`` with ``units >= level``."""
    for t, v in samples:
        if v >= level:
            return t, v
    return None


def steady_rate(samples: Sequence[tuple[float, int]], events: int, low: float = 0.1, high: float = 0.9) -> float | None:
    """Events/s while the output grew from ``low`` to ``high`` of its final size.

    Uses the samples that first reached each level and the output actually delivered
    between them, so output that arrives in steps (mini-batches) is not over-counted.
    None if the window cannot be resolved (a run too short for the sampling).
    """
    if not samples or events <= 0:
        return None
    final = samples[-1][1]
    if final <= 0:
        return None
    a, b = first_reaching(samples, low * final), first_reaching(samples, high * final)
    if a is None or b is None or b[0] <= a[0] or b[1] <= a[1]:
        return None
    return (b[1] - a[1]) / final * events / (b[0] - a[0])


def steady_window(samples: Sequence[tuple[float, int]], low: float = 0.1, high: float = 0.9) -> tuple[float, float] | None:
    """The times at which the output first reached ``low`` and ``high`` of its final size."""
    final = samples[-1][1] if samples else 0
    a, b = first_reaching(samples, low * final), first_reaching(samples, high * final)
    return (a[0], b[0]) if final > 0 and a is not None and b is not None and b[0] > a[0] else None


def units_at(samples: Sequence[tuple[float, int]], t: float) -> float:
    """The output at ``t``, linearly interpolated between the samples around it.

        >>> units_at([(0.0, 0), (2.0, 100), (4.0, 100)], 1.0)
        50.0
    """
    i = bisect.bisect_left(samples, t, key=lambda sample: sample[0])
    if i == 0:
        return float(samples[0][1])
    if i == len(samples):
        return float(samples[-1][1])
    (t0, v0), (t1, v1) = samples[i - 1], samples[i]
    return v0 + (v1 - v0) * (t - t0) / (t1 - t0) if t1 > t0 else float(v1)


def rate_between(samples: Sequence[tuple[float, int]], events: int, start: float, end: float) -> float:
    """Events/s the output grew by between ``start`` and ``end`` (seconds, as the samples' times),
    with ``events`` in the whole output."""
    return (units_at(samples, end) - units_at(samples, start)) / samples[-1][1] * events / (end - start)


def first_output_s(samples: Sequence[tuple[float, int]]) -> float | None:
    """Seconds from spawn to the first output byte."""
    for t, v in samples:
        if v > 0:
            return t
    return None


@dataclass(frozen=True)
class OutputCheck:
    """Lines in the committed output files and how many carry the benchmark's change."""

    lines: int
    marked: int


def visible_files(path: Path) -> list[Path]:
    """Committed part files (Flink's hidden in-progress files excluded), as readers see them."""
    if not path.is_dir():
        return []
    return sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith((".", "_")))


def check_output(path: Path, marker: re.Pattern[bytes] | None = None) -> OutputCheck:
    """Count output lines (and lines matching ``marker``) in the committed files under ``path``."""
    lines = marked = 0
    for file in visible_files(path):
        with file.open("rb") as f:
            while chunk := f.read(1 << 24) + f.readline():  # whole lines: no marker split
                lines += chunk.count(b"\n")
                if marker is not None:
                    marked += len(marker.findall(chunk))
    return OutputCheck(lines, marked)


def require_counts(label: str, expected: int, outputs: OutputCheck, errors: int, *, marks: int | None = None) -> None:
    """Fail loudly unless every input became exactly one output, with ``marks`` marker
    matches in all (None: no marker check), and there was no error event."""
    problems = []
    if outputs.lines != expected:
        problems.append(f"{outputs.lines:,} outputs for {expected:,} inputs")
    if marks is not None and outputs.marked != marks:
        problems.append(f"{outputs.marked:,} outputs carry the change (expected {marks:,})")
    if errors:
        problems.append(f"{errors:,} error events")
    if problems:
        raise CountMismatch(f"{label}: " + "; ".join(problems))

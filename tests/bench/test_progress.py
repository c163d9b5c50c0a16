"""bench.progress: steady-state rates from output growth, and the output checks that fail loudly."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bench.errors import CountMismatch
from bench.progress import (
    OutputCheck,
    check_output,
    directory_bytes,
    first_output_s,
    rate_between,
    require_counts,
    steady_rate,
    steady_window,
    units_at,
    visible_files,
)


def test_steady_rate_ignores_startup_and_teardown() -> None:
    # 10 s of start-up, then 100 events/s of output (10 bytes each), then 5 s of tear-down.
    samples = [(float(t), 0) for t in range(11)]
    samples += [(10.0 + t, t * 1000) for t in range(1, 11)]
    samples += [(20.0 + t, 10_000) for t in range(1, 6)]
    assert steady_rate(samples, events=1000) == pytest.approx(100.0)
    assert first_output_s(samples) == 11.0


def test_steady_rate_counts_only_what_arrived_between_steps() -> None:
    # Output in mini-batch steps of 32 of 80 events, one step every 0.2 s.
    samples = [(0.0, 0), (1.0, 0), (1.2, 32), (1.4, 64), (1.6, 80), (2.0, 80)]
    # 10 % is first reached at 1.2 s (32), 90 % at 1.6 s (80): 48 events in 0.4 s.
    assert steady_rate(samples, events=80) == pytest.approx(120.0)


def test_steady_window_is_when_the_output_passed_10_and_90_percent() -> None:
    samples = [(0.0, 0), (1.0, 5), (2.0, 20), (3.0, 60), (4.0, 95), (5.0, 100)]
    assert steady_window(samples) == (2.0, 4.0)
    assert steady_window([(0.0, 0), (1.0, 100)]) is None and steady_window([]) is None


def test_steady_rate_unresolvable_for_one_step() -> None:
    assert steady_rate([(0.0, 0), (1.0, 500)], events=500) is None
    assert steady_rate([(0.0, 0), (1.0, 0)], events=500) is None
    assert steady_rate([], events=5) is None


def test_directory_bytes_counts_in_progress_files(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "part-0.jsonl").write_bytes(b"x" * 10)
    (tmp_path / "sub" / ".part-1.inprogress.abc").write_bytes(b"y" * 5)
    assert directory_bytes(tmp_path) == 15
    assert directory_bytes(tmp_path / "missing") == 0
    assert visible_files(tmp_path) == [tmp_path / "part-0.jsonl"]


def test_check_output_counts_committed_lines_and_marks(tmp_path: Path) -> None:
    (tmp_path / "part-0.jsonl").write_text('{"page_title":"bench:A"}\n{"page_title":"B"}\n')
    (tmp_path / "part-1.jsonl").write_text('{"page_title": "bench:C"}\n')
    (tmp_path / ".part-2.inprogress").write_text('{"page_title":"bench:D"}\n')  # not committed
    checked = check_output(tmp_path, re.compile(rb'"page_title":\s*"bench:'))
    assert checked == OutputCheck(lines=3, marked=2)


def test_require_counts_passes_an_exact_run() -> None:
    require_counts("run", 3, OutputCheck(3, 3), 0, marks=3)


@pytest.mark.parametrize(
    ("outputs", "errors", "marks", "message"),
    [
        (OutputCheck(2, 0), 0, None, "run: 2 outputs for 3 inputs"),
        (OutputCheck(3, 1), 0, 3, "run: 1 outputs carry the change (expected 3)"),
        (OutputCheck(3, 3), 4, 3, "run: 4 error events"),
        (OutputCheck(4, 2), 1, 3, "run: 4 outputs for 3 inputs; 2 outputs carry the change (expected 3); 1 error events"),
    ],
)
def test_require_counts_fails_loudly(outputs: OutputCheck, errors: int, marks: int | None, message: str) -> None:
    with pytest.raises(CountMismatch) as raised:
        require_counts("run", 3, outputs, errors, marks=marks)
    assert str(raised.value) == message


def test_rate_between_interpolates_the_output_between_samples() -> None:
    samples = [(0.0, 0), (10.0, 0), (20.0, 1000), (30.0, 2000), (40.0, 2000)]  # 100 bytes/s from 10 s to 30 s
    assert rate_between(samples, 200, 15.0, 25.0) == pytest.approx(10.0)  # 1000 bytes = 100 events in 10 s
    assert units_at(samples, 25.0) == 1500.0 and units_at(samples, -1.0) == 0.0 and units_at(samples, 99.0) == 2000.0

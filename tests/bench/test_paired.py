"""bench.paired: jobs started together, rated over the window in which all were in their steady state."""

from __future__ import annotations

import threading

import pytest

from bench.context import Context, Settings
from bench.filerun import Measured
from bench.paired import Pair, Rounds, run_together


def _measured(label: str, started: float, begin_s: float, rate: float, events: int = 1000) -> Measured:
    """A run spawned at ``started`` (wall clock) whose output grows at ``rate`` from ``begin_s`` after spawn."""
    end_s = begin_s + events / rate
    progress = [(t / 2, max(0, min(events, round((t / 2 - begin_s) * rate)))) for t in range(int(end_s * 2) + 4)]
    return Measured(label=label, events=events, wall_s=progress[-1][0], events_per_s=rate, overhead_s=begin_s,
                    first_output_s=begin_s, steady=True, started=started, progress=progress)


@pytest.fixture
def ctx() -> Context:
    return Context(settings=Settings.smoke_preset(), workspace=None, data=None, runs_root=None, quiet=True)  # type: ignore[arg-type]


def test_rates_are_taken_over_the_common_steady_window(ctx: Context) -> None:
    # a: spawned at 100, output from +10 s at 100/s: steady (10 %..90 %) at 111..119 on the wall clock;
    # b: spawned at 101, output from +10 s at 50/s: steady at 113..129. Common: 113..119.
    runs = {"a": lambda: _measured("a", 100.0, 10.0, 100.0), "b": lambda: _measured("b", 101.0, 10.0, 50.0)}
    pair = run_together(ctx, "pair", runs, 1000)
    assert pair.common_window and pair.window_s == pytest.approx(6.0)
    assert pair.events_per_s == pytest.approx({"a": 100.0, "b": 50.0})


def test_runs_that_never_overlap_keep_their_own_rates(ctx: Context) -> None:
    runs = {"a": lambda: _measured("a", 100.0, 1.0, 500.0), "b": lambda: _measured("b", 200.0, 1.0, 250.0)}
    assert run_together(ctx, "pair", runs, 1000) == Pair({"a": 500.0, "b": 250.0}, 0.0, False)


def test_the_runs_start_at_the_same_time(ctx: Context) -> None:
    both_running = threading.Barrier(2, timeout=10)  # broken (an error) if one run waited for the other

    def run(label: str) -> Measured:
        both_running.wait()
        return _measured(label, 100.0, 10.0, 100.0)

    pair = run_together(ctx, "pair", {"a": lambda: run("a"), "b": lambda: run("b")}, 1000)
    assert pair.events_per_s == pytest.approx({"a": 100.0, "b": 100.0})


def test_rounds_give_the_ratio_of_each_round() -> None:
    rounds = Rounds(("typed", "handwritten"))
    rounds.add(Pair({"typed": 110.0, "handwritten": 100.0}, 12.0, True))
    rounds.add(Pair({"typed": 90.0, "handwritten": 100.0}, 10.0, True))
    rounds.add(Pair({"typed": 300.0, "handwritten": 200.0}, 0.0, False))
    assert rounds.ratio().values == pytest.approx([1.1, 0.9, 1.5])
    assert rounds.to_dict()["common_window"] is False
    assert rounds.to_dict()["events_per_s"]["typed"]["median"] == 110.0

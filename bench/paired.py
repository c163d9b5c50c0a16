"""Two jobs run at the same time, each in its own process: a ratio whose sides saw the same host.

On a shared VM the same job's rate moves by ±15 % between runs a minute apart, more than the
effects the suite looks for; interleaving spreads that drift over both sides of a ratio but
cannot remove it. Jobs started together share whatever the host does while they run. Each
job's rate is taken over the *common* window, from the later of their steady-state starts
(10 % of their output) to the earlier of their ends (90 %), so neither runs alone in it. The
jobs share the machine's cores, so their rates can be lower than alone (the report says by how
much); the ratio is the figure.

    runs = {name: partial(run_file_job, ctx, f"pair-r1-{name}", specs[name], ctx.data, n) for name in specs}
    pair = run_together(ctx, "pair-r1", runs, n)
    pair.events_per_s["typed"] / pair.events_per_s["handwritten"]
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from bench.context import Context
from bench.filerun import Measured
from bench.progress import rate_between, steady_window
from bench.stats import Series, ratio


@dataclass(frozen=True)
class Pair:
    """The jobs' rates over the window in which all of them were in their steady state."""

    events_per_s: dict[str, float]
    window_s: float  #: length of that common window
    #: False: the runs were too short to share a steady window (a smoke run); the rates are each
    #: job's own (as :func:`~bench.filerun.measure` took it).
    common_window: bool


@dataclass
class Rounds:
    """The pairs of several rounds: each job's rates, the common windows, the ratio of the two."""

    jobs: tuple[str, str]  #: numerator, denominator
    rates: dict[str, Series] = field(default_factory=dict)
    windows: Series = field(default_factory=Series)
    common: bool = True  #: every round had a common steady window

    def add(self, pair: Pair) -> None:
        for name in self.jobs:
            self.rates.setdefault(name, Series()).add(pair.events_per_s[name])
        self.windows.add(pair.window_s)
        self.common = self.common and pair.common_window

    def ratio(self) -> Series:
        return ratio(self.rates[self.jobs[0]], self.rates[self.jobs[1]])

    def to_dict(self) -> dict[str, Any]:
        return {"jobs": list(self.jobs), "events_per_s": {name: self.rates[name].to_dict(1) for name in self.jobs},
                "common_window_s": self.windows.to_dict(1), "common_window": self.common}


def run_together(ctx: Context, label: str, runs: Mapping[str, Callable[[], Measured]], events: int) -> Pair:
    """Start every run at once (each a checked, measured run of ``events`` inputs); their rates."""
    with ThreadPoolExecutor(len(runs)) as pool:
        futures = {name: pool.submit(run) for name, run in runs.items()}
        measured = {name: future.result() for name, future in futures.items()}
    windows = [window for m in measured.values() if (window := _steady(m))]
    start, end = (max(w[0] for w in windows), min(w[1] for w in windows)) if windows else (0.0, 0.0)
    if len(windows) == len(measured) and end > start:
        rates = {name: rate_between(m.progress, events, start - m.started, end - m.started)
                 for name, m in measured.items()}
        pair = Pair(rates, end - start, True)
    else:
        pair = Pair({name: m.events_per_s for name, m in measured.items()}, 0.0, False)
    ctx.log(f"{label}: " + ", ".join(f"{name} {rate:,.0f}" for name, rate in pair.events_per_s.items())
            + f" events/s over a common {pair.window_s:.1f} s")
    return pair


def _steady(m: Measured) -> tuple[float, float] | None:
    """The run's steady window in wall-clock time."""
    window = steady_window(m.progress)
    return (m.started + window[0], m.started + window[1]) if window else None

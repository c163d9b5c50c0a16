"""Section 2, data path × execution mode: the typed pass-through job four ways.

``flink.data_path`` ``json`` (JSON strings through Flink, parsed by pydantic-core in Python)
or ``row`` (decoded on the JVM into Rows, converted to models), each with
``flink.execution_mode`` ``thread`` and ``process``; interleaved rounds, every run's output
count-checked. The fastest correct combination is what the suite recommends as the default
(``default_data_path`` / ``default_execution_mode``).

    results = run_datapath(ctx)
    results["fastest"]        # {"data_path": "json", "execution_mode": "thread"}
"""

from __future__ import annotations

from typing import Any

from bench.context import Context
from bench.errors import RunFailed
from bench.filerun import run_file_job, typed_spec
from bench.stats import Series
from bench.typed_vs_handwritten import rotated

COMBINATIONS = [("json", "thread"), ("json", "process"), ("row", "thread"), ("row", "process")]


def key(data_path: str, mode: str) -> str:
    return f"{data_path}/{mode}"


def run_datapath(ctx: Context) -> dict[str, Any]:
    """Every combination × ``settings.runs`` rounds. A combination whose job crashes is
    recorded as failed (with Flink's reason) and not run again; a wrong count fails the suite."""
    s = ctx.settings
    names = [key(*c) for c in COMBINATIONS]
    rates = {name: Series() for name in names}
    walls = {name: Series() for name in names}
    overheads = {name: Series() for name in names}
    failures: dict[str, str] = {}
    for round_no in range(s.runs):
        for data_path, mode in rotated(COMBINATIONS, round_no):
            name = key(data_path, mode)
            if name in failures:
                continue
            spec = typed_spec(ctx, "passthrough", execution_mode=mode, data_path=data_path)
            try:
                m = run_file_job(ctx, f"datapath-{data_path}-{mode}-r{round_no + 1}", spec, ctx.data, s.events)
            except RunFailed as e:
                failures[name] = str(e)
                ctx.log(f"datapath {name}: FAILED ({e})")
                continue
            rates[name].add(m.events_per_s)
            walls[name].add(m.wall_s)
            overheads[name].add(m.overhead_s)
    working = [name for name in names if name not in failures]
    fastest = max(working, key=lambda k: rates[k].median) if working else None
    combinations: dict[str, Any] = {}
    for name in names:
        data_path, mode = name.split("/")
        entry: dict[str, Any] = {"data_path": data_path, "execution_mode": mode, "correct": name not in failures}
        if name in failures:
            entry["failure"] = failures[name]
        else:
            entry.update(events_per_s=rates[name].to_dict(1), wall_s=walls[name].to_dict(2),
                         startup_and_teardown_s=overheads[name].to_dict(2))
        combinations[name] = entry
    return {
        "events": s.events,
        "runs": s.runs,
        "combinations": combinations,
        "fastest": None if fastest is None else dict(zip(("data_path", "execution_mode"), fastest.split("/"))),
    }

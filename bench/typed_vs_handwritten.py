"""Section 1, the cost of types: the generated evgen job against hand-written PyFlink.

File → file, same data, same execution mode and parallelism, runs interleaved (each round
runs every job once, the order rotating), each job in a fresh process. Jobs:

- ``typed``: the generated job, ``process`` a typed pass-through changing one field;
- ``typed_template``: the same with the job template's carry-over (``model_dump`` →
  ``model_validate``) left in, as ``evgen new-job`` writes it;
- ``handwritten``: dicts + ``json.loads``/``dumps`` + the same validation (fastjsonschema,
  same resolved schemas), normalization and error routing — the "same work" baseline;
- ``handwritten_minimal``: ``json.loads``/``dumps`` only — the floor;
- ``typed_bare``: the typed job's own chain called from a plain PyFlink ProcessFunction:
  ``typed`` / ``typed_bare`` is what evgen's operator costs, ``typed_bare`` / ``handwritten``
  what the typed per-event work costs inside Flink.

The headline ratio is typed / handwritten events/s with the two jobs *paired*: started
together, each in its own process, rated over their common steady window
(:mod:`bench.paired`), once per round; the host's drift between runs is then the same for
both sides. The interleaved runs give each job's rate alone and the ratios of the other jobs,
round by round (median, min, max over rounds). The per-event Python cost of each job,
measured in-process, splits the time into the job's own work and Flink's plumbing. evgen
validates outputs with jsonschema-rs, the baseline with fastjsonschema; ``handwritten_rs``
(in-process only) shows the baseline's Python with jsonschema-rs.

    results = run_file(ctx)
    results["ratio"]["median"]
"""

from __future__ import annotations

from functools import partial
from typing import Any, Sequence, TypeVar

from bench.context import Context
from bench.filerun import SpecBuilder, bare_chain_spec, handwritten_spec, run_file_job, typed_spec
from bench.inprocess import per_event_us
from bench.paired import Rounds, run_together
from bench.stats import Series, ratio

LABELS = {
    "typed": "evgen typed (pass-through, one field changed)",
    "typed_template": "evgen typed, template carry-over (model_dump → model_validate)",
    "handwritten": "hand-written PyFlink, same work (json + fastjsonschema in/out + normalize + error routing)",
    "handwritten_minimal": "hand-written PyFlink, minimal (json.loads/json.dumps only, no validation)",
    "typed_bare": "evgen's typed chain in a plain PyFlink ProcessFunction (no evgen operator)",
}
IN_PROCESS_EVENTS = 20_000
#: Measured in-process only (no Flink run): what the hand-written job's Python would cost with
#: the validator evgen's sinks use.
IN_PROCESS_ONLY = {"handwritten_rs": "hand-written, same work, jsonschema-rs instead of fastjsonschema in and out"}
#: Jobs whose per-event Python code is another job's: measured in-process once, under that name.
SAME_CODE_AS = {"typed_bare": "typed"}
#: The headline ratio's two jobs, run together (numerator first).
PAIRED = ("typed", "handwritten")
T = TypeVar("T")


def file_jobs(ctx: Context, execution_mode: str) -> dict[str, SpecBuilder]:
    return {
        "typed": typed_spec(ctx, "passthrough", execution_mode=execution_mode),
        "typed_template": typed_spec(ctx, "template_carry", execution_mode=execution_mode),
        "handwritten": handwritten_spec(ctx, "validated", execution_mode=execution_mode),
        "handwritten_minimal": handwritten_spec(ctx, "minimal", execution_mode=execution_mode),
        "typed_bare": bare_chain_spec(ctx, "passthrough", execution_mode=execution_mode),
    }


def rotated(items: Sequence[T], round_no: int) -> list[T]:
    """``items`` rotated by ``round_no`` (interleaving: no job always runs first)."""
    k = round_no % len(items)
    return list(items[k:]) + list(items[:k])


def run_file(ctx: Context) -> dict[str, Any]:
    """Every job × ``settings.runs`` rounds, file → file; figures and ratios."""
    s = ctx.settings
    jobs = file_jobs(ctx, s.execution_mode)
    rates = {name: Series() for name in jobs}
    walls = {name: Series() for name in jobs}
    overheads = {name: Series() for name in jobs}
    steady = {name: True for name in jobs}
    for round_no in range(s.runs):
        for name in rotated(list(jobs), round_no):
            m = run_file_job(ctx, f"file-{name}-r{round_no + 1}", jobs[name], ctx.data, s.events)
            rates[name].add(m.events_per_s)
            walls[name].add(m.wall_s)
            overheads[name].add(m.overhead_s)
            steady[name] = steady[name] and m.steady
    paired = Rounds(PAIRED)
    for round_no in range(s.runs):
        label = f"file-pair-r{round_no + 1}"
        paired.add(run_together(ctx, label, {
            name: partial(run_file_job, ctx, f"{label}-{name}", jobs[name], ctx.data, s.events) for name in PAIRED
        }, s.events))
    lines = ctx.data.read_text(encoding="utf-8").splitlines()[:IN_PROCESS_EVENTS]
    in_process = {name: Series() for name in [*jobs, *IN_PROCESS_ONLY] if name not in SAME_CODE_AS}
    for _ in range(s.runs):
        for name in in_process:
            in_process[name].add(per_event_us(ctx, name, lines))
    in_process.update({name: in_process[same] for name, same in SAME_CODE_AS.items()})
    return {
        "events": s.events,
        "runs": s.runs,
        "execution_mode": s.execution_mode,
        "data_path": "json",
        "parallelism": 1,
        "jobs": {
            name: {
                "label": LABELS[name],
                "events_per_s": rates[name].to_dict(1),
                "wall_s": walls[name].to_dict(2),
                "startup_and_teardown_s": overheads[name].to_dict(2),
                "steady_state_resolved": steady[name],
                "python_us_per_event_in_process": in_process[name].to_dict(1),
                "flink_and_runtime_us_per_event": round(1e6 / rates[name].median - in_process[name].median, 1),
            }
            for name in jobs
        },
        "ratio": paired.ratio().to_dict(3),
        "paired": paired.to_dict(),
        "ratio_interleaved": ratio(rates["typed"], rates["handwritten"]).to_dict(3),
        "ratio_vs_minimal": ratio(rates["typed"], rates["handwritten_minimal"]).to_dict(3),
        "ratio_template": ratio(rates["typed_template"], rates["handwritten"]).to_dict(3),
        "ratio_operator": ratio(rates["typed"], rates["typed_bare"]).to_dict(3),
        "ratio_bare": ratio(rates["typed_bare"], rates["handwritten"]).to_dict(3),
        "in_process_events": len(lines),
        "in_process_only": {name: {"label": label, "python_us_per_event_in_process": in_process[name].to_dict(1)}
                            for name, label in IN_PROCESS_ONLY.items()},
    }

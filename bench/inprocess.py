"""Per-event cost of each job's Python work alone, in this process (no Flink).

Splits a job's cost into what its per-event code takes (measured here, µs/event over the
first events of the dataset) and what Flink and the runtime's plumbing add (the rest of
``1 / events_per_s`` measured on the mini-cluster).

    us = per_event_us(ctx, "typed", lines)     # e.g. 70.0
"""

from __future__ import annotations

import importlib
import sys
import time
from typing import Any, Callable

from bench.context import Context
from bench.handwritten import HandWrittenJob


def _evgen_chain(ctx: Context, module: str) -> Callable[[str], Any]:
    from evgen.runtime.config import parse_config
    from evgen.runtime.job import Job
    from evgen.runtime.stream import Stream

    ws = ctx.workspace
    if str(ws.job_dir) not in sys.path:
        sys.path.insert(0, str(ws.job_dir))
    config = ws.config({"connector": "file", "options": {"path": "unused"}},
                       {"connector": "file", "options": {"path": "unused"}},
                       {"connector": "file", "options": {"path": "unused"}})
    job = Job.from_config(parse_config(config, source="bench"), ws.job_dir)
    chain = importlib.import_module(ws.module(module)).pipeline(Stream(job)).chain()

    def run(line: str) -> Any:
        done = chain.complete(line)
        if done.error is not None or len(done.outputs) != 1:
            raise RuntimeError(f"{module}: in-process chain did not produce one output: {done.error}")
        return done

    return run


def _handwritten(ctx: Context, variant: str) -> Callable[[str], Any]:
    ws = ctx.workspace
    fn = HandWrittenJob(variant, ws.source_schema, ws.sink_schema, "mediawiki.page_content_change.v1").function()  # type: ignore[arg-type]
    fn.open(None)

    def run(line: str) -> Any:
        out = list(fn.process_element(line, None))
        if len(out) != 1 or isinstance(out[0], tuple):
            raise RuntimeError(f"handwritten {variant}: in-process function did not produce one output: {out}")
        return out

    return run


FUNCTIONS: dict[str, Callable[[Context], Callable[[str], Any]]] = {
    "typed": lambda ctx: _evgen_chain(ctx, "passthrough"),
    "typed_template": lambda ctx: _evgen_chain(ctx, "template_carry"),
    "handwritten": lambda ctx: _handwritten(ctx, "validated"),
    "handwritten_rs": lambda ctx: _handwritten(ctx, "validated_rs"),
    "handwritten_minimal": lambda ctx: _handwritten(ctx, "minimal"),
}


def per_event_us(ctx: Context, name: str, lines: list[str]) -> float:
    """Mean µs per event of job ``name``'s per-event code over ``lines``."""
    fn = FUNCTIONS[name](ctx)
    for line in lines[:100]:  # warm-up
        fn(line)
    started = time.perf_counter()
    for line in lines:
        fn(line)
    return (time.perf_counter() - started) / len(lines) * 1e6

"""Section 3, enrichment concurrency: an HTTP process function against a slow Action API.

The generated job's ``enrich`` pipeline (:mod:`bench.workspace`) fetches every event's
revision content with :class:`evgen.mediawiki.ActionApi` over the injected, pooled
session, from a :class:`~evgen.testing.action_api.FakeActionApi` (a real HTTP server on
127.0.0.1, in this process) that answers each request after ``enrich_latency_ms``. For
``max_workers`` w in 1, 8, 32, 64, 128 (``batch_size`` = 4 × w) the steady-state
throughput is compared with Little's-law bound w / latency, and with a synchronous
per-event baseline (``process(..., sync=True)``: one request at a time), and with the HTTP
client alone (:mod:`bench.client_ceiling`: the same requests, w at a time, no Flink). Every
level runs twice: the process function on a ``requests`` session (``levels``) and its
``async def`` twin on an ``aiohttp`` session (``async_levels``, ``params.http_client: aiohttp``).

Every run is checked: one output per input, each with the fake's content in every slot,
no error, and exactly one request per event at the server.

    results = run_enrich(ctx)
    results["levels"]["64"]["fraction_of_bound"]["median"]
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

from evgen.testing.action_api import FakeActionApi

from bench.client_ceiling import measure_in_subprocess
from bench.context import Context
from bench.errors import CountMismatch
from bench.filerun import run_file_job, typed_spec
from bench.stats import Series
from bench.typed_vs_handwritten import rotated

#: An output slot filled from the fake's generated content.
FILLED = re.compile(rb'"content_body":\s*"== Revision \d+ ==')
SYNC = "sync"
#: How often the job's CPU time is sampled (its cores used in the steady window are reported).
CPU_EVERY_S = 0.25


def events_for(workers: int, latency_s: float, seconds: float, available: int) -> int:
    """Events for one level: the bound's throughput × ``seconds`` (at least 20), capped."""
    return max(20, min(available, math.ceil(workers / latency_s * seconds)))


def head(source: Path, count: int, target: Path) -> tuple[Path, int]:
    """The first ``count`` lines of ``source`` into ``target``; return it and their slot count."""
    lines = []
    with source.open(encoding="utf-8") as f:
        for line in f:
            lines.append(line)
            if len(lines) >= count:
                break
    target.write_text("".join(lines), encoding="utf-8")
    slots = sum(len(json.loads(line)["revision"].get("content_slots") or {}) for line in lines)
    return target, slots


#: The process functions measured at each level: (label suffix, params.http_client).
CLIENTS = {"requests": "", "aiohttp": "async-"}


def _level_name(client: str, workers: int) -> str:
    return f"{CLIENTS[client]}{workers}"


def run_enrich(ctx: Context) -> dict[str, Any]:
    s = ctx.settings
    latency_s = s.enrich_latency_ms / 1000.0
    available = s.events
    runs_of: list[tuple[str, str, int]] = [(SYNC, "requests", 1)] + [
        (_level_name(client, w), client, w) for client in CLIENTS for w in s.enrich_workers]
    names = [name for name, _, _ in runs_of]
    rates = {name: Series() for name in names}
    fractions = {name: Series() for name in names}
    in_flight: dict[str, int] = {name: 0 for name in names}
    ceilings = {name: Series() for name in names if name != SYNC}
    client_cpu_us = {client: Series() for client in CLIENTS}
    cores = {name: Series() for name in names}
    sizes: dict[str, int] = {}
    inputs_dir = ctx.run_dir("enrich-inputs")
    with FakeActionApi(latency_s=latency_s) as api:
        for round_no in range(s.runs):
            for name, client, workers in rotated(runs_of, round_no):
                count = events_for(workers, latency_s, s.enrich_seconds, available)
                source, slots = head(ctx.data, count, inputs_dir / f"{name}.jsonl")
                sizes[name] = count
                params = {
                    "action_api_url": api.url_template,
                    "max_workers": workers,
                    "batch_size": 1 if name == SYNC else s.enrich_batch_factor * workers,
                    "sync": name == SYNC,
                    "http_client": client,
                }
                spec = typed_spec(ctx, "enrich", execution_mode=s.execution_mode, params=params)
                api.reset_counts()
                label = f"enrich-{name}-r{round_no + 1}"
                m = run_file_job(ctx, label, spec, source, count, marker=FILLED, marks=slots, rss_every_s=CPU_EVERY_S)
                if api.total_requests != count:
                    raise CountMismatch(
                        f"{label}: the Action API saw {api.total_requests:,} requests for {count:,} events"
                    )
                bound = workers / latency_s
                rates[name].add(m.events_per_s)
                fractions[name].add(m.events_per_s / bound)
                in_flight[name] = max(in_flight[name], api.max_in_flight)
                if m.cores is not None:
                    cores[name].add(m.cores)
                if name != SYNC:
                    api.reset_counts()
                    ceiling = measure_in_subprocess(api.url_template, workers, count, client)
                    if api.total_requests != count:
                        raise CountMismatch(f"{label}: the client ceiling run sent {api.total_requests:,} of {count:,}")
                    ceilings[name].add(ceiling["requests_per_s"] / bound)
                    client_cpu_us[client].add(ceiling["cpu_us_per_request"])

    def level(name: str, workers: int) -> dict[str, Any]:
        return {
            "max_workers": workers,
            "batch_size": s.enrich_batch_factor * workers,
            "events": sizes[name],
            "bound_events_per_s": round(workers / latency_s, 1),
            "events_per_s": rates[name].to_dict(1),
            "fraction_of_bound": fractions[name].to_dict(3),
            "speedup_vs_sync": round(rates[name].median / rates[SYNC].median, 2),
            "max_in_flight_at_server": in_flight[name],
            "client_alone_fraction_of_bound": ceilings[name].to_dict(3),
            "job_cpu_cores": cores[name].to_dict(2) if cores[name].values else None,
        }

    def levels(client: str) -> dict[str, Any]:
        return {str(w): level(_level_name(client, w), w) for w in s.enrich_workers}

    return {
        "latency_ms": s.enrich_latency_ms,
        "runs": s.runs,
        "batch_size_per_worker": s.enrich_batch_factor,
        "execution_mode": s.execution_mode,
        "client_cpu_us_per_request": client_cpu_us["requests"].to_dict(1),
        "async_client_cpu_us_per_request": client_cpu_us["aiohttp"].to_dict(1),
        "sync_baseline": {
            "events": sizes[SYNC],
            "events_per_s": rates[SYNC].to_dict(2),
            "bound_events_per_s": 1 / latency_s,
            "fraction_of_bound": fractions[SYNC].to_dict(3),
        },
        "levels": levels("requests"),
        "async_levels": levels("aiohttp"),
    }

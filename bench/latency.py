"""Section 4, end-to-end latency at a low input rate (10 events/s).

The generated pass-through job runs unbounded: its source watches a directory
(:mod:`bench.tail`, discovery every 50 ms) into which a feeder thread here writes one event
file every 1/rate s — the *source timestamp* is when the file becomes visible (atomic
rename; the event's ``dt`` carries it too). A probe just before the sink records each
output's *sink timestamp*. After a warm-up event has come through (the job is up), the
measured events are fed on a fixed schedule; once all of them have reached the probe the
job is stopped. Latency = sink − source per event; p50 and p99 per run.

The job's process step runs mini-batched (``process: {sync: false}``, the path of every
function that does I/O; a pass-through left to the default would run inline, with no batch
to wait for), so an event waits for its batch: at 10 events/s a batch of ``batch_size`` 100
never fills, so it closes after ``batch_duration_ms`` (1000 ms by default) — the target is
p99 <= batch_duration_ms + 200 ms.

    results = run_latency(ctx)
    results["p99_ms"]["median"]
"""

from __future__ import annotations

import json
import os
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from evgen.runtime.config import ProcessSettings

from bench.context import Context
from bench.errors import BenchError, CountMismatch
from bench.filerun import flink_settings
from bench.launcher import launch
from bench.progress import check_output
from bench.stats import Series, percentile
from bench.tail import read_probe

DISCOVERY_MS = 50
WARMUP_TIMEOUT_S = 180.0


class Feeder(threading.Thread):
    """Writes warm-up events until one reaches the probe, then ``count`` events at ``rate``/s."""

    def __init__(self, directory: Path, probe: Path, lines: list[str], count: int, rate: float) -> None:
        super().__init__(name="bench-latency-feeder", daemon=True)
        self.directory = directory
        self.probe = probe
        self.lines = lines
        self.count = count
        self.rate = rate
        self.sent: dict[str, float] = {}  #: measured meta.id → source timestamp (epoch ms)
        self.done = threading.Event()
        self.halt = threading.Event()
        self.failure: str | None = None
        self._n = 0

    def _write(self, line: str) -> tuple[str, float]:
        event = json.loads(line)
        now = datetime.now(timezone.utc)
        event["dt"] = event["meta"]["dt"] = now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        self._n += 1
        name = f"event-{self._n:06d}.jsonl"
        tmp = self.directory / f".{name}.tmp"
        tmp.write_text(json.dumps(event) + "\n", encoding="utf-8")
        os.replace(tmp, self.directory / name)
        return event["meta"]["id"], time.time() * 1000.0

    def run(self) -> None:
        try:
            self._warm_up()
            start = time.monotonic() + 1.0
            for i in range(self.count):
                delay = start + i / self.rate - time.monotonic()
                if delay > 0 and self.halt.wait(delay):
                    return
                event_id, stamp = self._write(self.lines[(i + 1) % len(self.lines)])
                self.sent[event_id] = stamp
        except Exception as e:  # reported by run_latency
            self.failure = f"{type(e).__name__}: {e}"
        finally:
            self.done.set()

    def _warm_up(self) -> None:
        deadline = time.monotonic() + WARMUP_TIMEOUT_S
        warm: set[str] = set()
        while not warm & read_probe(self.probe).keys():
            if time.monotonic() > deadline:
                raise BenchError(f"no warm-up event came through within {WARMUP_TIMEOUT_S:.0f} s")
            warm.add(self._write(self.lines[0])[0])
            if self.halt.wait(0.5):
                return

    def all_through(self) -> bool:
        return self.done.is_set() and (self.failure is not None or self.sent.keys() <= read_probe(self.probe).keys())


def one_run(ctx: Context, round_no: int) -> dict[str, Any]:
    s = ctx.settings
    run_dir = ctx.run_dir(f"latency-r{round_no + 1}")
    source, output, errors, probe = run_dir / "input", run_dir / "output", run_dir / "errors", run_dir / "probe.txt"
    source.mkdir()
    ws = ctx.workspace
    config = ws.config(
        {"connector": "bench_tail", "options": {"path": str(source), "discovery_ms": DISCOVERY_MS}},
        {"connector": "bench_tail", "options": {"path": str(output), "probe": str(probe)}},
        {"connector": "file", "options": {"path": str(errors)}},
        flink=flink_settings(s.execution_mode, s.data_path),
        process={"sync": False},  # mini-batched: each event waits for its batch's size or timer
    )
    spec = {"kind": "evgen", "job_dir": str(ws.job_dir), "module": ws.module("passthrough"), "config": config,
            "register": ["bench.tail"]}
    lines = ctx.data.read_text(encoding="utf-8").splitlines()[: s.latency_events + 1]
    feeder = Feeder(source, probe, lines, s.latency_events, s.latency_rate)
    feeder.start()
    try:
        launch(spec, run_dir, stop_when=feeder.all_through, poll_s=0.1,
               timeout_s=WARMUP_TIMEOUT_S + 60.0 + s.latency_events / s.latency_rate, label=f"latency run {round_no + 1}")
    finally:
        feeder.halt.set()
        feeder.join(timeout=10)
    if feeder.failure:
        raise BenchError(f"latency run {round_no + 1}: {feeder.failure}")
    stamps = read_probe(probe)
    missing = [i for i in feeder.sent if i not in stamps]
    error_lines = check_output(errors).lines
    if missing or len(feeder.sent) != s.latency_events or error_lines:
        raise CountMismatch(
            f"latency run {round_no + 1}: {len(feeder.sent) - len(missing)} of {s.latency_events} events reached "
            f"the sink, {error_lines} error events"
        )
    latencies = [stamps[i] - sent for i, sent in feeder.sent.items()]
    return {"p50": percentile(latencies, 50), "p99": percentile(latencies, 99), "max": max(latencies),
            "min": min(latencies), "events": len(latencies)}


def run_latency(ctx: Context) -> dict[str, Any]:
    s = ctx.settings
    batch = ProcessSettings.model_validate({})  # the job config's defaults
    p50, p99, worst = Series(), Series(), Series()
    for round_no in range(s.runs):
        run = one_run(ctx, round_no)
        p50.add(run["p50"])
        p99.add(run["p99"])
        worst.add(run["max"])
        ctx.log(f"latency run {round_no + 1}: p50 {run['p50']:.0f} ms, p99 {run['p99']:.0f} ms")
    return {
        "rate_events_per_s": s.latency_rate,
        "events_per_run": s.latency_events,
        "runs": s.runs,
        "process": "mini-batched (sync: false)",
        "batch_size": batch.batch_size,
        "batch_duration_ms": batch.batch_duration_ms,
        "target_p99_ms": batch.batch_duration_ms + 200,
        "source": f"directory watched by Flink's FileSource (discovery every {DISCOVERY_MS} ms)",
        "execution_mode": s.execution_mode,
        "p50_ms": p50.to_dict(1),
        "p99_ms": p99.to_dict(1),
        "max_ms": worst.to_dict(1),
    }

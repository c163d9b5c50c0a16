"""Scaling out: throughput at parallelism 1 vs 2 on a standalone Flink session cluster.

A :class:`~evgen.testing.cluster.FlinkCluster` (one JobManager, two TaskManagers with two
slots each, separate JVMs on 127.0.0.1) is started once; the generated job with the typed
pass-through (``bench_job.passthrough`` as its ``job.py``) is submitted to it file → file with
``evgen run --target remote --parallelism P``, exactly as a user would, for P = 1 and 2,
interleaved over ``settings.runs`` rounds. Throughput is the steady rate while the output
grows from 10 % to 90 % (sampled on the output directory); every run's output is checked
(one marked output per input, no error). The ratio is rate(P=2) / rate(P=1) per round.

At parallelism 1 a function without I/O runs in an unkeyed synchronous operator; at 2 the
events are keyed by bucket and shuffled to two subtasks — what a user's job does either way.
On a 2-core machine the JobManager, two TaskManagers and their Python work share the cores,
so the ratio shows what a second slot buys here, not a cluster's scaling.

If no cluster can start here (no Java), the section reports ``ratio: null`` with the reason.

    results = run_cluster(ctx)
    results["ratio"]["median"]
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from evgen.errors import EvgenError

from bench.context import Context
from bench.errors import RunFailed
from bench.filerun import MARKED, flink_settings
from bench.progress import check_output, directory_bytes, first_output_s, require_counts, steady_rate
from bench.stats import Series, ratio
from bench.typed_vs_handwritten import rotated
from bench.workspace import JOB, MODULES

PARALLELISMS = (1, 2)
CLUSTER = "standalone session cluster: 1 JobManager + 2 TaskManagers x 2 slots, separate JVMs on 127.0.0.1"


def cluster_job(ctx: Context) -> Path:
    """A copy of the benchmark's generated job whose ``job.py`` is the typed pass-through."""
    job_dir = ctx.runs_root / "cluster-job" / JOB
    if not job_dir.exists():
        shutil.copytree(ctx.workspace.job_dir, job_dir, ignore=shutil.ignore_patterns("out", "__pycache__"))
        (job_dir / JOB / "job.py").write_text(MODULES["passthrough"], encoding="utf-8")
    return job_dir


def run_once(ctx: Context, cluster: Any, job_dir: Path, parallelism: int, label: str) -> dict[str, float]:
    """Submit one file → file run at ``parallelism``, watch it to the end, check its output."""
    events = ctx.settings.events
    run_dir = ctx.run_dir(label)
    output, errors = run_dir / "output", run_dir / "errors"
    config = ctx.workspace.config(
        {"connector": "file", "options": {"path": str(ctx.data)}},
        {"connector": "file", "options": {"path": str(output)}},
        {"connector": "file", "options": {"path": str(errors)}},
        flink={**flink_settings(ctx.settings.execution_mode), "parallelism": parallelism},
    )
    config_path = run_dir / "config.yaml"
    config_path.write_text(yaml.safe_dump(config), encoding="utf-8")
    started = time.monotonic()
    submitted = subprocess.run(
        [sys.executable, "-m", "evgen.cli", "run", "--target", "remote", "--jobmanager", cluster.address,
         "--config", str(config_path)],
        cwd=job_dir, capture_output=True, text=True, timeout=600, env={**os.environ},
    )
    (run_dir / "submit.log").write_text(submitted.stdout + submitted.stderr, encoding="utf-8")
    if submitted.returncode != 0:
        raise RunFailed(f"{label}: {submitted.stderr.strip()[-300:]} (log: {run_dir / 'submit.log'})")
    job_id = submitted.stdout.split(" as job ", 1)[1].split()[0]
    samples: list[tuple[float, int]] = []
    deadline = started + 300.0 + events / 200.0
    state, next_state = "RUNNING", 0.0
    while state != "FINISHED":
        now = time.monotonic()
        samples.append((now - started, directory_bytes(output)))
        if now >= next_state:
            state = cluster.jobmanager.job_state(job_id)
            next_state = now + 1.0
            if state in ("FAILED", "CANCELED"):
                raise RunFailed(f"{label}: job {job_id} {state}: {cluster.jobmanager.root_cause(job_id)}")
        if now > deadline:
            cluster.jobmanager.cancel(job_id)
            raise RunFailed(f"{label}: job {job_id} still {state} after {now - started:.0f} s")
        time.sleep(0.1)
    wall = time.monotonic() - started
    samples.append((wall, directory_bytes(output)))
    overview: dict[str, Any] = next((j for j in cluster.jobmanager.jobs() if j.get("jid") == job_id), {})
    duration_s = float(overview.get("duration", 0)) / 1000.0
    try:
        require_counts(label, events, check_output(output, MARKED), check_output(errors).lines, marks=events)
    finally:
        shutil.rmtree(output, ignore_errors=True)
    rate = steady_rate(samples, events)
    if rate is None:  # too short to resolve the window: the rate over the output phase
        rate = events / max(wall - (first_output_s(samples) or 0.0), 0.05)
    ctx.log(f"{label}: {rate:,.0f} events/s steady, {wall:.1f} s from submission, job {duration_s:.1f} s")
    return {"events_per_s": rate, "wall_s": wall, "job_duration_s": duration_s}


def run_cluster(ctx: Context, cluster: Any = None) -> dict[str, Any]:
    """Parallelism 1 vs 2 on a session cluster, ``settings.runs`` interleaved rounds; on
    ``cluster`` (a started :class:`~evgen.testing.cluster.FlinkCluster`, at least 2 free
    slots) or one started and stopped here."""
    from evgen.testing.cluster import FlinkCluster

    s = ctx.settings
    own = cluster is None
    try:
        if own:
            cluster = FlinkCluster(work_dir=ctx.runs_root / "flink-cluster").start()
    except (EvgenError, OSError) as e:
        return {"ratio": None, "reason": f"no Flink cluster here: {e}"}
    rates = {p: Series() for p in PARALLELISMS}
    walls = {p: Series() for p in PARALLELISMS}
    durations = {p: Series() for p in PARALLELISMS}
    try:
        job_dir = cluster_job(ctx)
        for round_no in range(s.runs):
            for p in rotated(PARALLELISMS, round_no):
                m = run_once(ctx, cluster, job_dir, p, f"cluster-p{p}-r{round_no + 1}")
                rates[p].add(m["events_per_s"])
                walls[p].add(m["wall_s"])
                durations[p].add(m["job_duration_s"])
    finally:
        if own:
            cluster.stop()
    return {
        "events": s.events,
        "runs": s.runs,
        "execution_mode": s.execution_mode,
        "cluster": CLUSTER,
        "cores": os.cpu_count(),
        "parallelism": {
            str(p): {
                "events_per_s": rates[p].to_dict(1),
                "wall_s_from_submission": walls[p].to_dict(2),
                "job_duration_s": durations[p].to_dict(2),
            }
            for p in PARALLELISMS
        },
        "ratio": ratio(rates[2], rates[1]).to_dict(3),
    }

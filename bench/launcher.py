"""Running one benchmark job in a worker process while watching it from outside.

:func:`launch` starts ``python -m bench.worker`` on a spec, then — from this process, so
the job is not slowed by its own instrumentation — polls a *progress* function (e.g. the
bytes in the output directory) every ``poll_s`` and samples the resident memory of the
worker's process tree (driver, JVM, Python workers) every ``rss_every_s``. It stops the
tree when ``stop_when()`` says so (unbounded jobs) or on timeout (then it fails).

    outcome = launch(spec, run_dir, progress=lambda: directory_bytes(out), timeout_s=600)
    outcome.wall_s, outcome.progress[-1], outcome.result["counts"]
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import psutil

from bench import REPO
from bench.errors import BenchError, RunFailed
from evgen.flinkdist import child_environment



@dataclass
class RssSample:
    """Resident set sizes (bytes) of one moment: the JVM(s), Python workers, the driver; and the
    CPU seconds the JVM(s) and Python workers have used so far."""

    t: float
    jvm: int
    python_workers: int
    driver: int
    job_cpu_s: float = 0.0

    @property
    def total(self) -> int:
        return self.jvm + self.python_workers + self.driver


@dataclass
class Outcome:
    """What a worker run did, seen from outside."""

    wall_s: float
    started: float  #: time.time() when the worker was spawned
    result: dict[str, Any]
    progress: list[tuple[float, int]] = field(default_factory=list)  #: (seconds since spawn, units)
    rss: list[RssSample] = field(default_factory=list)
    stopped: bool = False  #: ended by ``stop_when`` (not by finishing)
    log: Path | None = None


def tree_rss(pid: int) -> RssSample | None:
    """Memory of ``pid`` and its descendants, split by kind, and their CPU time (None once it is gone)."""
    try:
        root = psutil.Process(pid)
        procs = [root] + root.children(recursive=True)
    except psutil.NoSuchProcess:
        return None
    jvm = workers = driver = 0
    cpu = 0.0
    for proc in procs:
        try:
            rss = proc.memory_info().rss
            name = proc.name()
            times = proc.cpu_times()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        if proc.pid == pid:
            driver += rss
            continue
        if "java" in name:
            jvm += rss
        else:
            workers += rss
        cpu += times.user + times.system
    return RssSample(time.monotonic(), jvm, workers, driver, cpu)


def stop_tree(pid: int, grace_s: float = 10.0) -> None:
    """Terminate ``pid`` and every descendant (children first), then kill what is left."""
    try:
        root = psutil.Process(pid)
    except psutil.NoSuchProcess:
        return
    procs = root.children(recursive=True) + [root]
    for proc in procs:
        try:
            proc.terminate()
        except psutil.NoSuchProcess:
            pass
    _, alive = psutil.wait_procs(procs, timeout=grace_s)
    for proc in alive:
        try:
            proc.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(alive, timeout=grace_s)


def launch(
    spec: dict[str, Any],
    run_dir: Path,
    *,
    progress: Callable[[], int] | None = None,
    poll_s: float = 0.05,
    rss_every_s: float | None = None,
    stop_when: Callable[[], bool] | None = None,
    timeout_s: float = 900.0,
    label: str = "job",
) -> Outcome:
    """Run ``spec`` in a worker process; return what was observed. :class:`BenchError` if it
    fails or times out (the log's last lines are in the message's log file)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    spec = {**spec, "result": str(run_dir / "result.json")}
    spec_path = run_dir / "spec.json"
    spec_path.write_text(json.dumps(spec), encoding="utf-8")
    log = run_dir / "worker.log"
    env = {**child_environment(), "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
    started_wall = time.time()
    started = time.monotonic()
    samples: list[tuple[float, int]] = []
    rss: list[RssSample] = []
    stopped = False
    next_rss = started
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bench.worker", str(spec_path)],
            cwd=str(run_dir), env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
        try:
            while proc.poll() is None:
                now = time.monotonic()
                if progress is not None:
                    samples.append((now - started, progress()))
                if rss_every_s is not None and now >= next_rss:
                    sample = tree_rss(proc.pid)
                    if sample is not None:
                        sample.t = now - started
                        rss.append(sample)
                    next_rss += rss_every_s
                if stop_when is not None and stop_when():
                    stopped = True
                    stop_tree(proc.pid)
                    break
                if now - started > timeout_s:
                    stop_tree(proc.pid)
                    raise BenchError(f"{label}: no result within {timeout_s:.0f} s (log: {log})")
                time.sleep(poll_s)
        except BaseException:
            stop_tree(proc.pid)
            raise
        proc.wait()
    wall = time.monotonic() - started
    if progress is not None:
        samples.append((wall, progress()))
    if stopped:
        return Outcome(wall, started_wall, {}, samples, rss, True, log)
    if proc.returncode != 0:
        raise RunFailed(f"{label}: worker exited with {proc.returncode}: {_last_error(log)} (log: {log})")
    result = json.loads(Path(spec["result"]).read_text(encoding="utf-8"))
    return Outcome(wall, started_wall, result, samples, rss, False, log)


def _last_error(log: Path) -> str:
    """The most telling line of a worker log: the last exception line, else the last line."""
    lines = [line.strip() for line in log.read_text(encoding="utf-8", errors="replace").splitlines() if line.strip()]
    for line in reversed(lines):
        if "Error" in line or "Exception" in line:
            return line[:300]
    return lines[-1][:300] if lines else "no output"

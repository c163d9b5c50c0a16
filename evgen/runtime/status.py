"""Per-operator counters: Flink metrics for production, status files for the CLI.

Each operator subtask counts what happened (``in``, ``out``, ``error.<type>``,
``filtered.<reason>``, ``completed``), mirrors the counts into Flink's metric
group (visible in the Flink UI / reporters), and — when the job was started by
``evgen run`` — writes them about once a second as JSON into a status
directory, which the driver reads for its live status line and final summary.

    >>> status = OperatorStatus(None, "admit", 0, None)
    >>> status.count("in"); status.counts["in"]
    1
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from pathlib import Path
from typing import Any

FLUSH_INTERVAL_S = 1.0


class OperatorStatus:
    """Counts of one operator subtask, reported to Flink metrics and a status file."""

    def __init__(self, status_dir: str | None, operator: str, subtask: int, metric_group: Any):
        self.counts: Counter[str] = Counter()
        self.batch_sizes: Counter[int] = Counter()
        self.latency_ms_total = 0.0
        self.latency_ms_max = 0.0
        self._path = Path(status_dir) / f"{operator}-{subtask}.json" if status_dir else None
        self._group = metric_group.add_group("evgen").add_group(operator) if metric_group is not None else None
        self._counters: dict[str, Any] = {}
        self._published: Counter[str] = Counter()
        self._last_flush = time.monotonic()

    def count(self, name: str, n: int = 1) -> None:
        self.counts[name] += n

    def _publish(self) -> None:
        """Push counts to Flink's counters (each inc is a JVM call, so once per flush).

        Counters only, from the operator's own thread: a gauge would call back into Python
        from Flink's metrics thread, which thread mode does not survive reliably.
        """
        if self._group is None:
            return
        for name, value in {
            **self.counts,
            "batches": sum(self.batch_sizes.values()),
            "latency_ms_total": int(self.latency_ms_total),
        }.items():
            delta = value - self._published[name]
            if delta:
                counter = self._counters.get(name)
                if counter is None:
                    counter = self._counters[name] = self._group.counter(name.replace(".", "_"))
                counter.inc(delta)
                self._published[name] = value

    def observe_batch(self, size: int) -> None:
        self.batch_sizes[size] += 1

    def observe_latency(self, ms: float) -> None:
        self.latency_ms_total += ms
        if ms > self.latency_ms_max:
            self.latency_ms_max = ms

    def maybe_flush(self) -> None:
        if time.monotonic() - self._last_flush >= FLUSH_INTERVAL_S:
            self.flush()

    def flush(self) -> None:
        """Publish the counts now; write the status file atomically (never half a file)."""
        self._last_flush = time.monotonic()
        self._publish()
        if self._path is None or not self._path.parent.is_dir():
            return  # no status dir here: a TaskManager on another host than the driver reading it
        snapshot = {
            "counts": dict(self.counts),
            "batches": sum(self.batch_sizes.values()),
            "batch_size_max": max(self.batch_sizes, default=0),
            "latency_ms_total": self.latency_ms_total,
            "latency_ms_max": self.latency_ms_max,
            "written_at": time.time(),
        }
        tmp = self._path.with_suffix(".tmp")
        tmp.write_text(json.dumps(snapshot))
        os.replace(tmp, self._path)


def read_status(status_dir: str | Path) -> Counter[str]:
    """Sum the counts of every operator subtask's status file in ``status_dir``."""
    total: Counter[str] = Counter()
    for path in Path(status_dir).glob("*.json"):
        try:
            total.update(json.loads(path.read_text())["counts"])
        except (OSError, ValueError, KeyError):
            continue  # being replaced right now; the next read gets it
    return total

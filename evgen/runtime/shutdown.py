"""Stopping a local run cleanly on SIGTERM / SIGINT (Ctrl-C): drain, commit, then exit.

A job killed outright keeps the inputs of its pending mini-batches only in its last
checkpoint, while the Kafka offsets committed with that checkpoint are already past
them: started again *without* that checkpoint (same consumer group, no ``resume_from``
— a datacenter failover) it would never emit them. So the first SIGTERM or SIGINT stops
the job with a *drained* savepoint (Flink's stop-with-savepoint, advancing to the end of
event time): every pending batch is flushed to the sinks, then the savepoint commits the
sinks' Kafka transactions and the source commits its offsets to the consumer group. The
job then finishes and ``evgen run`` prints its summary and exits 0. (Flink's Kafka source
commits asynchronously and may shut down before that last commit lands: the group then
stays at the previous checkpoint's offsets and a successor re-reads a few records — it
never skips one.) A second signal stops waiting (exit as before: the last checkpoint still
holds everything). If Flink refuses the savepoint (tasks still deploying), it is asked
again every few seconds.

    with GracefulStop(client, savepoint_dir) as stop:
        while not finished(client):
            stop.poll(status)          # triggers the drained savepoint once a signal came
            time.sleep(0.5)
    if stop.savepoint:
        print("stopped with savepoint", stop.savepoint)
"""

from __future__ import annotations

import re
import signal
import threading
import time
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any, Callable

from evgen.runtime.config import FlinkSettings
from evgen.runtime.flinkenv import location_uri

__all__ = ["GracefulStop", "savepoint_location"]

_SIGNALS = (signal.SIGTERM, signal.SIGINT)
#: Seconds between two tries of a stop-with-savepoint Flink refused.
RETRY_S = 2.0


class GracefulStop:
    """Turns SIGTERM / SIGINT into a drained stop-with-savepoint of ``client``'s job."""

    def __init__(self, client: Any, savepoint_dir: str, say: Callable[[str], None] = lambda line: None) -> None:
        self.client = client
        self.savepoint_dir = savepoint_dir
        self.say = say
        #: the signal that asked to stop (None: none yet)
        self.requested: int | None = None
        self._savepoint: str | None = None
        self._future: Any = None
        self._attempts = 0
        self._retry_at = 0.0
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> GracefulStop:
        if threading.current_thread() is threading.main_thread():
            for sig in _SIGNALS:
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)
        self._previous.clear()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.requested is None:
            self.requested = signum
            return
        # a second signal: stop waiting for the drain
        raise KeyboardInterrupt

    def poll(self, status: str) -> None:
        """Call from the wait loop: starts the drained stop once asked to and the job runs;
        notes the savepoint once it completed, and tries again when Flink refused it (e.g.
        while tasks are still being deployed)."""
        if self.requested is None:
            return
        if self._future is None:
            if status != "RUNNING" or time.monotonic() < self._retry_at:
                return  # a savepoint needs every task running
            if self._attempts == 0:
                name = signal.Signals(self.requested).name
                self.say(f"{name}: stopping — flushing pending batches, then a savepoint commits offsets and transactions")
            self._attempts += 1
            self._future = _stop_with_savepoint(self.client, self.savepoint_dir)
            return
        if self._savepoint is None and self._future.isDone():
            try:
                self._savepoint = str(self._future.get())
            except Exception as e:  # noqa: BLE001 - Py4JJavaError: report Flink's reason and try again
                self.say(f"stop with savepoint refused ({_reason(e)}); trying again in {RETRY_S:.0f} s "
                         "(signal again to exit without it)")
                self._future = None
                self._retry_at = time.monotonic() + RETRY_S

    @property
    def savepoint(self) -> str | None:
        """Where the drained savepoint went (None: no stop was asked for or it did not complete)."""
        if self._savepoint is None and self._future is not None and self._future.isDone():
            try:
                self._savepoint = str(self._future.get())
            except Exception:  # noqa: BLE001 - reported by poll()
                self._savepoint = ""
        return self._savepoint or None


def savepoint_location(settings: FlinkSettings, job_dir: Path, scratch: str | Path) -> str:
    """Where a stop's savepoint goes: ``<checkpoint_dir>/savepoints`` (kept, to restore from
    with ``resume_from``), else under ``scratch`` (a temporary directory: with nothing left
    pending after the drain, the committed offsets are all a restart needs).

        >>> savepoint_location(FlinkSettings(checkpoint_dir="/data/ckpt"), Path("/jobs/x"), "/tmp/s")
        'file:///data/ckpt/savepoints'
        >>> savepoint_location(FlinkSettings(), Path("/jobs/x"), "/tmp/s")
        'file:///tmp/s/savepoints'
    """
    if not settings.checkpoint_dir:
        return Path(scratch, "savepoints").resolve().as_uri()
    return location_uri(settings.checkpoint_dir, job_dir).rstrip("/") + "/savepoints"


def _stop_with_savepoint(client: Any, savepoint_dir: str) -> Any:
    """The Java ``CompletableFuture`` of a drained stop-with-savepoint.

    PyFlink 2.2's ``JobClient.stop_with_savepoint`` calls a Java signature Flink 2 no longer
    has (without the savepoint format), so the Java client is called directly.
    """
    from pyflink.java_gateway import get_gateway

    formats = get_gateway().jvm.org.apache.flink.core.execution.SavepointFormatType
    return client._j_job_client.stopWithSavepoint(True, savepoint_dir, formats.DEFAULT)


def _reason(error: Exception) -> str:
    """Flink's own words, from the innermost exception message."""
    text = str(getattr(error, "java_exception", None) or error)
    messages = re.findall(r"(?:^|Caused by: )[\w.$]+(?:Exception|Error): (.+)", text, re.MULTILINE)
    reason = messages[-1] if messages else (text.strip().splitlines() or [type(error).__name__])[0]
    return reason.strip()[:400]

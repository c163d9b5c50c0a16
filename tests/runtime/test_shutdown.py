"""evgen.runtime.shutdown: SIGTERM / SIGINT become a drained stop (end to end: tests/kafka/test_failover.py)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from evgen.runtime.config import FlinkSettings
from evgen.runtime.shutdown import GracefulStop, _reason, savepoint_location


@pytest.mark.parametrize(
    ("checkpoint_dir", "expected"),
    [
        (None, "file:///tmp/scratch/savepoints"),
        ("ckpt", "file:///jobs/j/ckpt/savepoints"),
        ("/data/ckpt/", "file:///data/ckpt/savepoints"),
        ("s3://bucket/ckpt/", "s3://bucket/ckpt/savepoints"),
    ],
)
def test_savepoint_location(checkpoint_dir: str | None, expected: str) -> None:
    settings = FlinkSettings(checkpoint_dir=checkpoint_dir)
    assert savepoint_location(settings, Path("/jobs/j"), "/tmp/scratch") == expected


def test_signals_ask_for_a_stop_and_a_second_one_gives_up() -> None:
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    with GracefulStop(client=None, savepoint_dir="file:///tmp/sp") as stop:
        assert stop.requested is None and stop.savepoint is None
        stop.poll("RUNNING")  # nothing asked yet: the client is not touched
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop.requested == signal.SIGTERM  # the process lives on: the wait loop drains the job
        stop.poll("INITIALIZING")  # tasks not running yet: the savepoint waits (client untouched)
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
    assert {sig: signal.getsignal(sig) for sig in before} == before  # handlers restored


def test_flinks_reason_is_the_innermost_message() -> None:
    text = (
        "An error occurred while calling o347.get.\n"
        ": java.util.concurrent.ExecutionException: org.apache.flink.runtime.checkpoint.CheckpointException: "
        "Checkpoint triggering task Source (1/1) of job 4f is not being executed at the moment.\n"
        "\tat java.base/java.util.concurrent.CompletableFuture.reportGet(CompletableFuture.java:396)\n"
        "Caused by: org.apache.flink.runtime.checkpoint.CheckpointException: Not all required tasks are currently running.\n"
    )
    assert _reason(RuntimeError(text)) == "Not all required tasks are currently running."
    assert _reason(ValueError("plain")) == "plain"

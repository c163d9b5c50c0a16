"""Issue 4 §6 (reduced form): nothing is lost when the job is killed at random points.

10k events are fed to both source topics while `evgen run` runs with checkpoints every
second; the whole process tree (Flink's JVM included) is SIGKILLed twice at random points
and started again with ``flink.resume_from=latest``. The last attempt is stopped with
SIGTERM once everything came out. The full form (100k events, 5+ kills) is
``python -m bench.soak`` (docs/soak.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest

from evgen.testing.kafka_job import KafkaJob
from evgen.testing.soak import SoakSettings, run_soak

pytestmark = [pytest.mark.kafka, pytest.mark.flink]


@pytest.mark.parametrize("guarantee", ["at_least_once", "exactly_once"])
def test_no_loss_across_kills(
    kafka_job: Callable[..., KafkaJob], templates: list[dict[str, Any]], tmp_path: Path, guarantee: str
) -> None:
    job = kafka_job("crash")
    settings = SoakSettings(events=10_000, kills=2, delivery_guarantee=guarantee, rate=250, seed=4)  # type: ignore[arg-type]

    result = run_soak(job, templates, settings, work_dir=tmp_path / "soak")

    assert result.kills == 2
    assert [a.end for a in result.attempts] == ["killed", "killed", "stopped"]
    assert result.attempts[0].restored_from is None
    assert all(a.restored_from for a in result.attempts[1:])  # every restart restored a checkpoint
    assert result.attempts[-1].exit_status == 0  # SIGTERM: a clean, drained stop
    assert (result.valid, result.invalid) == (9_900, 100)
    assert result.lost == 0, result.lost_ids
    assert result.misrouted == 0 and result.unexpected == 0
    assert result.output_records + result.error_records == result.events + result.duplicates
    if guarantee == "exactly_once":
        assert result.isolation_level == "read_committed"
        assert result.duplicates == 0
        assert (result.output_records, result.error_records) == (9_900, 100)

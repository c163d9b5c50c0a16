"""evgen.testing.soak: settings, the kill schedule, and a job that cannot run (the full soak
runs in tests/kafka/test_crash_recovery.py and bench/soak.py)."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from evgen.devkafka import KafkaBroker
from evgen.testing.kafka_job import KafkaJob
from evgen.testing.soak import SoakError, SoakSettings, run_soak, spread


def test_settings_become_job_config_overrides(tmp_path: Path) -> None:
    settings = SoakSettings(delivery_guarantee="exactly_once", checkpoint_interval_ms=500, parallelism=2,
                            execution_mode="process")
    assert settings.config(tmp_path / "ckpt") == {
        "process": {"sync": False},
        "source": {"options": {"starting_offsets": "committed-earliest", "bounded": False}},
        "sink": {"options": {"delivery_guarantee": "exactly_once"}},
        "error_sink": {"options": {"delivery_guarantee": "exactly_once"}},
        "flink": {"checkpoint_interval_ms": 500, "checkpoint_dir": str((tmp_path / "ckpt").resolve()),
                  "parallelism": 2, "execution_mode": "process"},
    }


@pytest.mark.parametrize("seed", range(5))
def test_kill_points_spread_over_the_window(seed: int) -> None:
    points = spread((0.1, 0.8), 5, random.Random(seed))
    assert len(points) == 5 and points == sorted(points)
    for n, point in enumerate(points):
        assert 0.1 + n * 0.14 <= point <= 0.1 + (n + 1) * 0.14 + 1e-9
    assert spread((0.1, 0.8), 0, random.Random(seed)) == []


@pytest.mark.parametrize("window", [(0.5, 0.5), (-0.1, 0.5), (0.2, 1.5)])
def test_bad_kill_window(window: tuple[float, float]) -> None:
    with pytest.raises(ValueError, match="kill window"):
        spread(window, 2, random.Random(0))


@pytest.mark.kafka
def test_a_job_that_cannot_start_fails_the_soak_with_its_own_error(
    tmp_path: Path, kafka_broker: KafkaBroker, stream_configs_file: Path, primary_schema_repo: Path,
    page_change_events: list[dict[str, Any]],
) -> None:
    job = KafkaJob.generate(tmp_path / "jobs", "broken_job", stream_configs=stream_configs_file,
                            schema_uris=[primary_schema_repo], bootstrap_servers=kafka_broker.bootstrap_servers)
    job.create_topics(kafka_broker)
    (job.job_dir / "config" / "kafka.yaml").write_text("source: {connector: nope}\n")  # `evgen run` refuses it

    with pytest.raises(SoakError) as info:
        run_soak(job, page_change_events, SoakSettings(events=10, kills=1), work_dir=tmp_path / "soak")

    message = str(info.value)
    assert message.startswith("the job did not come up: ") and "\n" not in message
    assert "error: invalid job config" in message
    assert (tmp_path / "soak" / "attempt-01.log").is_file()

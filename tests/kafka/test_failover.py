"""Issue 4 §7: active/passive failover — stop the job, start it again with the same consumer
group (no checkpoint to restore), and it continues from the committed offsets without gap:
every id comes out at least once, the duplicates are counted.

Events keep arriving on both datacenter topics throughout. The first instance is stopped
the way an operator does (SIGTERM to `evgen run`, or Ctrl-C: SIGINT to the whole process
group, as a terminal sends it); the second one has a checkpoint directory of its own, so all
it shares with the first is the consumer group.
"""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any, Callable

import pytest

from evgen.testing.feed import Feeder, make_events
from evgen.testing.jobprocess import LIVE_LINE, parse_summary
from evgen.testing.kafka import committed_offsets, end_offsets
from evgen.testing.kafka_job import KafkaJob
from evgen.testing.ledger import Ledger, TopicFollower

pytestmark = [pytest.mark.kafka, pytest.mark.flink]

EVENTS = 3_000


@pytest.mark.parametrize(
    ("sig", "group", "mode"),
    [(signal.SIGTERM, False, "thread"), (signal.SIGINT, True, "process")],
    ids=["sigterm", "ctrl-c-process-mode"],
)
def test_restart_with_the_same_group_continues_without_gap(
    kafka_job: Callable[..., KafkaJob], templates: list[dict[str, Any]], tmp_path: Path,
    sig: signal.Signals, group: bool, mode: str,
) -> None:
    job = kafka_job("failover")
    events = make_events(templates, EVENTS, invalid_every=50, seed=7)
    watched = [job.output_topic, job.error_topic]
    ledger = Ledger(outputs=[e.id for e in events if e.valid], errors=[e.id for e in events if not e.valid])
    for side in ("active", "passive"):
        job.write_config(side, {
            # the keyed mini-batch operator: inputs wait in checkpointed state for up to 2 s, so
            # the group's committed offsets cover inputs not yet emitted until the stop drains them
            "process": {"sync": False, "batch_duration_ms": 2000},
            "flink": {"checkpoint_interval_ms": 1000, "checkpoint_dir": str(tmp_path / side / "checkpoints"),
                      "execution_mode": mode},
        })
    configs = ["config/kafka.yaml"]  # unbounded, group_id: <job>, starting_offsets: committed-earliest
    feeder = Feeder(job.bootstrap_servers, job.source_topics, events, key_fields=job.source.message_key_fields,
                    rate=100)

    with TopicFollower(job.bootstrap_servers, watched) as follower:

        def read_until(done: Callable[[], bool], process: Any, timeout_s: float = 300) -> None:
            for _ in range(int(timeout_s / 0.5)):
                if done():
                    return
                assert process.running, process.log_text()[-3000:]
                ledger.add(follower.poll(0.5), error_topics=[job.error_topic])
            pytest.fail(f"{ledger.arrived} of {EVENTS} ids out after {timeout_s} s: {process.log_text()[-2000:]}")

        with job.start([*configs, "config/active.yaml"], log=tmp_path / "active.log") as active:
            assert active.wait_for_log(LIVE_LINE, 300), active.log_text()[-3000:]
            feeder.start()  # 30 s of events, from now on
            read_until(lambda: ledger.arrived >= EVENTS // 3, active)
            assert not feeder.done  # events keep coming while the job stops
            assert active.stop(sig, 180, group=group) == 0, active.log_text()[-3000:]
        first = parse_summary(active.log_text())
        assert first is not None and first["status.finished"] == 1, active.log_text()[-3000:]
        assert f"{sig.name}: stopping" in active.log_text()  # drained: no batch left pending
        assert 0 < first["in"] < EVENTS
        # The group's offsets never run ahead of what the job processed (that would be a gap). They
        # may lag: Flink's Kafka source commits the final savepoint's offsets asynchronously and its
        # fetcher may shut down first, so the next instance re-reads what came after the last commit.
        committed = sum(committed_offsets(job.bootstrap_servers, job.name, job.source_topics).values())
        assert 0 < committed <= first["in"]

        with job.start([*configs, "config/passive.yaml"], log=tmp_path / "passive.log") as passive:
            read_until(lambda: feeder.done and ledger.complete, passive)
            assert passive.wait_for_log(LIVE_LINE, 300)
            assert passive.stop(signal.SIGTERM, 180) == 0, passive.log_text()[-3000:]
        second = parse_summary(passive.log_text())
        assert second is not None
        feeder.join()

    # the second instance started exactly at the committed offsets and read everything after them
    assert second["in"] == EVENTS - committed
    assert sum(end_offsets(job.bootstrap_servers, job.source_topics).values()) == EVENTS
    assert sum(committed_offsets(job.bootstrap_servers, job.name, job.source_topics).values()) <= EVENTS
    final = Ledger(outputs=[e.id for e in events if e.valid], errors=[e.id for e in events if not e.valid])
    with TopicFollower(job.bootstrap_servers, watched) as reader:
        final.add(reader.read_to_end(), error_topics=[job.error_topic])
    report = final.report()
    assert report.lost == [] and report.misrouted == [] and report.unexpected == 0
    # every id at least once; the duplicates are exactly the records both instances read
    assert report.duplicates == first["in"] - committed
    assert report.output_records + report.error_records == EVENTS + report.duplicates

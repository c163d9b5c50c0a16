"""The crash soak: a Kafka → Kafka job killed again and again must lose nothing.

:func:`run_soak` feeds events to a :class:`~evgen.testing.kafka_job.KafkaJob`'s source
topics while the job runs unbounded with checkpointing; at random points it kills the
whole ``evgen run`` process tree (SIGKILL: Flink's JVM and Python workers included) and
starts it again with ``flink.resume_from=latest`` (same consumer group, same checkpoint
dir). The feed starts once the first attempt is up; kill *n* comes once the feed passed a
point drawn from the *n*-th slice of the kill window and the attempt got new ids out, after a
random delay of up to two checkpoint intervals. After the last kill the job runs until every
input id came out on the output or error topic, then is stopped with SIGTERM (a drained stop)
and both topics are read back (``read_committed`` for exactly-once): lost ids, duplicates and
misrouted ids go into the :class:`SoakResult`.

    job = KafkaJob.generate(tmp_path, "soak_job", ...)
    job.create_topics(broker)
    result = run_soak(job, templates, SoakSettings(events=10_000, kills=2), work_dir=tmp_path / "soak")
    assert result.lost == 0
"""

from __future__ import annotations

import random
import signal
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Literal, Mapping, Sequence

from evgen.errors import EvgenError
from evgen.testing.feed import Feeder, FeedEvent, make_events
from evgen.testing.jobprocess import LIVE_LINE, JobProcess, parse_summary
from evgen.testing.kafka_job import KafkaJob
from evgen.testing.ledger import Ledger, LedgerReport, TopicFollower

__all__ = ["Attempt", "SoakError", "SoakResult", "SoakSettings", "run_soak", "spread"]

Progress = Callable[[str], None]


class SoakError(EvgenError):
    """The soak could not run to its end (a job that does not start, no progress, a timeout)."""


@dataclass(frozen=True)
class SoakSettings:
    """How hard to push: events, kills, delivery guarantee, pacing and timeouts."""

    events: int = 10_000
    kills: int = 2
    delivery_guarantee: Literal["at_least_once", "exactly_once"] = "at_least_once"
    #: every n-th event is invalid (to the error topic); 0: none
    invalid_every: int = 100
    #: events/s fed over both source topics (from when the first attempt is up); None: all at
    #: once. Pick it so that feeding outlasts the kills and restarts (~15 s each on 2 cores).
    rate: float | None = 200.0
    checkpoint_interval_ms: int = 1000
    #: False: the keyed mini-batch operator, whose pending inputs live in checkpointed state
    #: (what a crash must not lose); None: evgen's default (a function without I/O runs inline)
    sync: bool | None = False
    parallelism: int = 1
    execution_mode: Literal["thread", "process"] = "thread"
    #: kill n happens once this fraction of the events was fed (and the attempt got new ids out):
    #: drawn from the n-th of equal slices of the window, so kills spread over the feed and the
    #: last attempt still has work ...
    kill_window: tuple[float, float] = (0.1, 0.8)
    #: ... plus a random delay of up to this many checkpoint intervals, so kills land anywhere
    #: between two checkpoints
    kill_jitter_checkpoints: float = 2.0
    seed: int = 0
    #: an attempt making no progress for this long fails the soak
    stall_timeout_s: float = 240.0
    stop_timeout_s: float = 180.0

    def config(self, checkpoint_dir: Path) -> dict[str, Any]:
        """The job config overrides of the soak (merged over the job's ``config/kafka.yaml``)."""
        sink_options = {"delivery_guarantee": self.delivery_guarantee}
        return {
            "process": {"sync": self.sync},
            "source": {"options": {"starting_offsets": "committed-earliest", "bounded": False}},
            "sink": {"options": sink_options},
            "error_sink": {"options": sink_options},
            "flink": {
                "checkpoint_interval_ms": self.checkpoint_interval_ms,
                "checkpoint_dir": str(checkpoint_dir.resolve()),
                "parallelism": self.parallelism,
                "execution_mode": self.execution_mode,
            },
        }


@dataclass
class Attempt:
    """One run of the job between two (re)starts."""

    number: int
    #: seconds since the soak started
    started_s: float
    ended_s: float = 0.0
    #: ``killed`` (SIGKILL) or ``stopped`` (SIGTERM, the last attempt)
    end: str = ""
    #: distinct input ids seen on the output/error topics when the attempt ended
    arrived: int = 0
    #: events fed to the source topics when the attempt ended
    fed: int = 0
    #: the checkpoint the attempt restored (None: a fresh start)
    restored_from: str | None = None
    exit_status: int | None = None
    #: the run summary ``evgen run`` printed (stopped attempts only)
    summary: dict[str, int] = field(default_factory=dict)


@dataclass
class SoakResult:
    """What a soak did and found; ``lost`` must be 0."""

    delivery_guarantee: str
    events: int
    valid: int
    invalid: int
    kills: int
    lost: int
    duplicates: int
    duplicated_ids: int
    misrouted: int
    unexpected: int
    output_records: int
    error_records: int
    #: records in the output and error topics read ``read_uncommitted``: with exactly_once,
    #: also those of aborted transactions (what the transactions kept from readers)
    records_in_log: int
    isolation_level: str
    elapsed_s: float
    events_per_s: float
    seed: int
    settings: dict[str, Any]
    attempts: list[Attempt] = field(default_factory=list)
    lost_ids: list[str] = field(default_factory=list)
    final_summary: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def run_soak(
    job: KafkaJob,
    templates: Sequence[Mapping[str, Any]],
    settings: SoakSettings,
    *,
    work_dir: Path,
    progress: Progress | None = None,
) -> SoakResult:
    """Run the crash soak on ``job`` (its topics must exist); see the module docstring.

    ``work_dir`` receives the checkpoints and one log file per attempt. Raises
    :class:`SoakError` when a job attempt dies by itself or stops making progress.
    """
    work_dir.mkdir(parents=True, exist_ok=True)
    events = make_events(templates, settings.events, invalid_every=settings.invalid_every, seed=settings.seed)
    isolation = "read_committed" if settings.delivery_guarantee == "exactly_once" else "read_uncommitted"
    watched = [job.output_topic, job.error_topic]
    soak = _Soak(job, settings, work_dir, events, progress or (lambda line: None))
    started = time.monotonic()
    with TopicFollower(job.bootstrap_servers, watched, isolation_level=isolation) as follower:
        soak.follower = follower
        try:
            for number in range(1, settings.kills + 2):
                soak.attempt(number, last=number == settings.kills + 1)
            soak.feeder.join()
        finally:
            soak.feeder.stop()
    elapsed = time.monotonic() - started
    final = _ledger(events)
    with TopicFollower(job.bootstrap_servers, watched, isolation_level=isolation) as reader:
        final.add(reader.read_to_end(), error_topics=[job.error_topic])
    with TopicFollower(job.bootstrap_servers, watched, isolation_level="read_uncommitted") as raw:
        in_log = len(raw.read_to_end())
    report: LedgerReport = final.report()
    attempts = soak.attempts
    return SoakResult(
        delivery_guarantee=settings.delivery_guarantee,
        events=len(events),
        valid=sum(e.valid for e in events),
        invalid=sum(not e.valid for e in events),
        kills=sum(a.end == "killed" for a in attempts),
        lost=len(report.lost),
        duplicates=report.duplicates,
        duplicated_ids=report.duplicated_ids,
        misrouted=len(report.misrouted),
        unexpected=report.unexpected,
        output_records=report.output_records,
        error_records=report.error_records,
        records_in_log=in_log,
        isolation_level=isolation,
        elapsed_s=round(elapsed, 1),
        events_per_s=round(len(events) / elapsed, 1) if elapsed else 0.0,
        seed=settings.seed,
        settings=asdict(settings),
        attempts=attempts,
        lost_ids=report.lost[:20],
        final_summary=attempts[-1].summary,
    )


class _Soak:
    """The state of one soak: the feed, what came out so far, the attempts."""

    def __init__(self, job: KafkaJob, settings: SoakSettings, work_dir: Path, events: list[FeedEvent],
                 say: Progress) -> None:
        self.job = job
        self.settings = settings
        self.work_dir = work_dir
        self.events = events
        self.say = say
        self.rng = random.Random(settings.seed)
        self.kill_points = spread(settings.kill_window, settings.kills, self.rng)
        self.checkpoints = work_dir / "checkpoints"
        config_name = f"soak_{settings.delivery_guarantee}"
        job.write_config(config_name, settings.config(self.checkpoints))
        self.configs = ["config/kafka.yaml", f"config/{config_name}.yaml"]
        self.ledger = _ledger(events)
        self.feeder = Feeder(job.bootstrap_servers, job.source_topics, events,
                             key_fields=job.source.message_key_fields, rate=settings.rate)
        self.follower: TopicFollower | None = None
        self.attempts: list[Attempt] = []
        self.started = time.monotonic()

    def catch_up(self, timeout_s: float = 0.5) -> None:
        """Count what arrived on the output and error topics since the last call."""
        assert self.follower is not None
        self.ledger.add(self.follower.poll(timeout_s), error_topics=[self.job.error_topic])

    def attempt(self, number: int, *, last: bool) -> None:
        """Start the job (restoring the newest checkpoint), then kill it at its point, or — the
        last attempt — stop it once every input came out."""
        attempt = Attempt(number=number, started_s=time.monotonic() - self.started,
                          restored_from=_latest(self.checkpoints))
        self.attempts.append(attempt)
        log = self.work_dir / f"attempt-{number:02d}.log"
        self.say(f"attempt {number}: start ({'restore ' + attempt.restored_from if attempt.restored_from else 'fresh'})")
        with self.job.start(self.configs, ["flink.resume_from=latest"], log=log) as process:
            if number == 1:
                self._await_up(process, log)
                self.feeder.start()  # the kill schedule follows the feed, from a running job on
            if last:
                self._await(lambda: _fed_all(self.feeder) and self.ledger.complete, process, log)
                self._await_up(process, log)  # SIGTERM means a clean stop once the job was submitted
                attempt.exit_status = process.stop(signal.SIGTERM, self.settings.stop_timeout_s)
                attempt.end = "stopped"
                attempt.summary = dict(parse_summary(process.log_text()) or {})
            else:
                # once the feed passed this attempt's point and the attempt itself got new ids out
                # (with exactly_once: committed), after a random delay
                fed, before = int(self.kill_points[number - 1] * len(self.events)), self.ledger.arrived
                self._await(lambda: self.feeder.sent >= fed and self.ledger.arrived > before, process, log)
                interval_s = self.settings.checkpoint_interval_ms / 1000
                self._sleep(self.rng.uniform(0, self.settings.kill_jitter_checkpoints * interval_s), process, log)
                process.kill()
                attempt.end = "killed"
        self.catch_up(0.1)
        attempt.ended_s = time.monotonic() - self.started
        attempt.arrived, attempt.fed = self.ledger.arrived, self.feeder.sent
        self.say(f"attempt {number}: {attempt.end} after {attempt.ended_s - attempt.started_s:.1f} s, "
                 f"{attempt.fed}/{len(self.events)} fed, {attempt.arrived} ids out")

    def _await_up(self, process: JobProcess, log: Path) -> None:
        if not process.wait_for_log(LIVE_LINE, self.settings.stall_timeout_s):
            raise SoakError(f"the job did not come up: {_tail(log)}")

    def _await(self, done: Callable[[], bool], process: JobProcess, log: Path) -> None:
        """Read the topics until ``done()``; SoakError if the job exits or stalls meanwhile."""
        last_arrived, last_change = self.ledger.arrived, time.monotonic()
        while not done():
            _check_alive(process, log)
            self.catch_up(0.5)
            if self.ledger.arrived != last_arrived:
                last_arrived, last_change = self.ledger.arrived, time.monotonic()
            elif time.monotonic() - last_change > self.settings.stall_timeout_s:
                raise SoakError(f"no progress for {self.settings.stall_timeout_s:.0f} s at {self.ledger.arrived} "
                                f"ids out; log: {log}: {_tail(log)}")

    def _sleep(self, seconds: float, process: JobProcess, log: Path) -> None:
        until = time.monotonic() + seconds
        while (left := until - time.monotonic()) > 0:
            _check_alive(process, log)
            self.catch_up(min(left, 0.5))


def _ledger(events: Sequence[FeedEvent]) -> Ledger:
    return Ledger(outputs=[e.id for e in events if e.valid], errors=[e.id for e in events if not e.valid])


def _check_alive(process: JobProcess, log: Path) -> None:
    if not process.running:
        raise SoakError(f"the job exited by itself (status {process.returncode}): {_tail(log)}")


def spread(window: tuple[float, float], count: int, rng: random.Random) -> list[float]:
    """``count`` points drawn uniformly from equal, consecutive slices of ``window``, in order.

        >>> points = spread((0.1, 0.7), 3, random.Random(1))
        >>> [0.1 <= p < 0.3 for p in points[:1]], 0.3 <= points[1] < 0.5, 0.5 <= points[2] < 0.7
        ([True], True, True)
    """
    low, high = window
    if not 0 <= low < high <= 1:
        raise ValueError(f"kill window {window} must satisfy 0 <= low < high <= 1")
    width = (high - low) / max(count, 1)
    return [rng.uniform(low + i * width, low + (i + 1) * width) for i in range(count)]


def _fed_all(feeder: Feeder) -> bool:
    if not feeder.done:
        return False
    feeder.join(0)  # re-raises a failed delivery
    return True


def _latest(checkpoints: Path) -> str | None:
    from evgen.runtime.flinkenv import latest_checkpoint

    found = latest_checkpoint(checkpoints) if checkpoints.is_dir() else None
    return None if found is None else str(found.relative_to(checkpoints))


def _tail(log: Path, lines: int = 3) -> str:
    try:
        text = log.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no log)"
    kept = [line.strip() for line in text.splitlines() if line.strip()][-lines:]
    return " | ".join(kept)[-600:]

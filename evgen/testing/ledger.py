"""Accounting for end-to-end runs: which input ids came out where, how often.

A :class:`Ledger` knows the ``meta.id`` of every input and where it should end up
(the output topic, or the error topic for inputs the job must reject). Records read
back are added to it; it then tells what was lost (never came out), duplicated
(came out more than once), misrouted (came out on the other side) or unexpected.
:class:`TopicFollower` reads topics incrementally from the beginning, so a test can
watch a running job and stop it once the ledger is complete.

    >>> ledger = Ledger(outputs=["a", "b"], errors=["c"])
    >>> ledger.add_output('{"meta": {"id": "a"}}')
    >>> ledger.add_output('{"meta": {"id": "a"}}')
    >>> ledger.add_error('{"raw_event": "{\\\\"meta\\\\": {\\\\"id\\\\": \\\\"c\\\\"}}"}')
    >>> report = ledger.report()
    >>> report.lost, report.duplicates, report.complete
    (['b'], 1, False)
"""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable, Sequence

from evgen.errors import BrokerError
from evgen.kafka_client import KafkaRecord

__all__ = ["Ledger", "LedgerReport", "TopicFollower", "error_input_id", "output_id"]


def output_id(value: str | None) -> str | None:
    """``meta.id`` of an output event (None if the value is not such an event)."""
    event = _json(value)
    meta = event.get("meta") if isinstance(event, dict) else None
    found = meta.get("id") if isinstance(meta, dict) else None
    return found if isinstance(found, str) else None


def error_input_id(value: str | None) -> str | None:
    """``meta.id`` of the input an error event is about (from its ``raw_event``), or the raw
    event text itself when that is not JSON (undecodable input)."""
    event = _json(value)
    raw = event.get("raw_event") if isinstance(event, dict) else None
    if not isinstance(raw, str):
        return None
    return output_id(raw) or raw


@dataclass(frozen=True)
class LedgerReport:
    """The outcome of a ledger; ``complete`` means every input came out where it belongs."""

    inputs: int
    output_records: int
    error_records: int
    lost: list[str]
    duplicates: int
    duplicated_ids: int
    misrouted: list[str]
    unexpected: int

    @property
    def complete(self) -> bool:
        return not self.lost and not self.misrouted

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["lost"] = len(self.lost)
        data["lost_ids"] = self.lost[:20]
        data["misrouted"] = len(self.misrouted)
        return data


@dataclass
class Ledger:
    """Expected outcome per input id, and what was seen (see the module docstring)."""

    outputs: Iterable[str]
    errors: Iterable[str] = ()
    _expected: dict[str, str] = field(init=False, repr=False)
    _seen: dict[str, Counter[str]] = field(init=False, repr=False)
    _records: Counter[str] = field(init=False, repr=False)
    _unexpected: int = field(init=False, default=0, repr=False)
    _arrived: int = field(init=False, default=0, repr=False)

    def __post_init__(self) -> None:
        self._expected = {i: "output" for i in self.outputs}
        for i in self.errors:
            if i in self._expected:
                raise ValueError(f"input id {i!r} cannot be expected both as output and as error")
            self._expected[i] = "error"
        self._seen = {"output": Counter(), "error": Counter()}
        self._records = Counter()

    def add_output(self, value: str | None) -> None:
        """Count one record of the output topic."""
        self._add("output", output_id(value))

    def add_error(self, value: str | None) -> None:
        """Count one record of the error topic."""
        self._add("error", error_input_id(value))

    def add(self, records: Iterable[KafkaRecord], error_topics: Sequence[str]) -> None:
        """Count ``records``: those of ``error_topics`` as error events, the others as outputs."""
        for record in records:
            if record.topic in error_topics:
                self.add_error(record.value)
            else:
                self.add_output(record.value)

    def _add(self, kind: str, input_id: str | None) -> None:
        self._records[kind] += 1
        if input_id is None or input_id not in self._expected:
            self._unexpected += 1
            return
        if not self._seen["output"][input_id] and not self._seen["error"][input_id]:
            self._arrived += 1
        self._seen[kind][input_id] += 1

    @property
    def arrived(self) -> int:
        """Distinct input ids seen so far (on either side)."""
        return self._arrived

    @property
    def complete(self) -> bool:
        """Every input id was seen (on either side; :meth:`report` checks the side)."""
        return self._arrived == len(self._expected)

    def report(self) -> LedgerReport:
        lost: list[str] = []
        misrouted: list[str] = []
        duplicates = duplicated_ids = 0
        for input_id, kind in self._expected.items():
            right = self._seen[kind][input_id]
            wrong = self._seen["error" if kind == "output" else "output"][input_id]
            if right == 0:
                (misrouted if wrong else lost).append(input_id)
            copies = right + wrong
            if copies > 1:
                duplicates += copies - 1
                duplicated_ids += 1
        return LedgerReport(
            inputs=len(self._expected),
            output_records=self._records["output"],
            error_records=self._records["error"],
            lost=lost,
            duplicates=duplicates,
            duplicated_ids=duplicated_ids,
            misrouted=misrouted,
            unexpected=self._unexpected,
        )


class TopicFollower:
    """Reads every partition of ``topics`` from the beginning, a batch at a time.

        with TopicFollower(servers, ["eqiad.out", "job.error"]) as follower:
            while not ledger.complete:
                ledger.add(follower.poll(), error_topics=["job.error"])
            ledger.add(follower.read_to_end(), error_topics=["job.error"])
    """

    def __init__(self, bootstrap_servers: str, topics: Sequence[str], *, isolation_level: str = "read_committed") -> None:
        from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

        self.bootstrap_servers = bootstrap_servers
        self.topics = tuple(topics)
        self._consumer = Consumer(
            {"bootstrap.servers": bootstrap_servers, "group.id": f"evgen-follower.{uuid.uuid4().hex[:10]}",
             "enable.auto.commit": False, "enable.partition.eof": True, "isolation.level": isolation_level}
        )
        metadata = self._consumer.list_topics(timeout=10)
        partitions = []
        for topic in self.topics:
            described = metadata.topics.get(topic)
            if described is None or described.error is not None:
                self._consumer.close()
                raise BrokerError(f"topic {topic!r} does not exist on {bootstrap_servers}")
            partitions += [TopicPartition(topic, p, OFFSET_BEGINNING) for p in sorted(described.partitions)]
        self._partitions = [(tp.topic, tp.partition) for tp in partitions]
        self._consumer.assign(partitions)
        #: per partition, the offset at which the consumer last reached its end
        self._eof: dict[tuple[str, int], int] = {}

    def poll(self, timeout_s: float = 0.5, max_records: int = 5000) -> list[KafkaRecord]:
        """The records that arrived since the last call (possibly none)."""
        from confluent_kafka import KafkaError

        from evgen.kafka_client import _record

        records: list[KafkaRecord] = []
        for message in self._consumer.consume(num_messages=max_records, timeout=timeout_s):
            error = message.error()
            if error is None:
                records.append(_record(message))
            elif error.code() == KafkaError._PARTITION_EOF:
                topic, partition, offset = message.topic(), message.partition(), message.offset()
                if topic is not None and partition is not None and offset is not None:
                    self._eof[(topic, partition)] = offset
            elif not error.retriable():
                raise BrokerError(f"consuming {message.topic()}: {error.str()}")
        return records

    def read_to_end(self, timeout_s: float = 120.0) -> list[KafkaRecord]:
        """Everything up to the current end of every partition. For ``read_committed`` that is
        the last stable offset: records of a transaction still open (and all after it) are not
        read yet, those of aborted transactions never."""
        from confluent_kafka import TopicPartition

        ends = {}
        for topic, partition in self._partitions:
            _, high = self._consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
            ends[(topic, partition)] = high
        records: list[KafkaRecord] = []
        deadline = time.monotonic() + timeout_s
        while missing := [tp for tp in self._partitions if self._eof.get(tp, -1) < ends[tp]]:
            if time.monotonic() > deadline:
                raise BrokerError(
                    f"did not reach the end of {', '.join(f'{t}[{p}]@{ends[(t, p)]}' for t, p in missing)} "
                    f"within {timeout_s:.0f} s"
                )
            records += self.poll(0.5)
        return records

    def close(self) -> None:
        self._consumer.close()

    def __enter__(self) -> TopicFollower:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _json(value: str | None) -> Any:
    if value is None:
        return None
    try:
        return json.loads(value)
    except ValueError:
        return None

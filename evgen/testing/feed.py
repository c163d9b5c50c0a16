"""Input for end-to-end runs: many events from a few real ones, and a producer that feeds them.

:func:`make_events` copies real events with fresh ``meta.id`` s (and varied page ids, so
keys spread over partitions and buckets); every ``invalid_every``-th copy is made
invalid against the schema (its ``performer`` removed — page/change 1.1.0 requires it),
so the error path is exercised too. :class:`Feeder` produces them to a stream's topics
(round robin: ``eqiad.`` and ``codfw.``) from a background thread at a steady rate,
keyed by the stream's ``message_key_fields`` and timestamped from ``meta.dt`` as
Event Platform producers do.

    events = make_events(templates, 10_000, invalid_every=100, seed=1)
    with Feeder(servers, ["eqiad.page_change", "codfw.page_change"], events,
                key_fields={"wiki_id": "wiki_id", "page_id": "page.page_id"}, rate=500) as feeder:
        ...                     # the job runs meanwhile
    assert feeder.sent == len(events)
"""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any, Iterable, Iterator, Mapping, Sequence

from evgen.kafka_client import produce
from evgen.runtime.events import message_key, to_epoch_ms

__all__ = ["Feeder", "FeedEvent", "make_events", "message_key"]


@dataclass(frozen=True)
class FeedEvent:
    """One input event and whether the job must accept it."""

    id: str
    event: dict[str, Any]
    valid: bool


def make_events(
    templates: Sequence[Mapping[str, Any]], count: int, *, invalid_every: int = 0, seed: int = 0, pages: int = 1000
) -> list[FeedEvent]:
    """``count`` copies of ``templates`` (round robin), each with a fresh ``meta.id`` and a page id
    out of ``pages``; every ``invalid_every``-th one (0: none) without ``performer``.

        >>> events = make_events([{"meta": {"id": "x"}, "page": {"page_id": 1}, "performer": {}}], 4, invalid_every=2)
        >>> [e.valid for e in events], len({e.id for e in events})
        ([True, False, True, False], 4)
    """
    if not templates:
        raise ValueError("make_events needs at least one template event")
    rng = random.Random(seed)
    events = []
    for n in range(count):
        event = json.loads(json.dumps(templates[n % len(templates)]))
        event_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        event["meta"] = {**event.get("meta", {}), "id": event_id}
        if isinstance(event.get("page"), dict):
            event["page"]["page_id"] = rng.randrange(1, pages + 1)
        valid = not (invalid_every and (n + 1) % invalid_every == 0)
        if not valid:
            event.pop("performer", None)
        events.append(FeedEvent(event_id, event, valid))
    return events


def _epoch_ms(event: Mapping[str, Any]) -> int | None:
    meta = event.get("meta")
    return to_epoch_ms(meta.get("dt") if isinstance(meta, Mapping) else None)


class Feeder:
    """Produces events to topics from a background thread (see the module docstring).

    ``rate`` is in events per second over all topics (None: as fast as the broker takes them).
    A failed delivery is raised by :meth:`join` (and on leaving the ``with`` block).
    """

    def __init__(
        self,
        bootstrap_servers: str,
        topics: Sequence[str],
        events: Iterable[FeedEvent],
        *,
        key_fields: Mapping[str, str] | None = None,
        rate: float | None = None,
        chunk: int = 200,
    ) -> None:
        if not topics:
            raise ValueError("Feeder needs at least one topic")
        self.bootstrap_servers = bootstrap_servers
        self.topics = tuple(topics)
        self.events = list(events)
        self.key_fields = dict(key_fields or {})
        self.rate = rate
        self.chunk = chunk
        self.sent = 0
        self.started: float | None = None
        self.finished: float | None = None
        self._error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="evgen-feeder", daemon=True)

    def start(self) -> Feeder:
        self.started = time.monotonic()
        self._thread.start()
        return self

    @property
    def done(self) -> bool:
        """Every event was sent (or sending failed: see :meth:`join`)."""
        return not self._thread.is_alive() and self.started is not None

    def join(self, timeout_s: float | None = None) -> None:
        """Wait for the feeder; re-raise its delivery error, if any."""
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            raise TimeoutError(f"the feeder sent {self.sent} of {len(self.events)} events within {timeout_s} s")
        if self._error is not None:
            raise self._error

    def stop(self) -> None:
        """Stop sending (after the current chunk)."""
        self._stop.set()

    def _run(self) -> None:
        try:
            for n, start in enumerate(range(0, len(self.events), self.chunk)):
                if self._stop.is_set():
                    return
                batch = self.events[start : start + self.chunk]
                produce(
                    self.bootstrap_servers, self.topics[n % len(self.topics)], self._paced(batch),
                    key=lambda e: message_key(e, self.key_fields), timestamp_ms=_epoch_ms,
                )
        except BaseException as e:  # re-raised by join()
            self._error = e
        finally:
            self.finished = time.monotonic()

    def _paced(self, batch: list[FeedEvent]) -> Iterator[dict[str, Any]]:
        for feed_event in batch:
            if self.rate and self.started is not None:
                due = self.started + self.sent / self.rate
                if (wait := due - time.monotonic()) > 0:
                    time.sleep(wait)
            yield feed_event.event
            self.sent += 1

    def __enter__(self) -> Feeder:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, *rest: object) -> None:
        if kind is not None:
            self.stop()
        self.join()

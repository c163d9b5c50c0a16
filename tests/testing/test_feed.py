"""evgen.testing.feed: events made from real ones, fed to the real broker at a steady rate."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from typing import Any

import pytest

from evgen.devkafka import KafkaBroker
from evgen.testing.feed import Feeder, make_events, message_key
from evgen.testing.kafka import consume_all, unique_name

KEYS = {"wiki_id": "wiki_id", "page_id": "page.page_id"}


@pytest.fixture(scope="module")
def templates(page_change_events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in page_change_events if "performer" in e]


def test_make_events_copies_templates_with_fresh_ids(templates: list[dict[str, Any]]) -> None:
    events = make_events(templates, 250, invalid_every=50, seed=3, pages=20)

    assert len(events) == 250 and len({e.id for e in events}) == 250
    assert all(e.event["meta"]["id"] == e.id for e in events)
    assert [n for n, e in enumerate(events) if not e.valid] == [49, 99, 149, 199, 249]
    assert all(("performer" in e.event) == e.valid for e in events)
    assert {e.event["page"]["page_id"] for e in events} <= set(range(1, 21))
    assert len({e.event["page"]["page_id"] for e in events}) > 10  # keys spread
    # everything but meta.id, page_id and (for invalid ones) performer is the template's
    for n, e in enumerate(events):
        template = templates[n % len(templates)]
        assert e.event["wiki_id"] == template["wiki_id"] and e.event["dt"] == template["dt"]
        assert e.event["meta"]["dt"] == template["meta"]["dt"]
    assert templates[0]["meta"]["id"] not in {e.id for e in events}  # templates untouched
    assert [e.id for e in make_events(templates, 5, seed=3, pages=20)] == [e.id for e in events[:5]]  # reproducible
    assert [e.id for e in make_events(templates, 5, seed=4, pages=20)] != [e.id for e in events[:5]]


def test_make_events_needs_templates() -> None:
    with pytest.raises(ValueError, match="at least one template"):
        make_events([], 3)


def test_message_key_is_compact_json_of_the_key_fields() -> None:
    event = {"wiki_id": "enwiki", "page": {"page_id": 42}}
    assert message_key(event, KEYS) == '{"wiki_id":"enwiki","page_id":42}'
    assert message_key({"wiki_id": "x"}, KEYS) == '{"wiki_id":"x","page_id":null}'
    assert message_key(event, {}) is None
    assert message_key({"wiki_id": "Ёж", "page": {"page_id": 1}}, KEYS) == '{"wiki_id":"Ёж","page_id":1}'


@pytest.mark.kafka
def test_feeder_sends_everything_round_robin_at_its_rate(kafka_broker: KafkaBroker, templates: list[dict[str, Any]]) -> None:
    servers = kafka_broker.bootstrap_servers
    topics = [unique_name("eqiad.feed"), unique_name("codfw.feed")]
    kafka_broker.create_topics(topics, partitions=2)
    events = make_events(templates, 400, seed=1)

    with Feeder(servers, topics, events, key_fields=KEYS, rate=200, chunk=50) as feeder:
        pass

    assert feeder.done and feeder.sent == 400
    assert feeder.started is not None and feeder.finished is not None
    # paced: event n is not handed over before n/rate s (a lower bound the pacing guarantees, not a speed)
    assert feeder.finished - feeder.started >= 399 / 200
    records = {t: consume_all(servers, [t]) for t in topics}
    assert [len(records[t]) for t in topics] == [200, 200]  # chunks of 50 alternate between the topics
    by_id = {e.id: e.event for e in events}
    assert Counter(r.json()["meta"]["id"] for rs in records.values() for r in rs) == Counter(by_id.keys())
    for record in (r for rs in records.values() for r in rs):
        event = by_id[record.json()["meta"]["id"]]
        assert record.key == message_key(event, KEYS)
        assert record.timestamp_ms == int(datetime.fromisoformat(event["meta"]["dt"]).timestamp() * 1000)
        assert json.loads(record.value or "") == event

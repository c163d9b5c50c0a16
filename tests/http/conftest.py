"""Fixtures for the evgen.http tests: fast settings and a way to query the fake Action API."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import requests

from evgen.http import EvgenSession, HttpSettings, build_session, send
from evgen.testing.action_api import FakeActionApi

Query = Callable[[int], dict[str, str]]
Ask = Callable[..., requests.Response]


@pytest.fixture
def fast() -> HttpSettings:
    """Short timeouts, 2 retries, no backoff: failure classes show up in a fraction of a second."""
    return HttpSettings(connect_timeout_s=0.3, read_timeout_s=0.5, retries=2, backoff_factor=0.0,
                        backoff_jitter=0.0, retry_after_max_s=5.0)


@pytest.fixture
def session(fast: HttpSettings) -> Iterator[EvgenSession]:
    with build_session(fast, pool_size=4) as s:
        yield s


@pytest.fixture
def query() -> Query:
    """The revision query the fake answers, for ``rev_id``."""

    def make(rev_id: int) -> dict[str, str]:
        return {"action": "query", "prop": "revisions", "revids": str(rev_id), "rvslots": "*",
                "rvprop": "content", "format": "json", "formatversion": "2"}

    return make


@pytest.fixture
def ask(session: EvgenSession, query: Query) -> Ask:
    """``ask(api, rev_id, via=session)``: :func:`evgen.http.send` the revision query to ``api``."""

    def call(api: FakeActionApi, rev_id: int, *, via: requests.Session | None = None) -> requests.Response:
        return send(via or session, "GET", api.endpoint("en.wikipedia.org"), params=query(rev_id))

    return call

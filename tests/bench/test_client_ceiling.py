"""The HTTP client's ceiling of section 3: every query answered, counted at the server."""

from __future__ import annotations

import pytest

from bench.client_ceiling import measure, measure_in_subprocess
from evgen.testing.action_api import FakeActionApi


@pytest.mark.parametrize("client", ["requests", "aiohttp"])
def test_sends_every_query_workers_at_a_time(action_api: FakeActionApi, client: str) -> None:
    action_api.latency_s = 0.02
    action_api.rendezvous(4, timeout_s=10)  # four at a time, or the server answers 503 and the run fails
    result = measure(action_api.url_template, 4, 12, client)
    assert action_api.total_requests == 12 and action_api.max_in_flight == 4
    assert result["requests_per_s"] > 0 and result["cpu_us_per_request"] > 0


@pytest.mark.parametrize("client", ["requests", "aiohttp"])
def test_a_query_without_content_fails_the_run(action_api: FakeActionApi, client: str) -> None:
    action_api.add_revision(1_000_003, {})  # a revision without slots
    with pytest.raises(RuntimeError, match="5 of 6 queries returned content"):
        measure(action_api.url_template, 2, 6, client)


def test_runs_in_a_process_of_its_own(action_api: FakeActionApi) -> None:
    result = measure_in_subprocess(action_api.url_template, 2, 4, "requests")
    assert action_api.total_requests == 4 and set(result) == {"requests_per_s", "cpu_us_per_request"}

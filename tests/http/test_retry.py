"""evgen.http.retry: which classes are retried, how often and how long apart (server-side counts)."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
import requests
from urllib3.response import HTTPResponse

from evgen.http import (
    RETRYABLE_STATUSES,
    EvgenSession,
    HttpFailure,
    HttpSettings,
    RetryPolicy,
    build_session,
    call_with_retries,
    send,
)
from evgen.testing.action_api import FakeActionApi, Fault

Ask = Callable[..., requests.Response]
Query = Callable[[int], dict[str, str]]


def arrivals(api: FakeActionApi, rev_id: int) -> list[float]:
    return [r.at for r in api.requests_for(rev_id)]


def test_policy_from_settings() -> None:
    settings = HttpSettings(retries=4, backoff_factor=0.25, backoff_jitter=0.1, backoff_max_s=3, retry_after_max_s=7)
    retry = RetryPolicy.from_settings(settings)
    assert (retry.total, retry.connect, retry.read, retry.status, retry.other) == (4, 4, 4, 4, 0)
    assert set(retry.status_forcelist) == set(RETRYABLE_STATUSES) == {408, 500, 502, 503, 504}
    assert (retry.backoff_factor, retry.backoff_jitter, retry.backoff_max) == (0.25, 0.1, 3)
    assert retry.respect_retry_after_header and retry.retry_after_max_s == 7
    assert retry.allowed_methods is not None and set(retry.allowed_methods) == {"GET", "HEAD"}
    assert not retry.raise_on_status  # the last response is classified, with its status


def test_retry_after_is_capped() -> None:
    policy = RetryPolicy.from_settings(HttpSettings(retry_after_max_s=2.5))
    assert policy.get_retry_after(HTTPResponse(headers={"Retry-After": "3600"})) == 2.5
    assert policy.get_retry_after(HTTPResponse(headers={"Retry-After": "1"})) == 1
    assert policy.get_retry_after(HTTPResponse(headers={})) is None
    assert policy.new(total=1).retry_after_max_s == 2.5  # survives urllib3's increment()


@pytest.mark.parametrize("status", sorted(RETRYABLE_STATUSES))
def test_retryable_statuses_are_retried_up_to_the_threshold(
    action_api: FakeActionApi, ask: Ask, fast: HttpSettings, status: int
) -> None:
    action_api.inject(Fault.http_status(status), rev_id=7)
    with pytest.raises(HttpFailure) as e:
        ask(action_api, 7)
    assert e.value.error_type == "http_retryable_status" and e.value.status == status
    assert action_api.count(7) == fast.retries + 1
    assert e.value.attempts == fast.retries + 1


@pytest.mark.parametrize(
    ("fault", "code"),
    [(Fault.http_status(400), "http_client_error"), (Fault.http_status(404), "http_client_error"),
     (Fault.http_status(429, retry_after=1), "http_client_error"),
     (Fault.http_status(413, retry_after=1), "http_client_error"),
     (Fault.http_status(501), "http_server_error"), (Fault.http_status(505), "http_server_error"),
     (Fault.no_content(), "http_no_content"), (Fault.redirect(), "http_redirect"),
     (Fault.redirect(status=301), "http_redirect"), (Fault.redirect(status=307), "http_redirect")],
    ids=lambda v: f"{v.kind}-{v.status}" if isinstance(v, Fault) else v,
)
def test_other_classes_fail_at_once(action_api: FakeActionApi, ask: Ask, fault: Fault, code: str) -> None:
    action_api.inject(fault, rev_id=7)
    with pytest.raises(HttpFailure) as e:
        ask(action_api, 7)
    assert e.value.error_type == code and e.value.status == fault.status
    assert action_api.count(7) == 1


def test_flaky_status_succeeds_after_retries(action_api: FakeActionApi, ask: Ask, fast: HttpSettings) -> None:
    action_api.inject(Fault.http_status(502), rev_id=7, times=fast.retries)
    assert ask(action_api, 7).status_code == 200
    assert action_api.count(7) == fast.retries + 1


def test_retry_after_is_honoured(action_api: FakeActionApi, ask: Ask) -> None:
    action_api.inject(Fault.http_status(503, retry_after=1), rev_id=7, times=1)
    assert ask(action_api, 7).status_code == 200
    first, second = arrivals(action_api, 7)
    assert second - first >= 1.0  # the client waited as asked before its retry (no backoff configured)


def test_backoff_is_exponential(action_api: FakeActionApi, ask: Ask, fast: HttpSettings) -> None:
    session = build_session(fast.model_copy(update={"retries": 3, "backoff_factor": 0.1}))
    action_api.inject(Fault.http_status(500), rev_id=7)
    with pytest.raises(HttpFailure):
        ask(action_api, 7, via=session)
    t = arrivals(action_api, 7)
    assert len(t) == 4
    # urllib3: no wait before the first retry, then factor * 2**(n-1): 0.2 s, 0.4 s.
    assert t[2] - t[1] >= 0.2 and t[3] - t[2] >= 0.4


def test_post_is_not_retried_by_default(action_api: FakeActionApi, session: EvgenSession, query: Query) -> None:
    action_api.inject(Fault.http_status(503), rev_id=7)
    with pytest.raises(HttpFailure) as e:
        send(session, "POST", action_api.endpoint("en.wikipedia.org"), data=query(7))
    assert e.value.error_type == "http_retryable_status"
    assert action_api.count(7) == 1


def test_read_timeouts_are_retried(action_api: FakeActionApi, ask: Ask, fast: HttpSettings) -> None:
    action_api.inject(Fault.read_timeout(3.0), rev_id=7)
    with pytest.raises(HttpFailure) as e:
        ask(action_api, 7)
    assert e.value.error_type == "http_read_timeout" and e.value.status is None
    assert action_api.count(7) == fast.retries + 1


def test_a_body_cut_short_is_left_to_the_body_retries(action_api: FakeActionApi, ask: Ask) -> None:
    action_api.inject(Fault.stall_body(3.0), rev_id=7)
    with pytest.raises(HttpFailure) as e:
        ask(action_api, 7)
    assert e.value.error_type == "http_read_timeout" and e.value.retryable
    assert action_api.count(7) == 1  # urllib3 had the headers already: retrying is call_with_retries' job


def test_connect_timeouts_are_retried(
    action_api: FakeActionApi, session: EvgenSession, query: Query, fast: HttpSettings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = action_api.connect_timeout_url_template.format(domain="en.wikipedia.org")
    with caplog.at_level(logging.WARNING, logger="urllib3.connectionpool"):
        with pytest.raises(HttpFailure) as e:
            send(session, "GET", url, params=query(7))
    assert e.value.error_type == "http_connect_timeout"
    # No server sees a connection that never completes: count urllib3's own retry records.
    retried = [r for r in caplog.records
               if r.getMessage().startswith("Retrying") and "ConnectTimeoutError" in r.getMessage()]
    assert len(retried) == fast.retries


def test_body_retries_use_the_threshold_and_the_servers_wait() -> None:
    waits: list[float] = []
    calls = 0

    def attempt() -> str:
        nonlocal calls
        calls += 1
        raise HttpFailure("mw_maxlag", "http://x/", status=200, retryable=True, retry_after_s=3600)

    with pytest.raises(HttpFailure) as e:
        call_with_retries(attempt, HttpSettings(retries=3, retry_after_max_s=1.5), sleep=waits.append)
    assert calls == 4 and e.value.attempts == 4 and not e.value.retryable
    assert waits == [1.5, 1.5, 1.5]  # the maxlag wait, capped


def test_body_retries_back_off_like_urllib3() -> None:
    waits: list[float] = []
    calls = 0

    def attempt() -> str:
        nonlocal calls
        calls += 1
        if calls <= 3:
            raise HttpFailure("mw_badrevids", "http://x/", status=200, retryable=True)
        return "ok"

    settings = HttpSettings(retries=3, backoff_factor=0.5, backoff_jitter=0, backoff_max_s=1.5)
    assert call_with_retries(attempt, settings, sleep=waits.append) == "ok"
    assert calls == 4
    assert waits == [1.0, 1.5]  # no wait before retry 1, then 0.5 * 2, then 0.5 * 4 capped at backoff_max_s


def test_body_retries_leave_other_failures_alone() -> None:
    calls = 0

    def attempt() -> str:
        nonlocal calls
        calls += 1
        raise HttpFailure("http_client_error", "http://x/", status=404)

    with pytest.raises(HttpFailure):
        call_with_retries(attempt, HttpSettings(retries=3), sleep=lambda s: None)
    assert calls == 1

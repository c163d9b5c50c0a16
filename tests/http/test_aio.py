"""evgen.http.aio and async process functions, against real servers on 127.0.0.1.

The failure table itself (every class after the right number of attempts) runs for the async
client in tests/test_mediawiki.py, next to the requests client.
"""

from __future__ import annotations

import asyncio
import pickle
import time
import typing
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import aiohttp
import cloudpickle
import pytest

from evgen.devkafka import free_port
from evgen.http import AsyncHttpProcessFunction, HttpFailure, HttpSettings, http_process_function, wrap_injected
from evgen.http.aio import AsyncResponse, DrivenLoop, LoopThread, build_async_session, send_async
from evgen.testing.action_api import FakeActionApi, Fault

from .conftest import Event, Out, Query, RecordingProxy


async def fetch(event: Event, session: aiohttp.ClientSession) -> Out:
    """A typed async process function that asks for a session."""
    response = await send_async(session, "GET", event.url, params={
        "action": "query", "prop": "revisions", "revids": str(event.rev_id), "rvslots": "*", "rvprop": "content",
        "format": "json", "formatversion": "2"})
    return Out(event.rev_id, response.status)


@pytest.fixture
def loop() -> Iterator[LoopThread]:
    thread = LoopThread()
    yield thread
    thread.close()


def ask(loop: LoopThread, settings: HttpSettings, method: str, url: str, **kwargs: typing.Any) -> AsyncResponse:
    """``send_async`` on a fresh session with ``settings``, from this thread."""

    async def call() -> AsyncResponse:
        async with await build_async_session(settings, pool_size=4) as session:
            return await send_async(session, method, url, **kwargs)

    return loop.run(call())


def test_an_async_function_gets_a_session_on_its_own_loop(action_api: FakeActionApi, fast: HttpSettings) -> None:
    process = http_process_function(fetch)
    assert isinstance(process, AsyncHttpProcessFunction) and wrap_injected(fetch).session_param == "session"
    assert process.__wrapped__ is fetch and typing.get_type_hints(process) == {"event": Event, "return": Out}
    process.open(fast.model_copy(update={"user_agent": "async/1"}), pool_size=16)
    try:
        assert isinstance(process.session, aiohttp.ClientSession)
        url = action_api.endpoint("en.wikipedia.org")
        with ThreadPoolExecutor(16) as pool:  # worker threads, as the operator calls it
            outs = list(pool.map(process, [Event(i, url) for i in range(1, 65)]))
        assert outs == [Out(i, 200) for i in range(1, 65)]
        assert action_api.total_requests == 64 and action_api.requests[0].headers["User-Agent"] == "async/1"
    finally:
        process.close()
    assert process.session is None


def test_slow_answers_overlap_on_the_one_loop(fast: HttpSettings) -> None:
    with FakeActionApi(latency_s=0.2) as api:
        process = http_process_function(fetch)
        process.open(fast, pool_size=32)
        try:
            started = time.monotonic()
            with ThreadPoolExecutor(32) as pool:
                list(pool.map(process, [Event(i, api.endpoint("x")) for i in range(32)]))
            elapsed = time.monotonic() - started
        finally:
            process.close()
        assert api.max_in_flight > 16 and elapsed < 32 * 0.2 / 4  # concurrent, not one after another


def test_a_driven_loop_runs_only_when_its_owner_runs_it() -> None:
    loop = DrivenLoop()
    steps: list[str] = []

    async def work() -> str:
        steps.append("started")
        await asyncio.sleep(0.05)
        steps.append("woke")
        return "done"

    task = loop.loop.create_task(work())
    assert steps == []  # nothing runs the loop yet
    loop.poll()
    assert steps == ["started"]  # one pass: the task started and poll did not wait for its sleep
    assert loop.run(task) == "done" and steps == ["started", "woke"]
    never = loop.loop.create_task(asyncio.sleep(3600))
    loop.poll()
    loop.cancel()  # cancels what is still running; the loop stays open (e.g. to close a session on it)
    assert never.cancelled() and loop.run(asyncio.sleep(0, "open")) == "open"
    later = loop.loop.create_task(asyncio.sleep(3600))
    loop.poll()
    loop.close()  # cancels what is still running, then closes
    assert later.cancelled() and loop.loop.is_closed()
    loop.close()  # idempotent


def test_an_async_function_opened_on_a_driven_loop_runs_there(action_api: FakeActionApi, fast: HttpSettings) -> None:
    loop = DrivenLoop()
    process = http_process_function(fetch)
    process.open(fast, pool_size=8, loop=loop)
    try:
        assert process.loop is loop and isinstance(process.session, aiohttp.ClientSession)
        url = action_api.endpoint("en.wikipedia.org")
        tasks = [loop.loop.create_task(process.acall(Event(i, url))) for i in range(1, 9)]
        assert loop.run(asyncio.gather(*tasks)) == [Out(i, 200) for i in range(1, 9)]
        assert process(Event(9, url)) == Out(9, 200)  # called with the event alone: runs the loop until done
    finally:
        process.close()
    assert process.session is None and not loop.loop.is_closed()  # the loop is its owner's to close
    loop.close()


def test_pickles_without_its_session_and_opens_itself(action_api: FakeActionApi) -> None:
    process = http_process_function(fetch)
    process.open(pool_size=2)
    try:
        for dumps in (pickle.dumps, cloudpickle.dumps):
            copy = pickle.loads(dumps(process))
            assert copy.session is None
            assert copy(Event(3, action_api.endpoint("x"))) == Out(3, 200)  # opens lazily
            copy.close()
    finally:
        process.close()


def test_aiohttp_errors_in_the_function_become_http_failures(fast: HttpSettings) -> None:
    async def raw(event: Event, session: aiohttp.ClientSession) -> Out:
        async with session.get(event.url) as response:  # aiohttp directly, not send_async
            return Out(event.rev_id, response.status)

    process = http_process_function(raw)
    process.open(fast)
    try:
        with pytest.raises(HttpFailure) as e:
            process(Event(1, f"http://127.0.0.1:{free_port()}/w/api.php"))
        assert e.value.error_type == "http_connection_error" and "127.0.0.1" in e.value.message
    finally:
        process.close()


def test_refused_connections_are_retried_then_fail(loop: LoopThread, fast: HttpSettings) -> None:
    with pytest.raises(HttpFailure) as e:
        ask(loop, fast, "GET", f"http://127.0.0.1:{free_port()}/w/api.php?token=s3cr3t")
    assert e.value.error_type == "http_connection_error" and e.value.attempts == fast.retries + 1
    assert "s3cr3t" not in e.value.message and "\n" not in e.value.message


def test_only_retry_methods_are_retried(action_api: FakeActionApi, loop: LoopThread, fast: HttpSettings,
                                        query: Query) -> None:
    action_api.inject(Fault.http_status(503), rev_id=7)
    with pytest.raises(HttpFailure) as e:
        ask(loop, fast, "POST", action_api.endpoint("x"), params=query(7))
    assert e.value.error_type == "http_retryable_status" and action_api.count(7) == 1


def test_retry_after_is_honoured(action_api: FakeActionApi, loop: LoopThread, fast: HttpSettings,
                                 query: Query) -> None:
    action_api.inject(Fault.http_status(503, retry_after=1), rev_id=7, times=1)
    started = time.monotonic()
    assert ask(loop, fast, "GET", action_api.endpoint("x"), params=query(7)).status == 200
    assert time.monotonic() - started >= 0.9 and action_api.count(7) == 2


def test_redirects_are_followed_without_credentials_leaving_the_origin(
    action_api: FakeActionApi, other_api: FakeActionApi, loop: LoopThread, fast: HttpSettings, query: Query
) -> None:
    target = other_api.endpoint("en.wikipedia.org") + "?" + "&".join(f"{k}={v}" for k, v in query(7).items())
    action_api.inject(Fault.redirect(target), rev_id=7)
    action_api.inject(Fault.redirect(), rev_id=8, times=1)  # to /moved/... on the same server
    following = fast.model_copy(update={"max_redirects": 2, "headers": {"X-Api-Key": "k"},
                                        "credential_headers": ("X-Api-Key",)})
    secret = {"Authorization": "Bearer t"}
    assert ask(loop, following, "GET", action_api.endpoint("x"), params=query(7), headers=secret).status == 200
    assert ask(loop, following, "GET", action_api.endpoint("x"), params=query(8), headers=secret).status == 200
    (first,) = action_api.requests_for(7)
    (moved,) = other_api.requests_for(7)
    assert first.headers["Authorization"] == "Bearer t" and first.headers["X-Api-Key"] == "k"
    assert "Authorization" not in moved.headers and "X-Api-Key" not in moved.headers
    _, same_origin = action_api.requests_for(8)
    assert same_origin.path.startswith("/moved/") and same_origin.headers["Authorization"] == "Bearer t"
    with pytest.raises(HttpFailure) as e:  # max_redirects 0 (the default): a 3xx is the failure
        ask(loop, fast, "GET", action_api.endpoint("x"), params=query(7))
    assert e.value.error_type == "http_redirect" and e.value.detail == f"Location: {target}"


def test_tls_is_verified_by_default(certificate: tuple[str, str], loop: LoopThread, fast: HttpSettings,
                                    query: Query) -> None:
    with FakeActionApi(tls=certificate) as api:
        with pytest.raises(HttpFailure) as e:
            ask(loop, fast, "GET", api.endpoint("x"), params=query(7))
        assert e.value.error_type == "http_tls_error" and api.count(7) == 0
        trusting = fast.model_copy(update={"verify_tls": certificate[0]})
        assert ask(loop, trusting, "GET", api.endpoint("x"), params=query(7)).status == 200
        assert ask(loop, fast.model_copy(update={"verify_tls": False}), "GET", api.endpoint("x"),
                   params=query(7)).status == 200


def test_environment_proxies_are_used_and_read_once_per_origin(
    monkeypatch: pytest.MonkeyPatch, loop: LoopThread, fast: HttpSettings, recording_proxy: str
) -> None:
    monkeypatch.setenv("HTTP_PROXY", recording_proxy)
    monkeypatch.setenv("NO_PROXY", "direct.invalid")

    async def calls() -> list[int]:
        async with await build_async_session(fast) as session:
            first = await send_async(session, "GET", "http://wiki.invalid/w/api.php")
            with pytest.raises(HttpFailure) as e:  # NO_PROXY: direct, and that host does not exist
                await send_async(session, "GET", "http://direct.invalid/w/api.php")
            assert e.value.error_type == "http_connection_error"
            monkeypatch.delenv("HTTP_PROXY")  # read once per origin: this session keeps its proxy
            again = await send_async(session, "GET", "http://wiki.invalid/w/api.php", params={"again": "1"})
            return [first.status, again.status]

    assert loop.run(calls()) == [200, 200]
    assert RecordingProxy.targets == ["http://wiki.invalid/w/api.php", "http://wiki.invalid/w/api.php?again=1"]


def test_params_are_encoded_as_requests_encodes_them(action_api: FakeActionApi, loop: LoopThread,
                                                     fast: HttpSettings, query: Query) -> None:
    params = {**query(7), "rvcontinue": None, "rvlimit": 1, "flag": True, "titles": ["A", "B"]}
    assert ask(loop, fast, "GET", action_api.endpoint("x"), params=params).status == 200
    (sent,) = action_api.requests_for(7)
    assert "rvcontinue" not in sent.params and (sent.params["rvlimit"], sent.params["flag"]) == ("1", "True")


def test_the_ca_bundle_of_the_environment_is_trusted_as_requests_trusts_it(
    certificate: tuple[str, str], loop: LoopThread, fast: HttpSettings, query: Query, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", certificate[0])
    with FakeActionApi(tls=certificate) as api:
        assert ask(loop, fast, "GET", api.endpoint("x"), params=query(7)).status == 200


def test_the_loop_refuses_to_wait_for_itself(loop: LoopThread) -> None:
    async def inner() -> str:
        return "never"

    async def outer() -> str:
        return loop.run(inner())  # from the loop's own thread: would hang

    with pytest.raises(RuntimeError, match="would wait for itself"):
        loop.run(outer())

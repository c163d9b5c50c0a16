"""evgen.http.injection: process functions with a pooled session, as the runtime uses them."""

from __future__ import annotations

import inspect
import pickle
import socket
import typing
from concurrent.futures import ThreadPoolExecutor

import aiohttp
import cloudpickle
import pytest
import requests
from requests.adapters import HTTPAdapter

from evgen.errors import ContractError
from evgen.http import (
    EvgenSession,
    HttpFailure,
    HttpProcessFunction,
    HttpSettings,
    http_process_function,
    session_parameter,
    wrap_injected,
)
from evgen.testing.action_api import FakeActionApi

from .conftest import Event, Out, Query


def fetch(event: Event, session: requests.Session) -> Out:
    """A typed process function that asks for a session."""
    r = session.get(event.url, params={"action": "query", "prop": "revisions", "revids": str(event.rev_id),
                                       "rvslots": "*", "rvprop": "content", "format": "json", "formatversion": "2"})
    return Out(event.rev_id, r.status_code)


def events(api: FakeActionApi, rev_ids: range) -> list[Event]:
    return [Event(i, api.endpoint("en.wikipedia.org")) for i in rev_ids]


def test_decorator_binds_a_session_and_keeps_the_typed_signature(action_api: FakeActionApi,
                                                                 fast: HttpSettings) -> None:
    process = http_process_function(fetch)
    assert isinstance(process, HttpProcessFunction)
    assert process.__wrapped__ is fetch and process.__name__ == "fetch" and process.__doc__ == fetch.__doc__
    assert process.session_param == "session"
    sig = inspect.signature(process)
    assert list(sig.parameters) == ["event"] and sig.return_annotation in (Out, "Out")
    assert typing.get_type_hints(process.__wrapped__) == {"event": Event, "session": requests.Session, "return": Out}
    assert typing.get_type_hints(process) == {"event": Event, "return": Out}

    process.open(fast.model_copy(update={"user_agent": "decorated/1"}), pool_size=8)
    try:
        (event,) = events(action_api, range(5, 6))
        assert process(event) == Out(5, 200)
        assert action_api.requests[0].headers["User-Agent"] == "decorated/1"
        assert process.session is not None
        adapter = typing.cast(HTTPAdapter, process.session.get_adapter(event.url))
        assert adapter.poolmanager.connection_pool_kw["maxsize"] == 8
    finally:
        process.close()
    assert process.session is None


def test_opens_are_counted_so_sharing_operators_keep_the_session(fast: HttpSettings) -> None:
    process = http_process_function(fetch)
    process.open(fast, 4)
    first = process.session
    process.open(fast.model_copy(update={"retries": 0}), 4)  # a second operator sharing the object
    assert process.session is first
    process.close()
    assert process.session is first  # still used by the other operator
    process.close()
    assert process.session is None
    process.close()  # extra closes are harmless
    process.open(fast.model_copy(update={"retries": 0}), 1)
    assert process.session is not None and process.session is not first
    assert typing.cast(HTTPAdapter, process.session.get_adapter("http://x/")).max_retries.total == 0
    process.close()


def test_open_replaces_a_lazily_opened_session(fast: HttpSettings) -> None:
    @http_process_function
    def which(event: int, session: requests.Session) -> object:
        return typing.cast(HTTPAdapter, session.get_adapter("http://x/")).max_retries.total

    try:
        assert which(0) == HttpSettings().retries  # opened lazily with the defaults
        which.open(fast, 1)
        assert which(0) == fast.retries
    finally:
        which.close()
    assert which.session is None


def test_called_decorator_and_session_position() -> None:
    @http_process_function()
    def first(session: requests.Session, event: int) -> int:
        return event + (1 if isinstance(session, requests.Session) else 0)

    @http_process_function
    def keyword(event: int, *, session: requests.Session) -> int:
        return event * 2 if isinstance(session, requests.Session) else -1

    @http_process_function
    def by_name(event, session):  # type: ignore[no-untyped-def]
        return type(session).__name__

    @http_process_function
    def defaults_between(event: int, retries: int = 3, session: requests.Session | None = None) -> tuple[int, int]:
        assert isinstance(session, requests.Session)
        return event, retries

    def positional_only(event: int, retries: int = 3, session: requests.Session | None = None, /) -> int:
        assert isinstance(session, requests.Session)
        return event + retries

    po = wrap_injected(positional_only)
    try:
        assert first(1) == 2 and keyword(3) == 6 and by_name(0) == "EvgenSession"
        assert defaults_between(1) == (1, 3)
        assert list(inspect.signature(defaults_between).parameters) == ["event"]
        assert typing.get_type_hints(defaults_between) == {"event": int, "return": tuple[int, int]}
        assert po(1) == 4
    finally:
        for f in (first, keyword, by_name, defaults_between, po):
            f.close()


def test_wrap_injected_finds_the_session_by_annotation() -> None:
    def enrich(event: int, http: requests.Session, retries: int = 3) -> tuple[int, int]:
        return event, retries

    assert session_parameter(enrich) == "http"
    wrapped = wrap_injected(enrich)
    assert wrap_injected(wrapped) is wrapped and http_process_function(wrapped) is wrapped
    assert list(inspect.signature(wrapped).parameters) == ["event"]
    try:
        assert wrapped(1) == (1, 3)
    finally:
        wrapped.close()


def test_unresolvable_annotations_fall_back_to_their_text() -> None:
    def enrich(event: NotDefinedAnywhere, session: requests.Session) -> NotDefinedEither:  # type: ignore[name-defined]  # noqa: F821
        return event

    def optional(event: NotDefinedAnywhere, http: requests.Session | None = None) -> None:  # type: ignore[name-defined]  # noqa: F821
        return None

    assert session_parameter(enrich) == "session"
    assert session_parameter(optional) == "http"


def test_optional_and_subclass_annotations_ask_for_a_session() -> None:
    def optional(event: int, http: typing.Optional[requests.Session] = None) -> None: ...  # noqa: UP007
    def union(event: int, http: requests.Session | None = None) -> None: ...
    def subclass(event: int, http: EvgenSession) -> None: ...
    def other_union(event: int, http: requests.Session | int) -> None: ...

    assert [session_parameter(f) for f in (optional, union, subclass, other_union)] == ["http", "http", "http", None]


def test_bad_signatures_are_contract_errors() -> None:
    def no_session(event: Event) -> None: ...
    def two_sessions(a: requests.Session, b: requests.Session) -> None: ...
    def no_event(session: requests.Session) -> None: ...
    def two_events(a: Event, b: Event, session: requests.Session) -> None: ...

    with pytest.raises(ContractError, match="no_session: no parameter is annotated requests.Session"):
        wrap_injected(no_session)
    with pytest.raises(ContractError, match="needs a parameter annotated requests.Session"):
        http_process_function(no_session)
    with pytest.raises(ContractError, match="only one parameter may be a session, got a, b"):
        wrap_injected(two_sessions)
    with pytest.raises(ContractError, match=r"one event parameter besides the session parameter 'session', got \(session\)"):
        wrap_injected(no_event)
    with pytest.raises(ContractError, match=r"got \(a, b, session\)"):
        wrap_injected(two_events)

    async def async_with_requests(event: Event, session: requests.Session) -> None: ...
    def sync_with_aiohttp(event: Event, session: aiohttp.ClientSession) -> None: ...

    for mismatched in (async_with_requests, sync_with_aiohttp):
        with pytest.raises(ContractError, match="an aiohttp.ClientSession goes with an `async def` process function"):
            wrap_injected(mismatched)


def test_requests_errors_in_the_function_become_http_failures(fast: HttpSettings) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    @http_process_function
    def call(event: int, session: requests.Session) -> int:
        return session.get(f"http://127.0.0.1:{port}/w/api.php?token=secret").status_code

    call.open(fast, 1)
    try:
        with pytest.raises(HttpFailure) as e:
            call(1)
    finally:
        call.close()
    assert e.value.error_type == "http_connection_error"
    assert "secret" not in str(e.value) and "token=REDACTED" in str(e.value)


def test_unopened_function_opens_itself_and_pickles_without_its_session(action_api: FakeActionApi,
                                                                        fast: HttpSettings) -> None:
    process = http_process_function(fetch)
    a, b = events(action_api, range(2, 4))
    assert process(a) == Out(2, 200)  # lazily opened with default settings
    assert process.session is not None
    for copy in (pickle.loads(pickle.dumps(process)), pickle.loads(cloudpickle.dumps(process))):
        assert copy.session is None and copy.__wrapped__ is fetch
        copy.open(fast, 2)
        try:
            assert copy(b) == Out(3, 200)
        finally:
            copy.close()
    process.close()


WORKERS = 32


def test_workers_share_one_pooled_session_without_serializing(action_api: FakeActionApi, fast: HttpSettings) -> None:
    """32 workers, 50 ms latency: the server sees all 32 requests in flight at once, over 32
    pooled connections that the next round reuses (pool >= workers, no global lock)."""
    action_api.latency_s = 0.05
    action_api.rendezvous(WORKERS, timeout_s=20)
    process = http_process_function(fetch)
    process.open(fast.model_copy(update={"read_timeout_s": 30.0}), pool_size=WORKERS)
    try:
        with ThreadPoolExecutor(WORKERS) as pool:
            first = list(pool.map(process, events(action_api, range(WORKERS))))
            second = list(pool.map(process, events(action_api, range(WORKERS, 2 * WORKERS))))
    finally:
        process.close()
    assert [o.status for o in first + second] == [200] * (2 * WORKERS)
    assert action_api.max_in_flight == WORKERS
    assert action_api.total_requests == 2 * WORKERS  # nothing was retried
    assert action_api.connections == WORKERS  # the second round reused the pooled connections


def test_a_pool_smaller_than_the_workers_churns_connections(action_api: FakeActionApi, query: Query) -> None:
    """The control for the test above: with 4 pooled connections for 16 workers, the
    surplus connections are discarded after each round and reopened in the next."""
    workers = 16
    action_api.rendezvous(workers, timeout_s=20)
    s = requests.Session()
    s.mount("http://", HTTPAdapter(pool_maxsize=4))
    url = action_api.endpoint("x")

    def call(rev_id: int) -> int:
        return s.get(url, params=query(rev_id), timeout=30).status_code

    with ThreadPoolExecutor(workers) as pool:
        statuses = list(pool.map(call, range(workers))) + list(pool.map(call, range(workers, 2 * workers)))
    assert statuses == [200] * (2 * workers)
    assert action_api.connections > workers

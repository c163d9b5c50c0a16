"""Async HTTP: an ``aiohttp`` session on an event loop, with evgen's failure classes.

A process function written ``async def`` asks for an ``aiohttp.ClientSession`` and gets one
built from the job's ``http:`` section (:func:`build_async_session`): same timeouts, headers,
TLS settings and pool size as the ``requests`` session. All of its requests run on one event
loop (the operator's :class:`DrivenLoop`, or a :class:`LoopThread`), which spends a fraction of
the CPU per request of a thread per request under one GIL (docs/benchmarks.md, section 3).
:func:`send_async` is :func:`evgen.http.send` for it: retries by failure class
(:class:`~evgen.http.RetryBudget`), redirects within ``max_redirects`` without credentials
leaving their origin, and :class:`HttpFailure` for everything else. (The credential headers
among ``http.headers``, e.g. ``Authorization``, are sent by :func:`send_async` and
:class:`~evgen.mediawiki.AsyncActionApi`, not by the bare session.)

    async def process(event: PageChange, session: aiohttp.ClientSession) -> PageContentChange:
        response = await send_async(session, "GET", url, params={"action": "query", ...})
        body = response.json()
"""

from __future__ import annotations

import asyncio
import json
import os
import ssl
import threading
from collections.abc import Awaitable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urljoin

import aiohttp
import yarl
from multidict import CIMultiDict, CIMultiDictProxy
from urllib3.exceptions import InvalidHeader

from evgen.http.failures import FailureCode, HttpFailure, failure_for_status, redact_url
from evgen.http.retry import RetryBudget, RetryPolicy
from evgen.http.session import url_origin
from evgen.http.settings import HttpSettings

T = TypeVar("T")

#: The settings a session was built with (for :func:`send_async`'s retries and redirects).
_SETTINGS_ATTRIBUTE = "_evgen_http_settings"


class LoopThread:
    """An asyncio event loop running in a daemon thread; :meth:`run` a coroutine from any other thread.

        loop = LoopThread("evgen-http")
        assert loop.run(asyncio.sleep(0, "done")) == "done"
        loop.close()
    """

    def __init__(self, name: str = "evgen-http-loop") -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        self._thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run ``coroutine`` on the loop and wait for its result (or exception) in this thread."""
        if threading.current_thread() is self._thread:
            coroutine.close()
            raise RuntimeError("LoopThread.run on the loop's own thread would wait for itself; await instead")
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result()

    def close(self) -> None:
        """Stop the loop and its thread (idempotent)."""
        if self.loop.is_closed():
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join()
        self.loop.close()


class DrivenLoop:
    """An asyncio event loop with no thread of its own: the thread that owns it runs it in steps.

    The runtime's operator runs its ``async`` steps on one: :meth:`poll` as each input arrives
    (one pass over the ready I/O and callbacks, never blocking), :meth:`run` when it must wait
    for results. In thread mode the operator's Python then stays on Flink's task thread, which
    otherwise takes turns at the GIL with a :class:`LoopThread` at every JVM call and socket
    operation of either (at 64 workers, 0.67–0.79 of the Little's-law bound against 0.56–0.67,
    side by side). Requests progress only while the owner runs the loop: on inputs, and on the
    batch timers, which wait for their batch.

        loop = DrivenLoop()
        task = loop.loop.create_task(asyncio.sleep(0.01, "done"))
        loop.poll()                        # the task starts; poll returns at once
        assert loop.run(task) == "done"    # runs the loop until the task is done
        loop.close()
    """

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()

    def run(self, awaitable: Awaitable[T]) -> T:
        """Run the loop on this thread until ``awaitable`` is done; its result."""
        return self.loop.run_until_complete(awaitable)

    def poll(self) -> None:
        """Run the callbacks that are ready, I/O that is ready included, once; never wait."""
        self.loop.call_soon(self.loop.stop)
        self.loop.run_forever()

    def cancel(self) -> None:
        """Cancel every task still running and let them finish (the loop stays open)."""
        pending = asyncio.all_tasks(self.loop) if not self.loop.is_closed() else set()
        for task in pending:
            task.cancel()
        if pending:
            self.loop.run_until_complete(asyncio.wait(pending))

    def close(self) -> None:
        """Cancel what is still running, let it finish, close the loop (idempotent)."""
        if self.loop.is_closed():
            return
        self.cancel()
        self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        self.loop.close()


def _credential_names(settings: HttpSettings) -> set[str]:
    return {"authorization", *(name.lower() for name in settings.credential_headers)}


def _headers(settings: HttpSettings, *, credentials: bool) -> dict[str, str]:
    """``settings.headers`` that are credential headers (or those that are not)."""
    names = _credential_names(settings)
    return {k: v for k, v in settings.headers.items() if (k.lower() in names) == credentials}


def _ssl(settings: HttpSettings) -> ssl.SSLContext | bool:
    """The trust requests would use: a configured CA bundle; else, for ``verify_tls: true``,
    ``REQUESTS_CA_BUNDLE`` / ``CURL_CA_BUNDLE`` from the environment, else certifi's bundle."""
    if settings.verify_tls is False:
        return False
    if isinstance(settings.verify_tls, str):
        return ssl.create_default_context(cafile=settings.verify_tls)
    import certifi

    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or certifi.where()
    return ssl.create_default_context(cafile=bundle)


async def build_async_session(settings: HttpSettings | None = None, pool_size: int = 1) -> aiohttp.ClientSession:
    """An ``aiohttp.ClientSession`` for ``pool_size`` concurrent calls, configured from ``settings``
    (create it on the loop that will use it).

        session = await build_async_session(HttpSettings(retries=2), pool_size=64)
    """
    settings = settings or HttpSettings()
    connector = aiohttp.TCPConnector(limit=0, limit_per_host=settings.pool_maxsize(pool_size), ssl=_ssl(settings))
    session = aiohttp.ClientSession(
        connector=connector,
        timeout=aiohttp.ClientTimeout(total=None, sock_connect=settings.connect_timeout_s,
                                      sock_read=settings.read_timeout_s),
        # Credential headers are not session defaults (a request could not leave them out):
        # send_async adds them, and drops them when a redirect leaves the origin.
        headers={"User-Agent": settings.user_agent, **_headers(settings, credentials=False)},
        # Not trust_env: aiohttp would then read the proxy variables and ~/.netrc on every request
        # (most of its CPU per request); send_async reads the proxies once per origin instead.
        trust_env=False,
    )
    session.__dict__[_SETTINGS_ATTRIBUTE] = settings  # (setattr would warn: aiohttp discourages new attributes)
    return session


def _proxy(session: aiohttp.ClientSession, url: str) -> str | None:
    """The proxy the environment names for ``url`` (HTTP_PROXY, HTTPS_PROXY, NO_PROXY, ...), read
    once per origin and session, as :class:`~evgen.http.EvgenSession` does."""
    from requests.utils import get_environ_proxies, select_proxy

    cache: dict[tuple[str, str, int | None], str | None] = session.__dict__.setdefault("_evgen_proxies", {})
    origin = url_origin(url)
    if origin not in cache:
        cache[origin] = select_proxy(url, get_environ_proxies(url))
    return cache[origin]


def session_settings(session: aiohttp.ClientSession) -> HttpSettings:
    """The settings ``session`` was built with (defaults for a session built elsewhere)."""
    return session.__dict__.get(_SETTINGS_ATTRIBUTE) or HttpSettings()


@dataclass(frozen=True)
class AsyncResponse:
    """A complete response: status, final URL, headers and the whole body."""

    status: int
    url: str
    headers: CIMultiDictProxy[str]
    content: bytes

    def json(self) -> Any:
        """The body parsed as JSON (``ValueError`` if it is not)."""
        return json.loads(self.content)

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")


def failure_for_aiohttp(exc: BaseException, url: str | None = None) -> HttpFailure:
    """Classify an exception aiohttp raised for a request to ``url`` (else the URL the exception
    names); connection failures and timeouts are ``retryable`` (the request may be sent again).

        >>> failure_for_aiohttp(aiohttp.SocketTimeoutError(), "http://x/").error_type
        'http_read_timeout'
    """
    if url is None:
        request_url = getattr(getattr(exc, "request_info", None), "url", None) or getattr(exc, "url", None)
        url = str(request_url) if request_url is not None else "<unknown url>"
    if isinstance(exc, (aiohttp.ClientConnectorCertificateError, aiohttp.ClientSSLError)):
        return HttpFailure(FailureCode.HTTP_TLS_ERROR, url, detail=_short(exc))
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return HttpFailure(FailureCode.HTTP_CONNECT_TIMEOUT, url, detail="connect timed out", retryable=True)
    if isinstance(exc, (aiohttp.SocketTimeoutError, asyncio.TimeoutError)):
        return HttpFailure(FailureCode.HTTP_READ_TIMEOUT, url, detail="read timed out", retryable=True)
    if isinstance(exc, (aiohttp.InvalidURL, ValueError)):
        return HttpFailure(FailureCode.HTTP_INVALID_URL, url, detail=_short(exc))
    if isinstance(exc, (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError)):
        return HttpFailure(FailureCode.HTTP_CONNECTION_ERROR, url, detail=_short(exc), retryable=True)
    return HttpFailure(FailureCode.HTTP_ERROR, url, detail=f"{type(exc).__name__}: {_short(exc)}")


def _short(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300] or type(exc).__name__


async def send_async(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    *,
    params: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> AsyncResponse:
    """One request, read completely; the usable 2xx answer, or :class:`HttpFailure`.

    Connection failures, timeouts and the retryable statuses (``Retry-After`` honoured) are
    retried per the session's settings, for the methods in ``retry_methods``. Redirects are
    followed up to ``max_redirects``; a header in ``credential_headers`` never follows one to
    another origin.
    """
    settings = session_settings(session)
    method = method.upper()
    budget = RetryBudget(settings, method)
    query = _query(params)
    while True:
        try:
            return await _follow(session, settings, method, url, query, headers)
        except HttpFailure as failure:
            if method not in settings.retry_methods:
                failure.retryable = False
            wait = budget.wait_before_retry(failure)
        if wait > 0:
            await asyncio.sleep(wait)


def _query(params: Mapping[str, Any] | None) -> list[tuple[str, str]] | None:
    """``params`` as requests encodes them: ``None`` values left out, lists repeated, the rest ``str``.

        >>> _query({"a": None, "b": True, "c": [1, 2], "d": "x"})
        [('b', 'True'), ('c', '1'), ('c', '2'), ('d', 'x')]
    """
    if not params:
        return None
    pairs = []
    for key, value in params.items():
        for item in value if isinstance(value, (list, tuple)) else [value]:
            if item is not None:
                pairs.append((str(key), item if isinstance(item, str) else str(item)))
    return pairs


async def _follow(session: aiohttp.ClientSession, settings: HttpSettings, method: str, url: str,
                  params: list[tuple[str, str]] | None, headers: Mapping[str, str] | None) -> AsyncResponse:
    sent = CIMultiDict({**_headers(settings, credentials=True), **(headers or {})})
    redirects = 0
    while True:
        response = await _once(session, method, url, params, sent)
        location = response.headers.get("Location")
        if not (300 <= response.status < 400 and location and redirects < settings.max_redirects):
            break
        redirects += 1
        target = urljoin(response.url, location)
        if url_origin(target) != url_origin(response.url):
            for name in _credential_names(settings):
                sent.popall(name, None)
        url, params = target, None
        if (response.status in (302, 303) and method != "HEAD") or (response.status == 301 and method == "POST"):
            method = "GET"  # as requests' rebuild_method does
    failure = failure_for_status(response.status, response.url)
    if failure is None:
        return response
    if failure.error_type == FailureCode.HTTP_REDIRECT:
        failure.detail = f"Location: {redact_url(location)}" if location else None
    elif failure.error_type == FailureCode.HTTP_RETRYABLE_STATUS:
        failure.retryable = True
        retry_after = response.headers.get("Retry-After")
        if retry_after:
            try:
                failure.retry_after_s = RetryPolicy.from_settings(settings).parse_retry_after(retry_after)
            except InvalidHeader:  # an unreadable Retry-After: the backoff applies
                pass
    raise failure


async def _once(session: aiohttp.ClientSession, method: str, url: str, params: list[tuple[str, str]] | None,
                headers: CIMultiDict[str]) -> AsyncResponse:
    try:
        async with session.request(method, url, params=params, headers=headers, allow_redirects=False,
                                   proxy=_proxy(session, url)) as response:
            content = await response.read()
            return AsyncResponse(response.status, str(response.url), response.headers, content)
    except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as e:
        raise failure_for_aiohttp(e, _with_query(url, params)) from e


def _with_query(url: str, params: list[tuple[str, str]] | None) -> str:
    """``url`` with ``params`` as aiohttp sends them (for failure messages; redacted there)."""
    if not params:
        return url
    try:
        return str(yarl.URL(url).update_query(params))
    except (TypeError, ValueError):
        return url

"""Retry policy: urllib3 ``Retry`` for connections and statuses, a small loop for bodies.

urllib3's ``Retry`` retries connect errors/timeouts, read timeouts and the statuses
408/500/502/503/504 (exponential backoff with jitter, ``Retry-After`` honoured and capped).
It cannot look at bodies, so :func:`call_with_retries` retries the failures only a body shows
(a 200 with ``badrevids`` or the ``maxlag`` error, a body cut short) with the same threshold
and backoff.

    >>> RetryPolicy.from_settings(HttpSettings(retries=2)).total
    2
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import urllib3
from urllib3.util.retry import RequestHistory, Retry

from evgen.http.failures import RETRYABLE_STATUSES, HttpFailure
from evgen.http.settings import HttpSettings

log = logging.getLogger(__name__)

T = TypeVar("T")


class RetryPolicy(Retry):
    """urllib3 ``Retry`` that retries exactly the enrichment table's classes.

    ``Retry-After`` is honoured for the retried statuses and capped at ``retry_after_max_s``;
    unlike plain urllib3, a 413/429 with ``Retry-After`` is *not* retried (other 4xx fail at once).
    """

    RETRY_AFTER_STATUS_CODES = frozenset()

    def __init__(self, *args: Any, retry_after_max_s: float = 30.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.retry_after_max_s = retry_after_max_s

    def new(self, **kw: Any) -> RetryPolicy:
        kw.setdefault("retry_after_max_s", self.retry_after_max_s)
        return super().new(**kw)

    def get_retry_after(self, response: urllib3.BaseHTTPResponse) -> float | None:
        seconds = super().get_retry_after(response)
        return None if seconds is None else min(seconds, self.retry_after_max_s)

    @classmethod
    def from_settings(cls, settings: HttpSettings) -> RetryPolicy:
        """The policy ``settings`` describe (connect, read and status retries share one budget)."""
        return cls(
            total=settings.retries,
            connect=settings.retries,
            read=settings.retries,
            status=settings.retries,
            other=0,
            redirect=None,
            allowed_methods=frozenset(settings.retry_methods),
            status_forcelist=RETRYABLE_STATUSES,
            backoff_factor=settings.backoff_factor,
            backoff_jitter=settings.backoff_jitter,
            backoff_max=settings.backoff_max_s,
            respect_retry_after_header=True,
            raise_on_status=False,
            raise_on_redirect=False,
            retry_after_max_s=settings.retry_after_max_s,
        )


class RetryBudget:
    """The retries one call has left, shared by every retried failure class.

    Same threshold and backoff as the urllib3 policy; a failure's ``retry_after_s`` (e.g.
    a ``Retry-After`` or ``maxlag`` wait) replaces the backoff, capped at ``retry_after_max_s``.

        budget = RetryBudget(settings)
        wait = budget.wait_before_retry(failure)    # or re-raises ``failure`` as final
    """

    def __init__(self, settings: HttpSettings, method: str = "GET") -> None:
        self.settings = settings
        self.method = method
        self._retry: RetryPolicy | None = None  # built at the first retryable failure (most calls have none)

    def wait_before_retry(self, failure: HttpFailure) -> float:
        """Seconds to wait before the next attempt; raises ``failure`` (with ``attempts``) when it
        is not retryable or no retry is left."""
        if not failure.retryable:
            raise failure
        retry = self._retry or RetryPolicy.from_settings(self.settings)
        history = (*retry.history, RequestHistory(self.method, failure.url, None, failure.status, None))
        self._retry = retry = retry.new(total=(retry.total or 0) - 1, history=history)
        if retry.is_exhausted():
            failure.attempts = len(history)
            failure.retryable = False
            raise failure
        if failure.retry_after_s is not None and failure.retry_after_s > 0:
            wait = min(failure.retry_after_s, self.settings.retry_after_max_s)
        else:
            wait = retry.get_backoff_time()
        log.debug("retrying after %s (%.2f s)", failure.error_type, wait)
        return wait


def call_with_retries(
    attempt: Callable[[], T], settings: HttpSettings, *, sleep: Callable[[float], None] = time.sleep
) -> T:
    """Call ``attempt()``, retrying the ``retryable`` :class:`HttpFailure` it raises
    (:class:`RetryBudget`). The final failure carries ``attempts``.

        slots = call_with_retries(lambda: fetch_once(rev_id), settings)
    """
    budget = RetryBudget(settings)
    while True:
        try:
            return attempt()
        except HttpFailure as failure:
            wait = budget.wait_before_retry(failure)
        if wait > 0:
            sleep(wait)


async def call_with_retries_async(attempt: Callable[[], Awaitable[T]], settings: HttpSettings) -> T:
    """:func:`call_with_retries` for coroutines: ``await attempt()``, waiting with ``asyncio.sleep``.

        revision = await call_with_retries_async(lambda: fetch_once(rev_id), settings)
    """
    budget = RetryBudget(settings)
    while True:
        try:
            return await attempt()
        except HttpFailure as failure:
            wait = budget.wait_before_retry(failure)
        if wait > 0:
            await asyncio.sleep(wait)

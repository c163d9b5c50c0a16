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

import logging
import time
from collections.abc import Callable
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


def call_with_retries(
    attempt: Callable[[], T], settings: HttpSettings, *, sleep: Callable[[float], None] = time.sleep
) -> T:
    """Call ``attempt()``, retrying the ``retryable`` :class:`HttpFailure` it raises.

    Same threshold and backoff as the urllib3 policy; a failure's ``retry_after_s`` (e.g. the
    ``maxlag`` wait) replaces the backoff, capped at ``retry_after_max_s``. The final failure
    carries ``attempts``.

        slots = call_with_retries(lambda: fetch_once(rev_id), settings)
    """
    retry: RetryPolicy | None = None  # built at the first retryable failure (most calls have none)
    while True:
        try:
            return attempt()
        except HttpFailure as failure:
            if not failure.retryable:
                raise
            retry = retry or RetryPolicy.from_settings(settings)
            history = (*retry.history, RequestHistory("GET", failure.url, None, failure.status, None))
            retry = retry.new(total=(retry.total or 0) - 1, history=history)
            if retry.is_exhausted():
                failure.attempts = len(history)
                failure.retryable = False
                raise
            if failure.retry_after_s is not None and failure.retry_after_s > 0:
                wait = min(failure.retry_after_s, settings.retry_after_max_s)
            else:
                wait = retry.get_backoff_time()
            log.debug("retrying after %s (%.2f s)", failure.error_type, wait)
            if wait > 0:
                sleep(wait)

"""Failure classes of HTTP calls: stable ``error_type`` codes and their classification.

Statuses and ``requests`` exceptions map onto the mediawiki-event-enrichment table; each
failure is an :class:`HttpFailure` whose one-line message names the code, the status and the
URL with its secrets redacted.

    >>> HttpFailure(FailureCode.HTTP_CLIENT_ERROR, "https://x.org/w/api.php?token=s3cr3t", status=404).message
    'http_client_error: HTTP 404 for https://x.org/w/api.php?token=REDACTED'
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests
from urllib3.exceptions import (
    ConnectTimeoutError,
    MaxRetryError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)

#: The statuses retried up to ``HttpSettings.retries`` times (the enrichment table).
RETRYABLE_STATUSES: frozenset[int] = frozenset({408, 500, 502, 503, 504})


class FailureCode(StrEnum):
    """Stable ``error_type`` codes of HTTP failures (documented in the README)."""

    HTTP_CONNECT_TIMEOUT = "http_connect_timeout"
    HTTP_CONNECTION_ERROR = "http_connection_error"
    HTTP_READ_TIMEOUT = "http_read_timeout"
    HTTP_RETRYABLE_STATUS = "http_retryable_status"
    HTTP_NO_CONTENT = "http_no_content"
    HTTP_REDIRECT = "http_redirect"
    HTTP_CLIENT_ERROR = "http_client_error"
    HTTP_SERVER_ERROR = "http_server_error"
    HTTP_UNEXPECTED_STATUS = "http_unexpected_status"
    HTTP_TLS_ERROR = "http_tls_error"
    HTTP_INVALID_URL = "http_invalid_url"
    HTTP_ERROR = "http_error"
    HTTP_INVALID_BODY = "http_invalid_body"
    MW_BADREVIDS = "mw_badrevids"
    MW_MAXLAG = "mw_maxlag"
    MW_API_ERROR = "mw_api_error"


_SECRET_PARAM = re.compile(
    r"(token|key|secret|pass|password|auth|signature|sig|session|credential|cookie)", re.IGNORECASE
)


def redact_url(url: str) -> str:
    """``url`` without secrets: no userinfo, and secret-looking query values replaced.

        >>> redact_url("https://bob:pw@x.org/a?revids=1&access_token=abc")
        'https://x.org/a?revids=1&access_token=REDACTED'
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable url>"
    netloc = parts.netloc.rpartition("@")[2]
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode(
            [(k, "REDACTED" if _SECRET_PARAM.search(k) else v) for k, v in pairs], safe="|*:/"
        )
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


class HttpFailure(Exception):
    """An HTTP call failed; ``error_type`` names the failure class (a :class:`FailureCode`).

    ``retryable`` marks failures :func:`call_with_retries` retries itself (those urllib3
    cannot see); ``retry_after_s`` is the wait the server asked for, if any.
    """

    def __init__(
        self,
        error_type: FailureCode | str,
        url: str,
        *,
        status: int | None = None,
        detail: str | None = None,
        retryable: bool = False,
        retry_after_s: float | None = None,
        attempts: int | None = None,
    ) -> None:
        self.error_type = str(error_type)
        self.url = redact_url(url)
        self.status = status
        self.detail = detail
        self.retryable = retryable
        self.retry_after_s = retry_after_s
        self.attempts = attempts
        super().__init__(self.message)

    @property
    def message(self) -> str:
        """One line: ``<code>: HTTP <status> for <url>`` plus the detail, if any."""
        what = f"HTTP {self.status}" if self.status is not None else "no HTTP response"
        text = f"{self.error_type}: {what} for {self.url}"
        extra = [e for e in (self.detail, f"{self.attempts} attempts" if self.attempts else None) if e]
        if extra:
            text += f" ({'; '.join(extra)})"
        return " ".join(text.split())

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_failure, (self.__dict__.copy(),))


def _rebuild_failure(state: dict[str, Any]) -> HttpFailure:
    failure = HttpFailure.__new__(HttpFailure)
    failure.__dict__.update(state)
    Exception.__init__(failure, failure.message)
    return failure


def failure_for_status(status: int, url: str, *, attempts: int | None = None) -> HttpFailure | None:
    """The failure a final response status means, or None for a usable 2xx.

        >>> failure_for_status(503, "http://x/").error_type
        'http_retryable_status'
        >>> failure_for_status(200, "http://x/") is None
        True
    """
    if status == 204:
        code = FailureCode.HTTP_NO_CONTENT
    elif 200 <= status < 300:
        return None
    elif 300 <= status < 400:
        code = FailureCode.HTTP_REDIRECT
    elif status in RETRYABLE_STATUSES:
        code = FailureCode.HTTP_RETRYABLE_STATUS
    elif 400 <= status < 500:
        code = FailureCode.HTTP_CLIENT_ERROR
    elif 500 <= status < 600:
        code = FailureCode.HTTP_SERVER_ERROR
    else:
        code = FailureCode.HTTP_UNEXPECTED_STATUS
    return HttpFailure(code, url, status=status, attempts=attempts)


def failure_for_exception(exc: requests.RequestException, url: str | None = None) -> HttpFailure:
    """Classify an exception requests raised (after urllib3's retries, if any).

    ``url`` is used when the exception does not carry its request.

    A read timeout or a broken connection while the *body* is read escapes urllib3's retries;
    such failures are marked ``retryable`` so :func:`call_with_retries` retries them.
    """
    request = getattr(exc, "request", None)
    url = getattr(request, "url", None) or url or "<unknown url>"
    if isinstance(exc, requests.TooManyRedirects) and exc.response is not None:
        return HttpFailure(
            FailureCode.HTTP_REDIRECT,
            exc.response.url or url,
            status=exc.response.status_code,
            detail=_location_detail(exc.response),
        )
    if isinstance(exc, requests.exceptions.SSLError):
        return HttpFailure(FailureCode.HTTP_TLS_ERROR, url, detail=_short(exc))
    if isinstance(exc, (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
                        requests.exceptions.InvalidSchema)):
        return HttpFailure(FailureCode.HTTP_INVALID_URL, url, detail=_short(exc))
    if isinstance(exc, requests.ConnectTimeout):
        return HttpFailure(FailureCode.HTTP_CONNECT_TIMEOUT, url, detail="connect timed out")
    if isinstance(exc, requests.ReadTimeout):
        return HttpFailure(FailureCode.HTTP_READ_TIMEOUT, url, detail="read timed out")
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return HttpFailure(FailureCode.HTTP_CONNECTION_ERROR, url, detail="connection broken while reading the body",
                           retryable=True)
    if isinstance(exc, requests.ConnectionError):
        cause = exc.args[0] if exc.args else None
        after_retries = isinstance(cause, MaxRetryError)
        reason = cause.reason if isinstance(cause, MaxRetryError) else cause
        if isinstance(reason, ConnectTimeoutError) and not isinstance(reason, NewConnectionError):
            return HttpFailure(FailureCode.HTTP_CONNECT_TIMEOUT, url, detail="connect timed out")
        if isinstance(reason, ReadTimeoutError):
            return HttpFailure(FailureCode.HTTP_READ_TIMEOUT, url, detail="read timed out",
                               retryable=not after_retries)
        if isinstance(reason, ProtocolError):
            return HttpFailure(FailureCode.HTTP_CONNECTION_ERROR, url, detail=_short(reason),
                               retryable=not after_retries)
        return HttpFailure(FailureCode.HTTP_CONNECTION_ERROR, url, detail=_short(reason or exc))
    if isinstance(exc, requests.exceptions.RetryError):
        return HttpFailure(FailureCode.HTTP_RETRYABLE_STATUS, url, detail=_short(exc))
    return HttpFailure(FailureCode.HTTP_ERROR, url, detail=f"{type(exc).__name__}: {_short(exc)}")


def _short(exc: object) -> str:
    """A one-line reason without object reprs, pool names or the request URL (it may hold secrets)."""
    if isinstance(exc, requests.RequestException) and exc.args and isinstance(exc.args[0], BaseException):
        exc = exc.args[0]
    if isinstance(exc, MaxRetryError) and exc.reason is not None:
        exc = exc.reason
    text = str(exc)
    text = re.sub(r"<[^<>]* object at 0x[0-9a-fA-F]+>:?\s*", "", text)
    text = re.sub(r"HTTPS?ConnectionPool\([^)]*\):\s*", "", text)
    text = re.sub(r"\s*with url: \S+", "", text)
    return " ".join(text.split())[:300]


def _location_detail(response: requests.Response) -> str | None:
    location = response.headers.get("Location")
    return f"Location: {redact_url(location)}" if location else None


def check_response(response: requests.Response) -> requests.Response:
    """Return ``response`` if it is a usable 2xx; raise its :class:`HttpFailure` otherwise."""
    retries = getattr(response.raw, "retries", None)
    attempts = len(retries.history) + 1 if retries is not None and retries.history else None
    failure = failure_for_status(response.status_code, response.url, attempts=attempts)
    if failure is not None:
        if failure.error_type == FailureCode.HTTP_REDIRECT:
            failure.detail = _location_detail(response)
        raise failure
    return response

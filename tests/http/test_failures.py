"""evgen.http.failures: status and exception classes, stable codes, redacted one-line messages."""

from __future__ import annotations

import pickle
import socket

import cloudpickle
import pytest
import requests

from evgen.http import FailureCode, HttpFailure, HttpSettings, build_session, failure_for_status, redact_url, send


@pytest.mark.parametrize(
    ("status", "code"),
    [(204, "http_no_content"), (301, "http_redirect"), (302, "http_redirect"), (304, "http_redirect"),
     (307, "http_redirect"), (408, "http_retryable_status"), (500, "http_retryable_status"),
     (502, "http_retryable_status"), (503, "http_retryable_status"), (504, "http_retryable_status"),
     (400, "http_client_error"), (401, "http_client_error"), (404, "http_client_error"),
     (429, "http_client_error"), (501, "http_server_error"), (505, "http_server_error"),
     (599, "http_server_error"), (102, "http_unexpected_status")],
)
def test_status_classes(status: int, code: str) -> None:
    failure = failure_for_status(status, "http://x/api.php")
    assert failure is not None and failure.error_type == code and failure.status == status
    assert failure.message == f"{code}: HTTP {status} for http://x/api.php"


@pytest.mark.parametrize("status", [200, 201, 206])
def test_usable_statuses(status: int) -> None:
    assert failure_for_status(status, "http://x/") is None


def test_urls_are_redacted() -> None:
    url = "https://bob:hunter2@en.wikipedia.org/w/api.php?revids=1&token=abc&api_key=k&Password=p&titles=X"
    assert redact_url(url) == (
        "https://en.wikipedia.org/w/api.php?revids=1&token=REDACTED&api_key=REDACTED&Password=REDACTED&titles=X"
    )
    failure = HttpFailure("http_client_error", url, status=403)
    assert "hunter2" not in failure.message and "abc" not in failure.message
    assert failure.url.startswith("https://en.wikipedia.org/")


def test_failure_is_one_line_and_picklable() -> None:
    failure = HttpFailure(FailureCode.MW_MAXLAG, "http://x/?a=1", status=200, detail="Waiting\nfor db: 3 s",
                          attempts=4, retry_after_s=5.0)
    assert failure.message == "mw_maxlag: HTTP 200 for http://x/?a=1 (Waiting for db: 3 s; 4 attempts)"
    assert str(failure) == failure.message and type(failure.error_type) is str
    for dumps in (pickle.dumps, cloudpickle.dumps):
        copy = pickle.loads(dumps(failure))
        assert (copy.error_type, copy.status, copy.url, copy.attempts, str(copy)) == (
            "mw_maxlag", 200, "http://x/?a=1", 4, failure.message)


def test_refused_connections_are_connection_errors_without_secrets(fast: HttpSettings) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    with pytest.raises(HttpFailure) as e:
        send(build_session(fast), "GET", f"http://127.0.0.1:{port}/w/api.php", params={"token": "s3cret"})
    assert e.value.error_type == "http_connection_error" and e.value.status is None
    assert "Connection refused" in str(e.value)
    assert "s3cret" not in str(e.value) and "token=REDACTED" in str(e.value)
    assert isinstance(e.value.__cause__, requests.ConnectionError)


@pytest.mark.parametrize(
    ("url", "code"),
    [("not a url", "http_invalid_url"), ("ftp://127.0.0.1/x", "http_invalid_url"),
     ("http://", "http_invalid_url")],
)
def test_unusable_urls(url: str, code: str) -> None:
    with pytest.raises(HttpFailure) as e:
        send(build_session(HttpSettings()), "GET", url)
    assert e.value.error_type == code

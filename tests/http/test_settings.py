"""evgen.http.settings: the ``http:`` section of a job config."""

from __future__ import annotations

import pytest

from evgen import __version__
from evgen.errors import ConfigError
from evgen.http import HttpSettings


def test_defaults_are_safe() -> None:
    s = HttpSettings()
    assert s.verify_tls is True
    assert s.user_agent.startswith(f"evgen/{__version__} (")
    assert s.credential_headers == ("Authorization",)
    assert s.max_redirects == 0
    assert s.retry_methods == ("GET", "HEAD")
    assert s.timeout == (s.connect_timeout_s, s.read_timeout_s)


def test_from_job_config() -> None:
    s = HttpSettings.from_job_config(
        {"http": {"retries": 5, "user_agent": "my-job/1 (me@example.org)", "headers": {"X-Api-Key": "k"},
                  "credential_headers": ["X-Api-Key"], "pool_size": 64, "retry_methods": ["get", "post"]}}
    )
    assert (s.retries, s.user_agent, s.pool_size) == (5, "my-job/1 (me@example.org)", 64)
    assert set(s.credential_headers) == {"Authorization", "X-Api-Key"}  # Authorization is always one
    assert s.retry_methods == ("GET", "POST")
    assert HttpSettings.from_job_config({}) == HttpSettings()
    assert HttpSettings.from_job_config({"http": None}) == HttpSettings()
    assert HttpSettings.model_validate({"retries": 1}).retries == 1


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ({"retrys": 3}, "retrys: unknown key"),
        ({"retries": -1}, "retries: Input should be greater than or equal to 0"),
        ({"retries": "many"}, "retries: Input should be a valid integer"),
        ({"connect_timeout_s": 0}, "connect_timeout_s: Input should be greater than 0"),
        ({"user_agent": "a\r\nX-Evil: 1"}, "user_agent: Value error, must be one line"),
        ({"headers": {"X-A": "1\n2"}}, "headers: Value error, header 'X-A' must be one line"),
        ({"headers": {"bad header": "1"}}, "is not a valid header name"),
        ({"verify_tls": "/nonexistent/ca.pem"}, "CA bundle '/nonexistent/ca.pem' does not exist"),
        ({"pool_size": 0}, "pool_size: Input should be greater than 0"),
        ("fast", "http: must be a mapping, got str"),
    ],
)
def test_bad_settings_are_one_line_config_errors(section: object, expected: str) -> None:
    with pytest.raises(ConfigError) as e:
        HttpSettings.from_job_config({"http": section})
    assert expected in str(e.value)
    assert str(e.value).startswith("http: ")
    assert "\n" not in str(e.value)


def test_pool_is_at_least_the_worker_count() -> None:
    assert HttpSettings().pool_maxsize(32) == 32
    assert HttpSettings(pool_size=8).pool_maxsize(32) == 32
    assert HttpSettings(pool_size=64).pool_maxsize(32) == 64
    assert HttpSettings().pool_maxsize(0) == 1

"""``HttpSettings``: the ``http:`` section of a job config.

    >>> HttpSettings.from_job_config({"http": {"retries": 5, "read_timeout_s": 10}}).timeout
    (5.0, 10.0)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import requests
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from evgen import __version__
from evgen.errors import ConfigError, summarize

DEFAULT_USER_AGENT = (
    f"evgen/{__version__} (set http.user_agent to name your job and a contact) "
    f"python-requests/{requests.__version__}"
)

_HEADER_VALUE = re.compile(r"^[^\r\n]*$")


class HttpSettings(BaseModel):
    """The ``http:`` section of a job config; every field has a sensible default.

        >>> HttpSettings.from_job_config({"http": {"retries": 5}}).retries
        5
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    connect_timeout_s: float = Field(default=5.0, gt=0, description="seconds to establish a TCP/TLS connection")
    read_timeout_s: float = Field(default=30.0, gt=0, description="seconds to wait for each read of the response")
    user_agent: str = Field(default=DEFAULT_USER_AGENT, min_length=1, description="User-Agent header")
    retries: int = Field(default=3, ge=0, description="retry threshold: retries after the first attempt, per request")
    backoff_factor: float = Field(default=0.5, ge=0, description="exponential backoff: factor * 2**(n-1) s before retry n>=2")
    backoff_jitter: float = Field(default=0.5, ge=0, description="up to this many random seconds added to each backoff")
    backoff_max_s: float = Field(default=10.0, ge=0, description="longest backoff between two attempts")
    retry_after_max_s: float = Field(default=30.0, ge=0, description="longest wait a Retry-After or maxlag asks for")
    verify_tls: bool | str = Field(default=True, description="verify TLS certificates; or a CA bundle path")
    headers: dict[str, str] = Field(default_factory=dict, description="extra headers sent with every request")
    credential_headers: tuple[str, ...] = Field(
        default=("Authorization",), description="headers dropped when a redirect leaves the origin"
    )
    max_redirects: int = Field(default=0, ge=0, description="redirects followed; 0: a 3xx is the http_redirect failure")
    retry_methods: tuple[str, ...] = Field(default=("GET", "HEAD"), description="methods retried after a read error/status")
    pool_size: int | None = Field(default=None, gt=0, description="connections kept per host (None: the worker count)")

    @field_validator("user_agent")
    @classmethod
    def _one_line(cls, value: str) -> str:
        if not _HEADER_VALUE.match(value):
            raise ValueError("must be one line")
        return value

    @field_validator("headers")
    @classmethod
    def _one_line_headers(cls, value: dict[str, str]) -> dict[str, str]:
        for name, header in value.items():
            if not re.fullmatch(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+", name):
                raise ValueError(f"{name!r} is not a valid header name")
            if not _HEADER_VALUE.match(header):
                raise ValueError(f"header {name!r} must be one line")
        return value

    @field_validator("credential_headers")
    @classmethod
    def _always_authorization(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        names = {v.lower() for v in value}
        return value if "authorization" in names else ("Authorization", *value)

    @field_validator("retry_methods")
    @classmethod
    def _upper(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(m.upper() for m in value)

    @field_validator("verify_tls")
    @classmethod
    def _ca_bundle_exists(cls, value: bool | str) -> bool | str:
        if isinstance(value, str) and not Path(value).exists():
            raise ValueError(f"CA bundle {value!r} does not exist")
        return value

    @classmethod
    def from_job_config(cls, config: Mapping[str, Any] | None) -> HttpSettings:
        """Read ``config["http"]``; a one-line :class:`ConfigError` when it is wrong."""
        section = (config or {}).get("http")
        if section is None:
            return cls()
        if not isinstance(section, Mapping):
            raise ConfigError(f"http: must be a mapping, got {type(section).__name__}")
        try:
            return cls.model_validate(dict(section))
        except ValidationError as e:
            raise ConfigError(f"http: {summarize(e.errors(include_url=False), root='<http>')}") from None

    def pool_maxsize(self, workers: int) -> int:
        """Connections kept per host: ``pool_size`` but never fewer than ``workers``."""
        return max(workers, self.pool_size or 0, 1)

    @property
    def timeout(self) -> tuple[float, float]:
        """The ``(connect, read)`` timeout tuple requests takes."""
        return (self.connect_timeout_s, self.read_timeout_s)

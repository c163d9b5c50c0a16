"""Sessions: pooled, retrying, timing out, and never leaking credentials on redirects.

    >>> s = build_session(HttpSettings(retries=2), pool_size=16)
    >>> s.get_adapter("https://en.wikipedia.org").max_retries.total
    2
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from requests.sessions import merge_setting
from requests.utils import get_environ_proxies

from evgen.http.failures import check_response, failure_for_exception
from evgen.http.retry import RetryPolicy
from evgen.http.settings import HttpSettings

_DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), parts.port or _DEFAULT_PORTS.get(scheme)


class EvgenSession(requests.Session):
    """A ``requests.Session`` that never sends credentials to another origin on a redirect.

    requests keeps ``Authorization`` on an ``http -> https`` upgrade and drops only that one
    header; here every header in ``settings.credential_headers`` is dropped whenever the
    scheme, host or port changes. ``settings`` is kept for helpers such as
    :class:`evgen.mediawiki.ActionApi`.
    """

    __attrs__ = [*requests.Session.__attrs__, "settings"]

    def __init__(self, settings: HttpSettings | None = None) -> None:
        super().__init__()
        self.settings = settings or HttpSettings()

    def merge_environment_settings(
        self, url: str, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> dict[str, Any]:
        # As requests does, with two differences. The environment (proxies, NO_PROXY, CA bundle)
        # is read once per origin, not on every request (that lookup was ~20% of a request's
        # CPU); a job's environment does not change while it runs. And REQUESTS_CA_BUNDLE /
        # CURL_CA_BUNDLE only replace the default trust store (verify_tls: true), never a
        # configured CA bundle or verify_tls: false.
        proxies = dict(proxies or {})
        if self.trust_env:
            env_proxies, ca_bundle = self._environment(url, proxies.get("no_proxy"))
            for scheme, proxy in env_proxies.items():
                proxies.setdefault(scheme, proxy)
            if ca_bundle and (verify is True or (verify is None and self.verify is True)):
                verify = ca_bundle
        return {
            "proxies": merge_setting(proxies, self.proxies),
            "stream": merge_setting(stream, self.stream),
            "verify": merge_setting(verify, self.verify),
            "cert": merge_setting(cert, self.cert),
        }

    def _environment(self, url: str, no_proxy: str | None) -> tuple[dict[str, str], str | None]:
        cache = self.__dict__.setdefault("_environment_cache", {})  # not pickled: rebuilt per process
        key = (*_origin(url), no_proxy)
        found = cache.get(key)
        if found is None:
            ca_bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
            found = cache[key] = (get_environ_proxies(url, no_proxy=no_proxy), ca_bundle)
        return found

    def should_strip_auth(self, old_url: str, new_url: str) -> bool:
        return _origin(old_url) != _origin(new_url)

    def rebuild_auth(self, prepared_request: requests.PreparedRequest, response: requests.Response) -> None:
        old_url = response.request.url or ""
        if self.should_strip_auth(old_url, prepared_request.url or ""):
            for name in self.settings.credential_headers:
                prepared_request.headers.pop(name, None)
        super().rebuild_auth(prepared_request, response)


class _TimeoutAdapter(HTTPAdapter):
    """An ``HTTPAdapter`` applying default ``(connect, read)`` timeouts."""

    def __init__(self, timeout: tuple[float, float], **kwargs: Any) -> None:
        self._timeout = timeout
        super().__init__(**kwargs)

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self._timeout
        return super().send(request, *args, **kwargs)

    __attrs__ = [*HTTPAdapter.__attrs__, "_timeout"]


#: Distinct hosts whose connection pools a session keeps (wikis are addressed by domain).
HOST_POOLS = 32


def build_session(settings: HttpSettings | None = None, pool_size: int = 1) -> EvgenSession:
    """A session for ``pool_size`` concurrent workers, configured from ``settings``.

        >>> s = build_session(HttpSettings(retries=2), pool_size=16)
        >>> s.get_adapter("https://en.wikipedia.org").max_retries.total
        2
    """
    settings = settings or HttpSettings()
    session = EvgenSession(settings)
    adapter = _TimeoutAdapter(
        settings.timeout,
        pool_connections=HOST_POOLS,
        pool_maxsize=settings.pool_maxsize(pool_size),
        pool_block=False,
        max_retries=RetryPolicy.from_settings(settings),
    )
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers["User-Agent"] = settings.user_agent
    session.headers.update(settings.headers)
    session.verify = settings.verify_tls
    session.max_redirects = settings.max_redirects
    return session


def send(session: requests.Session, method: str, url: str, **kwargs: Any) -> requests.Response:
    """``session.request(...)`` without following redirects, failures raised as :class:`HttpFailure`.

        response = send(session, "GET", "https://en.wikipedia.org/w/api.php", params={...})
    """
    kwargs.setdefault("allow_redirects", False)
    try:
        response = session.request(method, url, **kwargs)
    except requests.RequestException as e:
        raise failure_for_exception(e, url) from e
    return check_response(response)

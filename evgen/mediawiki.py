"""MediaWiki Action API helpers for enrichment jobs.

:class:`ActionApi` picks the endpoint per wiki from an event's ``meta.domain`` through a URL
template, sends the query with the job's pooled session and raises :class:`~evgen.http.HttpFailure`
with a stable ``error_type`` for every failure class (see :class:`~evgen.http.FailureCode`).

    api = ActionApi(session, "https://{domain}/w/api.php")
    slots = api.revision_slots("en.wikipedia.org", 1234567)
    slots["main"].content, slots["main"].contentmodel     # ('...wikitext...', 'wikitext')

A 200 answer with ``badrevids`` (the revision is not visible yet: replica lag) or with the
``maxlag`` error is retried with the session's retry threshold and backoff; ``maxlag`` waits
as long as the API asks (``Retry-After``, else the reported ``lag``), capped by
``http.retry_after_max_s``.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import requests

from evgen.errors import ConfigError
from evgen.http import FailureCode, HttpFailure, HttpSettings, call_with_retries, call_with_retries_async, send

DEFAULT_URL_TEMPLATE = "https://{domain}/w/api.php"

#: ``rvprop`` of revision queries: the issue's list plus ``slotsha1|slotsize``, without which
#: MediaWiki reports sha1/size only for the whole revision. (``contentformat`` is not an rvprop
#: value -- MediaWiki warns and ignores it, returning the format with the content anyway -- but
#: it is kept so the query reads as the issue specifies it.)
REVISION_PROPS = "content|contentmodel|contentformat|sha1|size|slotsha1|slotsize"

_DOMAIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?(?::\d{1,5})?$")


@dataclass(frozen=True)
class Slot:
    """One slot of a revision. ``content`` is None when it is hidden (revision-deleted) or missing."""

    content: str | None
    contentmodel: str | None
    contentformat: str | None
    sha1: str | None
    size: int | None


@dataclass(frozen=True)
class Revision:
    """A revision as ``prop=revisions`` returns it (``sha1`` is hex, as the API gives it)."""

    rev_id: int
    page_id: int | None
    title: str | None
    namespace: int | None
    sha1: str | None
    size: int | None
    slots: dict[str, Slot] = field(default_factory=dict)


class _Endpoints:
    """What both clients share: the URL template, ``maxlag``, the settings, the query parameters."""

    def __init__(
        self,
        session: Any,
        url_template: str = DEFAULT_URL_TEMPLATE,
        *,
        maxlag: int | None = 5,
        settings: HttpSettings | None = None,
    ) -> None:
        check_url_template(url_template)
        if maxlag is not None and (isinstance(maxlag, bool) or not isinstance(maxlag, int) or maxlag < 0):
            raise ConfigError(f"maxlag must be a whole number of seconds >= 0 or None, got {maxlag!r}")
        self.session = session
        self.url_template = url_template
        self.maxlag = maxlag
        self.settings = settings or getattr(session, "settings", None) or HttpSettings()

    def endpoint(self, domain: str) -> str:
        """The api.php URL of the wiki at ``domain`` (``http_invalid_url`` failure if it is not a host name)."""
        if not isinstance(domain, str) or not _DOMAIN.match(domain):
            raise HttpFailure(FailureCode.HTTP_INVALID_URL, self.url_template, detail=f"invalid wiki domain {domain!r}")
        return self.url_template.format(domain=domain)

    def _params(self, params: Mapping[str, Any]) -> dict[str, Any]:
        full = {"action": "query", "format": "json", "formatversion": "2", **params}
        if self.maxlag is not None:
            full.setdefault("maxlag", str(self.maxlag))
        return full



class ActionApi(_Endpoints):
    """Action API client over an (injected) ``requests`` session; the endpoint is chosen per wiki domain.

    ``maxlag`` (seconds, None to omit) is sent with every query, as bots should. Body-level
    retries use ``settings``, by default the session's own (:func:`evgen.http.build_session`).

        >>> ActionApi(requests.Session(), "http://127.0.0.1:8080/{domain}/w/api.php").endpoint("en.wikipedia.org")
        'http://127.0.0.1:8080/en.wikipedia.org/w/api.php'
    """

    def query(self, domain: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """One ``action=query`` round trip (formatversion 2), API errors raised as failures.

        Not retried at the body level; :meth:`revision` is.
        """
        return self._query(domain, params)[0]

    def revision(self, domain: str, rev_id: int) -> Revision:
        """Revision ``rev_id`` of wiki ``domain`` with the content of all its slots."""

        def once() -> Revision:
            body, url = self._query(domain, _revision_params(rev_id))
            return _revision_from(body, int(rev_id), url)

        return call_with_retries(once, self.settings)

    def _query(self, domain: str, params: Mapping[str, Any]) -> tuple[dict[str, Any], str]:
        response = send(self.session, "GET", self.endpoint(domain), params=self._params(params))
        return _api_body(response.json, response.url, response.status_code, response.headers), response.url

    def revision_slots(self, domain: str, rev_id: int) -> dict[str, Slot]:
        """The slots (role -> :class:`Slot`) of revision ``rev_id`` of wiki ``domain``."""
        return self.revision(domain, rev_id).slots


class AsyncActionApi(_Endpoints):
    """:class:`ActionApi` for ``async def`` process functions, over an ``aiohttp.ClientSession``
    (:mod:`evgen.http.aio`): the same queries, failure classes and retries, awaited.

        async def process(event: PageChange, session: aiohttp.ClientSession) -> PageContentChange:
            slots = await AsyncActionApi(session, URL).revision_slots(event.meta.domain, rev_id)
    """

    def __init__(self, session: Any, url_template: str = DEFAULT_URL_TEMPLATE, *, maxlag: int | None = 5,
                 settings: HttpSettings | None = None) -> None:
        from evgen.http.aio import session_settings

        super().__init__(session, url_template, maxlag=maxlag, settings=settings or session_settings(session))

    async def query(self, domain: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """One ``action=query`` round trip (formatversion 2), API errors raised as failures."""
        return (await self._query(domain, params))[0]

    async def revision(self, domain: str, rev_id: int) -> Revision:
        """Revision ``rev_id`` of wiki ``domain`` with the content of all its slots."""

        async def once() -> Revision:
            body, url = await self._query(domain, _revision_params(rev_id))
            return _revision_from(body, int(rev_id), url)

        return await call_with_retries_async(once, self.settings)

    async def _query(self, domain: str, params: Mapping[str, Any]) -> tuple[dict[str, Any], str]:
        from evgen.http.aio import send_async

        response = await send_async(self.session, "GET", self.endpoint(domain), params=self._params(params))
        return _api_body(response.json, response.url, response.status, response.headers), response.url

    async def revision_slots(self, domain: str, rev_id: int) -> dict[str, Slot]:
        """The slots (role -> :class:`Slot`) of revision ``rev_id`` of wiki ``domain``."""
        return (await self.revision(domain, rev_id)).slots


def _revision_params(rev_id: int) -> dict[str, str]:
    return {"prop": "revisions", "revids": str(int(rev_id)), "rvslots": "*", "rvprop": REVISION_PROPS}


def check_url_template(template: str) -> str:
    """Return ``template`` if it is a usable endpoint template; one-line :class:`ConfigError` if not.

        >>> check_url_template("https://{domain}/w/api.php")
        'https://{domain}/w/api.php'
    """
    if not isinstance(template, str):
        raise ConfigError(f"Action API URL template must be a string, got {type(template).__name__}")
    try:
        fields = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    except ValueError as e:
        raise ConfigError(f"Action API URL template {template!r} is malformed: {e}") from None
    if fields != {"domain"}:
        raise ConfigError(
            f"Action API URL template {template!r} must contain '{{domain}}' and no other placeholder, "
            "e.g. 'https://{domain}/w/api.php'"
        )
    if not re.match(r"^https?://", template):
        raise ConfigError(f"Action API URL template {template!r} must start with http:// or https://")
    return template


def _api_body(payload: Callable[[], Any], url: str, status: int, headers: Mapping[str, str]) -> dict[str, Any]:
    """The JSON object of a 2xx answer; ``error`` answers raised as ``mw_maxlag``/``mw_api_error``."""
    try:
        body = payload()
    except ValueError:
        raise HttpFailure(FailureCode.HTTP_INVALID_BODY, url, status=status, detail="body is not JSON") from None
    if not isinstance(body, dict):
        raise HttpFailure(FailureCode.HTTP_INVALID_BODY, url, status=status, detail="body is not a JSON object")
    error = body.get("error")
    if error is not None:
        code = error.get("code") if isinstance(error, dict) else None
        info = error.get("info") if isinstance(error, dict) else None
        if code == "maxlag":
            raise HttpFailure(FailureCode.MW_MAXLAG, url, status=status, detail=str(info or "replica lag"),
                              retryable=True, retry_after_s=_maxlag_wait(headers, error))
        raise HttpFailure(FailureCode.MW_API_ERROR, url, status=status, detail=f"{code}: {info}" if info else str(code))
    return body


def _maxlag_wait(headers: Mapping[str, str], error: Mapping[str, Any]) -> float | None:
    """Seconds the API asks to wait: ``Retry-After``, else the ``lag`` it reports."""
    header = (headers.get("Retry-After") or "").strip()
    if header.isdigit():
        return float(header)
    lag = error.get("lag")
    if isinstance(lag, (int, float)) and not isinstance(lag, bool) and lag >= 0:
        return float(lag)
    return None


def _revision_from(body: Mapping[str, Any], rev_id: int, url: str) -> Revision:
    query = body.get("query")
    if not isinstance(query, dict):
        raise HttpFailure(FailureCode.HTTP_INVALID_BODY, url, status=200, detail="no 'query' in the answer")
    bad = query.get("badrevids")
    if isinstance(bad, dict) and str(rev_id) in bad:
        raise HttpFailure(FailureCode.MW_BADREVIDS, url, status=200,
                          detail=f"revision {rev_id} not found (badrevids)", retryable=True)
    for page in query.get("pages") or []:
        revisions = page.get("revisions") if isinstance(page, dict) else None
        if not revisions or not isinstance(revisions[0], dict):
            continue
        rev = revisions[0]
        slots = rev.get("slots")
        if not isinstance(slots, dict):
            raise HttpFailure(FailureCode.HTTP_INVALID_BODY, url, status=200,
                              detail=f"revision {rev_id} has no 'slots' (was rvslots sent?)")
        return Revision(
            rev_id=rev_id,
            page_id=page.get("pageid"),
            title=page.get("title"),
            namespace=page.get("ns"),
            sha1=rev.get("sha1"),
            size=rev.get("size"),
            slots={role: _slot_from(s) for role, s in slots.items() if isinstance(s, dict)},
        )
    raise HttpFailure(FailureCode.HTTP_INVALID_BODY, url, status=200, detail=f"no revision {rev_id} in the answer")


def _slot_from(slot: Mapping[str, Any]) -> Slot:
    content = slot.get("content")
    return Slot(
        content=content if isinstance(content, str) else None,
        contentmodel=slot.get("contentmodel"),
        contentformat=slot.get("contentformat"),
        sha1=slot.get("sha1"),
        size=slot.get("size"),
    )

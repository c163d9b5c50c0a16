"""page_content_change: mediawiki.page_change.v1 -> mediawiki.page_content_change.v1. This file is yours.

Each page change is enriched with the content of every slot of its revision, fetched from
the MediaWiki Action API of the event's wiki (``meta.domain``)::

    action=query&prop=revisions&revids=<rev_id>&rvslots=*&formatversion=2
        &rvprop=content|contentmodel|contentformat|sha1|size|slotsha1|slotsize

and written to ``revision.content_slots.<role>``: ``content_body``, ``content_model``,
``content_format``, ``content_sha1`` and ``content_size``. Deletes pass through without a
fetch. Events stay keyed by the stream's message key (``wiki_id``, ``page.page_id``), so the
changes of one page leave in order. Every failure becomes an error event whose
``error_type`` names its class (``http_retryable_status``, ``mw_badrevids``, ... see
``evgen.http.FailureCode``), after retries for the retryable classes.

The job's own settings are the config's ``params:`` section (:class:`JobParams`)::

    params:
      action_api_url: "https://{domain}/w/api.php"   # the endpoint of each wiki
      maxlag: 5                                      # seconds; null to leave it out
      http_client: requests                          # or aiohttp: EnrichWithContentAsync

and its HTTP client (timeouts, retries, User-Agent) is the ``http:`` section.

    >>> enrich = EnrichWithContent("http://127.0.0.1:8089/{domain}/w/api.php")
    >>> enrich.url_template
    'http://127.0.0.1:8089/{domain}/w/api.php'

`evgen regen` never touches this file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Mapping

import aiohttp
import requests
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from evgen import ConfigError, Stream
from evgen.mediawiki import DEFAULT_URL_TEMPLATE, ActionApi, AsyncActionApi, Revision, Slot, check_url_template

from .models import PageChange, PageContentChange

#: ``maxlag`` sent with every query unless ``params.maxlag`` says otherwise (as bots should).
DEFAULT_MAXLAG_S = 5


class JobParams(BaseModel):
    """The ``params:`` section of this job's config.

        >>> JobParams.from_params({"action_api_url": "http://127.0.0.1:8089/{domain}/w/api.php"}).maxlag
        5
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    action_api_url: str = DEFAULT_URL_TEMPLATE
    """Endpoint template; ``{domain}`` is replaced by the event's ``meta.domain``."""
    maxlag: int | None = Field(DEFAULT_MAXLAG_S, ge=0)
    """Seconds of replica lag above which the API answers the ``maxlag`` error; None: not sent."""
    http_client: Literal["requests", "aiohttp"] = "requests"
    """``aiohttp``: the async function, whose requests one event loop makes (less CPU per request)."""

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> JobParams:
        """Validate ``params``; a one-line :class:`~evgen.ConfigError` naming each bad key."""
        try:
            parsed = cls.model_validate(dict(params))
        except ValidationError as e:
            problems = "; ".join(
                f"params.{'.'.join(str(p) for p in err['loc'])}: "
                + ("unknown key" if err["type"] == "extra_forbidden" else err["msg"])
                for err in e.errors(include_url=False)
            )
            raise ConfigError(f"invalid job params: {problems}") from None
        check_url_template(parsed.action_api_url)
        return parsed


class MissingDomainError(ValueError):
    """The event has no ``meta.domain``: its wiki's API endpoint is unknown."""

    error_type = "missing_domain"


@dataclass(frozen=True)
class EnrichWithContent:
    """The process function: a page change in, the same change with its content out.

    A frozen dataclass, so the endpoint template travels with it to Flink's workers (it
    pickles); the runtime injects the operator's pooled ``requests.Session``.
    """

    url_template: str = DEFAULT_URL_TEMPLATE
    maxlag: int | None = DEFAULT_MAXLAG_S

    def __post_init__(self) -> None:
        check_url_template(self.url_template)

    def __call__(self, event: PageChange, session: requests.Session) -> PageContentChange:
        """``event`` with ``revision.content_slots`` filled from the Action API (deletes as they are)."""
        if event.page_change_kind == "delete":
            return enriched(event, None)
        api = ActionApi(session, self.url_template, maxlag=self.maxlag)
        return enriched(event, api.revision(domain_of(event), event.revision.rev_id))


@dataclass(frozen=True)
class EnrichWithContentAsync:
    """:class:`EnrichWithContent` written ``async def``: the runtime injects an
    ``aiohttp.ClientSession``, and one event loop per operator makes every request.

        >>> EnrichWithContentAsync("http://127.0.0.1:8089/{domain}/w/api.php").maxlag
        5
    """

    url_template: str = DEFAULT_URL_TEMPLATE
    maxlag: int | None = DEFAULT_MAXLAG_S

    def __post_init__(self) -> None:
        check_url_template(self.url_template)

    async def __call__(self, event: PageChange, session: aiohttp.ClientSession) -> PageContentChange:
        """``event`` with ``revision.content_slots`` filled from the Action API (deletes as they are)."""
        if event.page_change_kind == "delete":
            return enriched(event, None)
        api = AsyncActionApi(session, self.url_template, maxlag=self.maxlag)
        return enriched(event, await api.revision(domain_of(event), event.revision.rev_id))


def domain_of(event: PageChange) -> str:
    """The wiki whose API has the event's revision: ``meta.domain`` (:class:`MissingDomainError` if absent)."""
    if event.meta.domain is None:
        raise MissingDomainError(f"event {event.meta.id} has no meta.domain: cannot choose an Action API endpoint")
    return event.meta.domain


def enriched(event: PageChange, revision: Revision | None) -> PageContentChange:
    """``event`` as a page_content_change, with ``revision``'s slots merged in (None: as it is)."""
    data = event.model_dump(by_alias=True, exclude_unset=True)
    return PageContentChange.model_validate(data if revision is None else with_content(data, revision))


def with_content(event: Mapping[str, Any], revision: Revision) -> dict[str, Any]:
    """The JSON-shaped ``event`` with every slot of ``revision`` merged into ``revision.content_slots``.

    Fetched values win (they describe the body that is attached); a value the API does not
    give (e.g. the body of revision-deleted content) leaves the event's own value in place.
    """
    original: Mapping[str, Any] = event["revision"]
    slots = {role: dict(slot) for role, slot in (original.get("content_slots") or {}).items()}
    for role, fetched in revision.slots.items():
        slots.setdefault(role, {"slot_role": role}).update(slot_fields(fetched))
    return {**event, "revision": {**original, "content_slots": slots}}


def slot_fields(fetched: Slot) -> dict[str, Any]:
    """The ``content_*`` fields of one fetched slot (those the API gave)."""
    values = {
        "content_body": fetched.content,
        "content_model": fetched.contentmodel,
        "content_format": fetched.contentformat,
        "content_sha1": sha1_base36(fetched.sha1) if fetched.sha1 else None,
        "content_size": fetched.size,
    }
    return {key: value for key, value in values.items() if value is not None}


def sha1_base36(hex_digest: str) -> str:
    """A SHA-1 in MediaWiki's stored form (base 36, 31 digits), as page_change events carry it.

        >>> sha1_base36("da39a3ee5e6b4b0d3255bfef95601890afd80709")
        'phoiac9h4m842xq45sp7s6u21eteeq1'
    """
    n = int(hex_digest, 16)
    digits = ""
    while n:
        n, r = divmod(n, 36)
        digits = "0123456789abcdefghijklmnopqrstuvwxyz"[r] + digits
    return digits.rjust(31, "0")


def pipeline(stream: Stream) -> Stream:
    """The job's dataflow: every page change through :class:`EnrichWithContent` (or its async twin,
    ``params.http_client: aiohttp``) to the sink.

    Worker pool and mini-batches come from the config's ``process:`` section.
    """
    params = JobParams.from_params(stream.params)
    client = EnrichWithContentAsync if params.http_client == "aiohttp" else EnrichWithContent
    return stream.process(client(params.action_api_url, params.maxlag), name="enrich_with_content")

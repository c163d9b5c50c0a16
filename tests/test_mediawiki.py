"""evgen.mediawiki.ActionApi against the real fake Action API server."""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from evgen.errors import ConfigError
from evgen.http import EvgenSession, HttpFailure, HttpSettings, build_session
from evgen.http.aio import LoopThread, build_async_session
from evgen.mediawiki import REVISION_PROPS, ActionApi, AsyncActionApi, Slot
from evgen.testing.action_api import FakeActionApi, FakeSlot, Fault

RETRIES = 2
FAST = HttpSettings(connect_timeout_s=0.3, read_timeout_s=0.5, retries=RETRIES, backoff_factor=0.0,
                    backoff_jitter=0.0, retry_after_max_s=5.0)
DOMAIN = "en.wikipedia.org"


@pytest.fixture
def session() -> Iterator[EvgenSession]:
    with build_session(FAST, pool_size=4) as s:
        yield s


class Blocking:
    """An :class:`AsyncActionApi` called like an :class:`ActionApi`: each call runs on ``loop``."""

    def __init__(self, api: AsyncActionApi, loop: LoopThread) -> None:
        self._api, self._loop = api, loop

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._api, name)
        if not inspect.iscoroutinefunction(attribute):
            return attribute
        return lambda *args, **kwargs: self._loop.run(attribute(*args, **kwargs))


@pytest.fixture(params=["requests", "aiohttp"])
def api(request: pytest.FixtureRequest, action_api: FakeActionApi, session: EvgenSession) -> Iterator[Any]:
    """The Action API client on a ``requests`` session, and its async twin on an ``aiohttp`` one:
    every test that takes ``api`` holds for both."""
    if request.param == "requests":
        yield ActionApi(session, action_api.url_template)
        return
    loop = LoopThread()
    async_session = loop.run(build_async_session(FAST, pool_size=4))
    try:
        yield Blocking(AsyncActionApi(async_session, action_api.url_template), loop)
    finally:
        loop.run(async_session.close())
        loop.close()


def sha1(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def test_revision_slots_of_a_stored_revision(action_api: FakeActionApi, api: ActionApi) -> None:
    item = '{"type":"item","id":"Q1","labels":{"en":{"language":"en","value":"Universe"}}}'
    action_api.add_revision(
        686138,
        {"main": FakeSlot(item, model="wikibase-item", format="application/json"),
         "mediainfo": FakeSlot("{}", model="wikibase-mediainfo", format="application/json")},
        domain="test.wikidata.org", page_id=330275, title="Q235989",
    )
    slots = api.revision_slots("test.wikidata.org", 686138)
    assert slots == {
        "main": Slot(content=item, contentmodel="wikibase-item", contentformat="application/json",
                     sha1=sha1(item), size=len(item.encode())),
        "mediainfo": Slot(content="{}", contentmodel="wikibase-mediainfo", contentformat="application/json",
                          sha1=sha1("{}"), size=2),
    }
    revision = api.revision("test.wikidata.org", 686138)
    assert (revision.page_id, revision.title, revision.namespace) == (330275, "Q235989", 0)
    assert revision.size == len(item.encode()) + 2


def test_any_revision_answers_with_deterministic_content(action_api: FakeActionApi, api: ActionApi) -> None:
    a, b = api.revision_slots(DOMAIN, 1234)["main"], api.revision_slots(DOMAIN, 1234)["main"]
    assert a == b and a.content and a.contentmodel == "wikitext" and a.contentformat == "text/x-wiki"
    assert a.sha1 == sha1(a.content) and a.size == len(a.content.encode())
    assert api.revision_slots(DOMAIN, 1235)["main"].content != a.content
    assert api.revision(DOMAIN, 1234).sha1 == a.sha1  # single slot: revision sha1 == slot sha1


def test_unicode_content_sizes_are_bytes(action_api: FakeActionApi, api: ActionApi) -> None:
    action_api.add_revision(5, "Łódź — 東京")
    slot = api.revision_slots(DOMAIN, 5)["main"]
    assert slot.content == "Łódź — 東京" and slot.size == len("Łódź — 東京".encode())


def test_hidden_content_is_none(action_api: FakeActionApi, api: ActionApi) -> None:
    action_api.add_revision(9, "secret text", hidden=True)
    slot = api.revision_slots(DOMAIN, 9)["main"]
    assert slot.content is None and slot.sha1 is None and slot.contentmodel == "wikitext"


def test_query_is_the_documented_one_on_the_wikis_endpoint(action_api: FakeActionApi, api: ActionApi) -> None:
    api.revision_slots("de.wikipedia.org", 77)
    (seen,) = action_api.requests
    assert seen.method == "GET" and seen.domain == "de.wikipedia.org" and seen.path == "/de.wikipedia.org/w/api.php"
    assert seen.params == {
        "action": "query", "format": "json", "formatversion": "2", "prop": "revisions", "revids": "77",
        "rvslots": "*", "rvprop": REVISION_PROPS, "maxlag": "5",
    }
    assert REVISION_PROPS.startswith("content|contentmodel|contentformat|sha1|size")


def test_maxlag_can_be_omitted(action_api: FakeActionApi, session: EvgenSession) -> None:
    ActionApi(session, action_api.url_template, maxlag=None).revision_slots(DOMAIN, 1)
    assert "maxlag" not in action_api.requests[0].params


@pytest.mark.parametrize(
    ("template", "expected"),
    [("https://en.wikipedia.org/w/api.php", "must contain '{domain}'"),
     ("https://{domain}/w/{path}", "no other placeholder"),
     ("https://{domain/w/api.php", "is malformed"),
     ("ftp://{domain}/w/api.php", "must start with http:// or https://"),
     ("{domain}/w/api.php", "must start with http:// or https://")],
)
def test_bad_url_templates_are_config_errors(template: str, expected: str) -> None:
    with pytest.raises(ConfigError, match=expected) as e:
        ActionApi(requests.Session(), template)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("maxlag", [-1, 1.5, "5", True])
def test_bad_maxlag_is_a_config_error(maxlag: object) -> None:
    with pytest.raises(ConfigError, match="maxlag must be a whole number"):
        ActionApi(requests.Session(), maxlag=maxlag)  # type: ignore[arg-type]


@pytest.mark.parametrize("domain", ["", "en.wikipedia.org/../x", "a b", "evil.org?x=", "-bad.org"])
def test_invalid_domains_fail_without_a_request(action_api: FakeActionApi, api: ActionApi, domain: str) -> None:
    with pytest.raises(HttpFailure) as e:
        api.revision_slots(domain, 1)
    assert e.value.error_type == "http_invalid_url"
    assert action_api.total_requests == 0


def test_the_session_settings_drive_body_retries(action_api: FakeActionApi) -> None:
    session = build_session(FAST.model_copy(update={"retries": 4}))
    action_api.inject(Fault.badrevids(), rev_id=3)
    with pytest.raises(HttpFailure):
        ActionApi(session, action_api.url_template).revision_slots(DOMAIN, 3)
    assert action_api.count(3) == 5


# ----------------------------------------------------------------------------- the enrichment table

# (fault, error_type, requests the server sees for one revision_slots call)
TABLE = [
    (Fault.http_status(408), "http_retryable_status", RETRIES + 1),
    (Fault.http_status(500), "http_retryable_status", RETRIES + 1),
    (Fault.http_status(502), "http_retryable_status", RETRIES + 1),
    (Fault.http_status(503), "http_retryable_status", RETRIES + 1),
    (Fault.http_status(504), "http_retryable_status", RETRIES + 1),
    (Fault.read_timeout(3.0), "http_read_timeout", RETRIES + 1),
    (Fault.stall_body(3.0), "http_read_timeout", RETRIES + 1),
    (Fault.badrevids(), "mw_badrevids", RETRIES + 1),
    (Fault.maxlag(lag=8, retry_after=0), "mw_maxlag", RETRIES + 1),
    (Fault.no_content(), "http_no_content", 1),
    (Fault.redirect(), "http_redirect", 1),
    (Fault.redirect(status=301), "http_redirect", 1),
    (Fault.http_status(400), "http_client_error", 1),
    (Fault.http_status(403), "http_client_error", 1),
    (Fault.http_status(404), "http_client_error", 1),
    (Fault.http_status(429, retry_after=1), "http_client_error", 1),
    (Fault.http_status(501), "http_server_error", 1),
    (Fault.http_status(507), "http_server_error", 1),
    (Fault.api_error(), "mw_api_error", 1),
    (Fault.invalid_body(), "http_invalid_body", 1),
]


@pytest.mark.parametrize(("fault", "code", "requests_seen"), TABLE, ids=[f"{f.kind}-{f.status}" for f, _, _ in TABLE])
def test_each_failure_class_after_the_right_number_of_attempts(
    action_api: FakeActionApi, api: ActionApi, fault: Fault, code: str, requests_seen: int
) -> None:
    action_api.inject(fault, rev_id=42)
    with pytest.raises(HttpFailure) as e:
        api.revision_slots(DOMAIN, 42)
    failure = e.value
    assert failure.error_type == code
    assert action_api.count(42) == requests_seen
    assert "\n" not in failure.message and failure.message.startswith(f"{code}: ")
    assert f"127.0.0.1:{action_api.port}/{DOMAIN}/w/api.php" in failure.message
    if failure.status is not None:
        assert f"HTTP {failure.status} for " in failure.message
    # Other revisions are unaffected.
    assert api.revision_slots(DOMAIN, 43)["main"].content


@pytest.mark.parametrize(
    "fault",
    [Fault.http_status(503), Fault.http_status(408), Fault.read_timeout(3.0), Fault.stall_body(3.0),
     Fault.badrevids(), Fault.maxlag(lag=8, retry_after=0)],
    ids=lambda f: f"{f.kind}-{f.status}",
)
def test_flaky_failures_recover_within_the_threshold(action_api: FakeActionApi, api: ActionApi, fault: Fault) -> None:
    action_api.add_revision(42, "recovered")
    action_api.inject(fault, rev_id=42, times=RETRIES)
    assert api.revision_slots(DOMAIN, 42)["main"].content == "recovered"
    assert action_api.count(42) == RETRIES + 1


def test_maxlag_waits_as_the_api_says(action_api: FakeActionApi, api: ActionApi) -> None:
    action_api.inject(Fault.maxlag(lag=8, retry_after=1), rev_id=42, times=1)
    assert api.revision_slots(DOMAIN, 42)["main"].content
    first, second = (r.at for r in action_api.requests_for(42))
    assert second - first >= 1.0
    assert action_api.requests_for(42)[0].fault == "maxlag"


def test_maxlag_only_hits_clients_that_ask_for_less_lag(action_api: FakeActionApi, session: EvgenSession) -> None:
    action_api.inject(Fault.maxlag(lag=8, retry_after=0), rev_id=42)
    assert ActionApi(session, action_api.url_template, maxlag=10).revision_slots(DOMAIN, 42)
    assert action_api.count(42) == 1


def test_maxlag_failure_reports_the_lag(action_api: FakeActionApi, api: ActionApi) -> None:
    action_api.inject(Fault.maxlag(lag=8, retry_after=0), rev_id=42)
    with pytest.raises(HttpFailure) as e:
        api.revision_slots(DOMAIN, 42)
    assert e.value.status == 200 and "8 seconds lagged" in str(e.value) and e.value.attempts == RETRIES + 1


def test_badrevids_failure_names_the_revision(action_api: FakeActionApi, api: ActionApi) -> None:
    action_api.inject(Fault.badrevids(), rev_id=42)
    with pytest.raises(HttpFailure) as e:
        api.revision_slots(DOMAIN, 42)
    assert "revision 42 not found" in str(e.value) and f"{RETRIES + 1} attempts" in str(e.value)


def test_connect_timeout_is_a_failure_class(action_api: FakeActionApi, session: EvgenSession) -> None:
    api = ActionApi(session, action_api.connect_timeout_url_template)
    with pytest.raises(HttpFailure) as e:
        api.revision_slots(DOMAIN, 42)
    assert e.value.error_type == "http_connect_timeout" and e.value.status is None
    assert "revids=42" in str(e.value)

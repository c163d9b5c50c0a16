"""The fake Action API itself, exercised with plain requests (the MediaWiki answer shapes)."""

from __future__ import annotations

import hashlib
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from evgen.testing.action_api import FakeActionApi, FakeSlot, Fault, default_revision

ISSUE_QUERY = {"action": "query", "prop": "revisions", "rvslots": "*", "formatversion": "2", "format": "json",
               "rvprop": "content|contentmodel|contentformat|sha1|size"}


def ask(api: FakeActionApi, revids: str, domain: str = "en.wikipedia.org", **extra: str) -> requests.Response:
    return requests.get(api.endpoint(domain), params={**ISSUE_QUERY, "revids": revids, **extra}, timeout=10,
                        allow_redirects=False)


def sha1(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


def test_answers_the_issues_query_in_the_formatversion_2_shape(action_api: FakeActionApi) -> None:
    action_api.add_revision(11, "Hello [[world]]", page_id=3, title="Greeting")
    r = ask(action_api, "11")
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/json; charset=utf-8"
    assert r.json() == {
        "batchcomplete": True,
        # contentformat is not an rvprop value: MediaWiki warns and returns the format with the content anyway
        "warnings": {"revisions": {"warnings": 'Unrecognized value for parameter "rvprop": contentformat.'}},
        "query": {"pages": [{
            "pageid": 3, "ns": 0, "title": "Greeting",
            "revisions": [{
                "size": 15, "sha1": sha1("Hello [[world]]"),
                "slots": {"main": {"contentmodel": "wikitext", "contentformat": "text/x-wiki",
                                   "content": "Hello [[world]]"}},
            }],
        }]},
    }


def test_slot_level_sha1_and_size_need_slotsha1_and_slotsize(action_api: FakeActionApi) -> None:
    action_api.add_revision(11, {"main": "abc", "mediainfo": FakeSlot("{}", "wikibase-mediainfo", "application/json")})
    rev = ask(action_api, "11", rvprop="content|slotsha1|slotsize|sha1|size").json()["query"]["pages"][0]["revisions"][0]
    assert rev["slots"]["main"] == {"size": 3, "sha1": sha1("abc"), "contentmodel": "wikitext",
                                    "contentformat": "text/x-wiki", "content": "abc"}
    assert rev["slots"]["mediainfo"]["contentmodel"] == "wikibase-mediainfo"
    assert rev["size"] == 5
    # Multi-slot revision sha1 is MediaWiki's combined hash, not one slot's.
    assert rev["sha1"] not in (sha1("abc"), sha1("{}")) and len(rev["sha1"]) == 40
    only_main = ask(action_api, "11", rvslots="main").json()["query"]["pages"][0]["revisions"][0]
    assert list(only_main["slots"]) == ["main"]


def test_without_rvslots_the_legacy_shape_is_answered(action_api: FakeActionApi) -> None:
    params = {k: v for k, v in ISSUE_QUERY.items() if k != "rvslots"}
    rev = requests.get(action_api.endpoint("x"), params={**params, "revids": "4", "rvprop": "content"},
                       timeout=10).json()["query"]["pages"][0]["revisions"][0]
    assert "slots" not in rev and rev["content"] == default_revision(4).slots["main"].content


def test_default_content_is_deterministic_per_rev_id() -> None:
    assert default_revision(99) == default_revision(99)
    assert default_revision(99).slots["main"].content != default_revision(100).slots["main"].content
    with FakeActionApi() as a, FakeActionApi() as b:
        assert ask(a, "99").json() == ask(b, "99").json()


def test_revisions_can_be_stored_per_domain(action_api: FakeActionApi) -> None:
    action_api.add_revision(5, "everywhere")
    action_api.add_revision(5, "only on de", domain="de.wikipedia.org")

    def content(domain: str) -> str:
        return ask(action_api, "5", domain=domain).json()["query"]["pages"][0]["revisions"][0]["slots"]["main"]["content"]

    assert content("de.wikipedia.org") == "only on de" and content("fr.wikipedia.org") == "everywhere"
    assert [r.domain for r in action_api.requests] == ["de.wikipedia.org", "fr.wikipedia.org"]


def test_several_revids_in_one_query(action_api: FakeActionApi) -> None:
    action_api.add_revision(1, "a", page_id=10)
    action_api.add_revision(2, "b", page_id=10)
    action_api.add_revision(3, "c", page_id=20)
    pages = ask(action_api, "1|2|3").json()["query"]["pages"]
    assert [(p["pageid"], len(p["revisions"])) for p in pages] == [(10, 2), (20, 1)]
    assert action_api.count(1) == action_api.count(2) == action_api.count(3) == 1
    assert action_api.total_requests == 1


def test_hidden_revisions_answer_like_revision_deleted_ones(action_api: FakeActionApi) -> None:
    action_api.add_revision(8, "gone", hidden=True)
    rev = ask(action_api, "8").json()["query"]["pages"][0]["revisions"][0]
    assert rev["sha1hidden"] is True and "sha1" not in rev
    assert rev["slots"]["main"] == {"contentmodel": "wikitext", "texthidden": True}


@pytest.mark.parametrize(
    ("params", "code"),
    [({"action": "parse"}, "badvalue"), ({"formatversion": "1"}, "badvalue"), ({"prop": "info"}, "badvalue"),
     ({"revids": ""}, "missingparam"), ({"revids": "1|x"}, "badinteger")],
)
def test_unsupported_queries_get_api_errors(action_api: FakeActionApi, params: dict[str, str], code: str) -> None:
    r = requests.get(action_api.endpoint("x"), params={**ISSUE_QUERY, "revids": "1", **params}, timeout=10)
    assert r.status_code == 200 and r.headers["MediaWiki-API-Error"] == code
    assert r.json()["error"]["code"] == code


def test_other_paths_are_not_found(action_api: FakeActionApi) -> None:
    assert requests.get(action_api.base_url + "/wiki/Main_Page", timeout=10).status_code == 404


# ------------------------------------------------------------------------------------ faults


def test_badrevids_shape(action_api: FakeActionApi) -> None:
    action_api.inject(Fault.badrevids(), rev_id=999)
    body = ask(action_api, "999").json()
    assert body == {"batchcomplete": True, "query": {"badrevids": {"999": {"revid": 999, "missing": True}}}}


def test_maxlag_shape(action_api: FakeActionApi) -> None:
    action_api.inject(Fault.maxlag(lag=7))
    r = ask(action_api, "1", maxlag="5")
    assert r.status_code == 200
    assert r.headers["Retry-After"] == "5" and r.headers["X-Database-Lag"] == "7"
    assert r.headers["MediaWiki-API-Error"] == "maxlag"
    error = r.json()["error"]
    assert (error["code"], error["lag"], error["type"]) == ("maxlag", 7, "db")
    assert error["info"] == "Waiting for 10.64.0.1: 7 seconds lagged."
    assert r.json()["servedby"]
    # MediaWiki only refuses requests that set maxlag below the current lag.
    assert "error" not in ask(action_api, "1").json()
    assert "error" not in ask(action_api, "1", maxlag="9").json()
    assert ask(action_api, "1", maxlag="30").status_code == 200
    retry_after = Fault.maxlag(lag=40)
    action_api.inject(retry_after)
    assert ask(action_api, "1", maxlag="30").headers["Retry-After"] == "30"


@pytest.mark.parametrize("status", [408, 500, 502, 503, 504, 400, 404, 429, 501])
def test_status_faults(action_api: FakeActionApi, status: int) -> None:
    action_api.inject(Fault.http_status(status, retry_after=2), rev_id=1)
    r = ask(action_api, "1")
    assert r.status_code == status and r.headers["Retry-After"] == "2" and "Error" in r.text


def test_no_content_and_redirect_faults(action_api: FakeActionApi) -> None:
    action_api.inject(Fault.no_content(), rev_id=1)
    action_api.inject(Fault.redirect(status=301), rev_id=2)
    action_api.inject(Fault.redirect("https://elsewhere.example/w/api.php"), rev_id=3)
    r = ask(action_api, "1")
    assert r.status_code == 204 and r.content == b""
    r = ask(action_api, "2")
    assert r.status_code == 301 and r.headers["Location"].startswith(action_api.base_url + "/moved/en.wikipedia.org/")
    assert ask(action_api, "3").headers["Location"] == "https://elsewhere.example/w/api.php"


def test_read_timeout_and_stalled_body(action_api: FakeActionApi) -> None:
    action_api.inject(Fault.read_timeout(5), rev_id=1)
    action_api.inject(Fault.stall_body(5), rev_id=2)
    url = action_api.endpoint("x")
    with pytest.raises(requests.ReadTimeout):
        requests.get(url, params={**ISSUE_QUERY, "revids": "1"}, timeout=(2, 0.3))
    with requests.get(url, params={**ISSUE_QUERY, "revids": "2"}, timeout=(2, 0.3), stream=True) as r:
        assert r.status_code == 200  # the headers come at once ...
        with pytest.raises(requests.ConnectionError, match="Read timed out"):
            r.content  # ... the rest of the body does not  # noqa: B018


def test_api_error_and_invalid_body_faults(action_api: FakeActionApi) -> None:
    action_api.inject(Fault.api_error("readonly", "The wiki is in read-only mode."), rev_id=1)
    action_api.inject(Fault.invalid_body(), rev_id=2)
    error = ask(action_api, "1").json()["error"]
    assert (error["code"], error["info"]) == ("readonly", "The wiki is in read-only mode.") and error["docref"]
    with pytest.raises(ValueError):
        ask(action_api, "2").json()


def test_connect_timeout_endpoint_never_accepts(action_api: FakeActionApi) -> None:
    url = action_api.connect_timeout_url_template.format(domain="x")
    port = int(url.split(":")[2].split("/")[0])
    with socket.socket() as s:
        s.settimeout(0.3)
        with pytest.raises(TimeoutError):
            s.connect(("127.0.0.1", port))
    assert action_api.connect_timeout_url_template == url.replace("/x/", "/{domain}/")


def test_flakiness_is_per_rev_id_and_latest_injection_wins(action_api: FakeActionApi) -> None:
    action_api.inject(Fault.http_status(500), rev_id=1, times=2)
    statuses = [ask(action_api, "1").status_code for _ in range(3)]
    assert statuses == [500, 500, 200]
    assert ask(action_api, "2").status_code == 200
    action_api.inject(Fault.http_status(404))  # everything ...
    action_api.inject(Fault.http_status(503), rev_id=2)  # ... but rev 2, which gets 503
    assert ask(action_api, "2").status_code == 503 and ask(action_api, "3").status_code == 404
    action_api.clear_faults()
    assert ask(action_api, "2").status_code == 200
    assert [r.fault for r in action_api.requests_for(1)] == ["status", "status", None]
    assert action_api.count(1) == 3 and action_api.count(2) == 3


def test_latency_delays_every_answer(action_api: FakeActionApi) -> None:
    action_api.latency_s = 0.2
    r = ask(action_api, "1")
    assert r.status_code == 200 and r.elapsed.total_seconds() >= 0.2


def test_latency_includes_the_time_the_fake_spends_building_its_answer() -> None:
    def slow(rev_id: int) -> Any:
        time.sleep(0.4)  # building this answer takes 0.4 s of the fake's own time
        return default_revision(rev_id)

    with FakeActionApi(latency_s=0.5, default=slow) as api:
        elapsed = ask(api, "1").elapsed.total_seconds()
    assert 0.5 <= elapsed < 0.85  # one latency, not latency + build time (>= 0.9 s)


def test_handles_128_concurrent_requests_and_counts_them_exactly(action_api: FakeActionApi) -> None:
    n = 128
    action_api.latency_s = 0.05
    action_api.rendezvous(n, timeout_s=30)

    def one(i: int) -> int:
        return requests.get(action_api.endpoint("x"), params={**ISSUE_QUERY, "revids": str(i % 8)},
                            timeout=60).status_code

    with ThreadPoolExecutor(n) as pool:
        statuses = list(pool.map(one, range(n)))
    assert statuses == [200] * n
    assert action_api.max_in_flight == n and action_api.total_requests == n
    assert [action_api.count(i) for i in range(8)] == [n // 8] * 8
    assert action_api.connections == n  # requests.get opens a fresh connection each time


def test_rendezvous_fails_requests_that_come_alone(action_api: FakeActionApi) -> None:
    action_api.rendezvous(2, timeout_s=0.2)
    assert ask(action_api, "1").status_code == 503
    action_api.rendezvous(None)
    assert ask(action_api, "1").status_code == 200


def test_reset_counts(action_api: FakeActionApi) -> None:
    ask(action_api, "1")
    deadline = time.monotonic() + 5
    while action_api.in_flight and time.monotonic() < deadline:  # the handler ends after its answer
        time.sleep(0.01)
    action_api.reset_counts()
    assert (action_api.total_requests, action_api.count(1), action_api.connections, action_api.max_in_flight) == (0, 0, 0, 0)


def test_bad_faults_are_refused(action_api: FakeActionApi) -> None:
    with pytest.raises(ValueError):
        Fault.http_status(200)
    with pytest.raises(ValueError):
        Fault.redirect(status=200)
    with pytest.raises(ValueError):
        action_api.inject(Fault.no_content(), times=-1)


def test_port_before_start_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="not started"):
        FakeActionApi().port


def test_command_line_serves_until_stopped() -> None:
    with subprocess.Popen(
        [sys.executable, "-m", "evgen.testing.action_api", "--port", "0", "--latency-ms", "1"],
        stdout=subprocess.PIPE, text=True,
    ) as proc:
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            assert line.startswith("fake Action API: http://127.0.0.1:")
            template = line.split()[3]
            body: dict[str, Any] = requests.get(template.format(domain="en.wikipedia.org"),
                                                params={**ISSUE_QUERY, "revids": "5"}, timeout=10).json()
            assert body["query"]["pages"][0]["revisions"][0]["slots"]["main"]["content"] == \
                default_revision(5).slots["main"].content
        finally:
            proc.terminate()
            proc.wait(timeout=10)

"""evgen.http.session: pooling, headers, redirects, credentials and TLS, against real servers."""

from __future__ import annotations

import http.server
import threading
import typing
from collections.abc import Callable

import pytest
import requests
import urllib3
from requests.adapters import HTTPAdapter

from evgen.http import EvgenSession, HttpFailure, HttpSettings, RetryPolicy, build_session, send
from evgen.testing.action_api import FakeActionApi, Fault

from .conftest import RecordingProxy

Ask = Callable[..., requests.Response]
Query = Callable[[int], dict[str, str]]


def test_session_is_configured_from_settings() -> None:
    settings = HttpSettings(retries=4, max_redirects=2, headers={"X-Job": "enrich"}, connect_timeout_s=2,
                            read_timeout_s=9)
    s = build_session(settings, pool_size=24)
    adapter = typing.cast(HTTPAdapter, s.get_adapter("https://en.wikipedia.org/w/api.php"))
    assert s.get_adapter("http://127.0.0.1/") is adapter
    assert isinstance(adapter.max_retries, RetryPolicy) and adapter.max_retries.total == 4
    assert adapter.poolmanager.connection_pool_kw["maxsize"] == 24
    assert adapter.poolmanager.connection_pool_kw["block"] is False
    assert s.verify is True and s.max_redirects == 2 and s.settings is settings
    assert s.headers["X-Job"] == "enrich" and s.headers["User-Agent"] == settings.user_agent


def test_pool_size_setting_can_only_grow_the_pool() -> None:
    for configured, workers, expected in ((None, 8, 8), (4, 8, 8), (64, 8, 64)):
        s = build_session(HttpSettings(pool_size=configured), pool_size=workers)
        adapter = typing.cast(HTTPAdapter, s.get_adapter("https://x.org/"))
        assert adapter.poolmanager.connection_pool_kw["maxsize"] == expected


def test_user_agent_and_headers_reach_the_server(action_api: FakeActionApi, ask: Ask, fast: HttpSettings) -> None:
    settings = fast.model_copy(update={"user_agent": "enricher/2 (ops@example.org)", "headers": {"X-Job": "j"}})
    ask(action_api, 1, via=build_session(settings))
    (seen,) = action_api.requests
    assert seen.headers["User-Agent"] == "enricher/2 (ops@example.org)"
    assert seen.headers["X-Job"] == "j"


def test_default_timeouts_apply_and_can_be_overridden(action_api: FakeActionApi, session: EvgenSession,
                                                      query: Query) -> None:
    action_api.inject(Fault.read_timeout(1.0), rev_id=7, times=1)
    url = action_api.endpoint("x")
    # A per-call timeout wins over the session's (0.5 s): the slow answer arrives in time.
    assert session.get(url, params=query(7), timeout=(1, 5)).status_code == 200
    assert action_api.count(7) == 1


# ---------------------------------------------------------------------------------- redirects and credentials


def following(fast: HttpSettings, **update: object) -> EvgenSession:
    return build_session(fast.model_copy(update={"max_redirects": 3, **update}))


def test_redirects_are_not_followed_by_default(action_api: FakeActionApi, session: EvgenSession,
                                               query: Query) -> None:
    action_api.inject(Fault.redirect(), rev_id=7)
    with pytest.raises(HttpFailure) as e:
        send(session, "GET", action_api.endpoint("x"), params=query(7), allow_redirects=True)
    assert e.value.error_type == "http_redirect" and e.value.status == 302
    assert "Location: http://127.0.0.1" in str(e.value)
    assert action_api.count(7) == 1  # the target (same server, /moved/...) was never asked


@pytest.mark.parametrize("target_host", ["127.0.0.1", "localhost"], ids=["same-host-other-port", "other-host"])
def test_credentials_never_follow_a_redirect_to_another_origin(
    action_api: FakeActionApi, other_api: FakeActionApi, fast: HttpSettings, query: Query, target_host: str
) -> None:
    target = f"http://{target_host}:{other_api.port}/en.wikipedia.org/w/api.php?" + "&".join(
        f"{k}={v}" for k, v in query(7).items())
    action_api.inject(Fault.redirect(target))
    s = following(fast, headers={"X-Api-Key": "key-123"}, credential_headers=["X-Api-Key"])
    s.headers["Authorization"] = "Bearer session-token"
    start = action_api.base_url + "/en.wikipedia.org/w/api.php"

    assert s.get(start, params=query(7)).status_code == 200  # session-wide Authorization header
    assert s.get(start, params=query(7), auth=("alice", "basic-pw")).status_code == 200  # basic auth
    assert s.get(start, params=query(7), headers={"Authorization": "Bearer per-request"}).status_code == 200
    s.headers.pop("Authorization")
    userinfo = start.replace("http://", "http://bob:pw-in-url@")
    assert s.get(userinfo, params=query(7)).status_code == 200  # credentials in the URL

    sent = action_api.requests
    assert [("Authorization" in r.headers, r.headers.get("X-Api-Key")) for r in sent] == [
        (True, "key-123")] * 4  # the first origin did get them ...
    received = other_api.requests
    assert len(received) == 4  # ... every redirect was followed ...
    for r in received:  # ... but no credential went along
        assert "Authorization" not in r.headers and "X-Api-Key" not in r.headers


def test_credentials_are_kept_within_the_origin(action_api: FakeActionApi, fast: HttpSettings,
                                                query: Query) -> None:
    action_api.inject(Fault.redirect(), rev_id=7, times=1)  # to /moved/... on the same server
    response = following(fast).get(action_api.endpoint("x"), params=query(7), headers={"Authorization": "Bearer t"})
    assert response.status_code == 200 and len(response.history) == 1
    _, second = action_api.requests_for(7)
    assert second.path.startswith("/moved/") and second.headers["Authorization"] == "Bearer t"


def test_https_upgrade_also_drops_credentials() -> None:
    # requests keeps Authorization on http -> https of the same host; evgen does not.
    assert requests.Session().should_strip_auth("http://wiki.example/a", "https://wiki.example/a") is False
    s = EvgenSession()
    assert s.should_strip_auth("http://wiki.example/a", "https://wiki.example/a") is True
    assert s.should_strip_auth("http://wiki.example:8080/a", "http://wiki.example:8081/a") is True
    assert s.should_strip_auth("http://wiki.example/a", "http://other.example/a") is True
    assert s.should_strip_auth("https://wiki.example/a", "https://wiki.example:443/b") is False
    assert s.should_strip_auth("https://Wiki.Example/a", "https://wiki.example/b") is False


# ---------------------------------------------------------------------------------- TLS


def test_tls_is_verified_by_default(certificate: tuple[str, str], ask: Ask, fast: HttpSettings) -> None:
    with FakeActionApi(tls=certificate) as api:
        assert api.base_url.startswith("https://")
        with pytest.raises(HttpFailure) as e:
            ask(api, 7)
        assert e.value.error_type == "http_tls_error" and "CERTIFICATE_VERIFY_FAILED" in str(e.value)
        assert api.count(7) == 0  # no request got past the handshake
        # The configured CA bundle wins over REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE in the environment.
        trusting = build_session(fast.model_copy(update={"verify_tls": certificate[0]}))
        assert ask(api, 7, via=trusting).status_code == 200
        assert api.count(7) == 1
        with pytest.warns(urllib3.exceptions.InsecureRequestWarning):
            assert ask(api, 7, via=build_session(fast.model_copy(update={"verify_tls": False}))).status_code == 200
        assert api.count(7) == 2


def test_environment_proxies_are_used_and_read_once_per_origin(
    monkeypatch: pytest.MonkeyPatch, fast: HttpSettings, recording_proxy: str
) -> None:
    monkeypatch.setenv("HTTP_PROXY", recording_proxy)
    monkeypatch.setenv("NO_PROXY", "direct.invalid")
    session = build_session(fast)
    assert send(session, "GET", "http://wiki.invalid/w/api.php").status_code == 200
    assert RecordingProxy.targets == ["http://wiki.invalid/w/api.php"]
    with pytest.raises(HttpFailure) as e:  # NO_PROXY: connects directly, and that host does not exist
        send(session, "GET", "http://direct.invalid/w/api.php")
    assert e.value.error_type == "http_connection_error"
    # The environment is read once per origin: a later change does not reach this session ...
    monkeypatch.delenv("HTTP_PROXY")
    assert send(session, "GET", "http://wiki.invalid/w/api.php?again=1").status_code == 200
    assert RecordingProxy.targets[-1] == "http://wiki.invalid/w/api.php?again=1"
    # ... but does reach a new session, which now connects directly (and that host does not exist).
    with pytest.raises(HttpFailure):
        send(build_session(fast), "GET", "http://wiki.invalid/w/api.php")
    assert len(RecordingProxy.targets) == 2


# -- the plain-request path: what requests would send, with less work ---------------------------

PLAIN_CASES = [
    ("GET", "http://127.0.0.1:8089/en.wikipedia.org/w/api.php", {"action": "query", "revids": "7", "rvprop": "ids|content"}, None),
    ("GET", "https://en.wikipedia.org/w/api.php?format=json", {"titles": "Zürich|Ōsaka", "x": ["1", "2"], "none": None}, None),
    ("GET", "https://EN.Wikipedia.org:8443/w/a pi.php", {"q": "a b&c=d/é~", b"raw": b"\xff"}, {"X-Job": "j", "User-Agent": None}),
    ("HEAD", "http://bücher.example/w/api.php", [("a", "1"), ("a", "2")], {"Accept": "application/json"}),
    ("delete", "http://example.org", {}, None),
    ("GET", "http://example.org/w/api.php?", None, None),
]


@pytest.mark.parametrize(("method", "url", "params", "headers"), PLAIN_CASES)
def test_plain_requests_are_prepared_as_requests_prepares_them(method: str, url: str, params: typing.Any,
                                                               headers: typing.Any) -> None:
    session = build_session(HttpSettings(headers={"X-Job": "default"}))
    ours = session._prepare_plain(method, url, params, headers)
    assert ours is not None
    theirs = session.prepare_request(requests.Request(method.upper(), url, params=params or {}, headers=headers, data={}))
    assert (ours.method, ours.url, ours.body) == (theirs.method, theirs.url, theirs.body)
    assert list(ours.headers.items()) == list(theirs.headers.items())
    assert len(ours._cookies) == 0 and ours.hooks == theirs.hooks  # type: ignore[arg-type]


def test_what_the_plain_path_does_not_take_goes_through_requests(monkeypatch: pytest.MonkeyPatch, tmp_path: typing.Any) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine wiki.example login bot password secret\n")
    monkeypatch.setenv("NETRC", str(netrc))
    session = build_session()
    for url in ("https://user:pw@wiki.example/w/api.php", "https://other.example/w/api.php#top",
                "https://wiki.example/w/api.php", "wiki.example/w/api.php", "https://*.example/"):
        assert session._prepare_plain("GET", url, {"a": "1"}, None) is None, url
    assert session._prepare_plain("GET", "https://other.example/w/api.php", "a=1", None) is None  # a raw query string
    assert session._prepare_plain("GET", "https://other.example/w/api.php", {"a": "1"}, None) is not None


class _CookieServer(http.server.BaseHTTPRequestHandler):
    """Records each request line and Cookie header; sets a cookie on the first answer."""

    seen: list[tuple[str, str | None]] = []

    def do_GET(self) -> None:
        type(self).seen.append((self.requestline, self.headers.get("Cookie")))
        body = b"{}"
        self.send_response(200)
        if len(type(self).seen) == 1:
            self.send_header("Set-Cookie", "session=abc; Path=/")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_plain_and_general_paths_send_the_same_and_keep_cookies(fast: HttpSettings) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _CookieServer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _CookieServer.seen = []
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/w/api.php"
        session = build_session(fast)
        first = send(session, "GET", url, params={"titles": "Zürich|x y"})
        assert first.json() == {} and first.request.url == f"{url}?titles=Z%C3%BCrich%7Cx+y"
        assert session.cookies.get("session") == "abc"  # persisted, as requests persists it
        second = send(session, "GET", url, params={"titles": "Zürich|x y"})  # with a cookie: requests' own path
        assert second.status_code == 200
        plain = requests.Session()
        plain.get(url, params={"titles": "Zürich|x y"})
        (line1, cookie1), (line2, cookie2), (line3, _) = _CookieServer.seen
        assert line1 == line2 == line3 == "GET /w/api.php?titles=Z%C3%BCrich%7Cx+y HTTP/1.1"
        assert (cookie1, cookie2) == (None, "session=abc")
    finally:
        server.shutdown()
        server.server_close()

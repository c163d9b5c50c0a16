"""Fixtures for the evgen.http tests: fast settings, a way to query the fake Action API, a second
fake, and a self-signed certificate."""

from __future__ import annotations

import http.server
import shutil
import subprocess
import threading
import typing
from collections.abc import Callable, Iterator

import pytest
import requests

from evgen.http import EvgenSession, HttpSettings, build_session, send
from evgen.testing.action_api import FakeActionApi

Query = Callable[[int], dict[str, str]]
Ask = Callable[..., requests.Response]


class Event(typing.NamedTuple):
    """What the process functions of the injection tests take: a revision and its API endpoint."""

    rev_id: int
    url: str


class Out(typing.NamedTuple):
    """What they return: the revision and the status of the answer."""

    rev_id: int
    status: int


@pytest.fixture
def fast() -> HttpSettings:
    """Short timeouts, 2 retries, no backoff: failure classes show up in a fraction of a second."""
    return HttpSettings(connect_timeout_s=0.3, read_timeout_s=0.5, retries=2, backoff_factor=0.0,
                        backoff_jitter=0.0, retry_after_max_s=5.0)


@pytest.fixture
def session(fast: HttpSettings) -> Iterator[EvgenSession]:
    with build_session(fast, pool_size=4) as s:
        yield s


@pytest.fixture
def query() -> Query:
    """The revision query the fake answers, for ``rev_id``."""

    def make(rev_id: int) -> dict[str, str]:
        return {"action": "query", "prop": "revisions", "revids": str(rev_id), "rvslots": "*",
                "rvprop": "content", "format": "json", "formatversion": "2"}

    return make


@pytest.fixture
def ask(session: EvgenSession, query: Query) -> Ask:
    """``ask(api, rev_id, via=session)``: :func:`evgen.http.send` the revision query to ``api``."""

    def call(api: FakeActionApi, rev_id: int, *, via: requests.Session | None = None) -> requests.Response:
        return send(via or session, "GET", api.endpoint("en.wikipedia.org"), params=query(rev_id))

    return call


@pytest.fixture
def other_api() -> Iterator[FakeActionApi]:
    with FakeActionApi() as api:
        yield api


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    return str(cert), str(key)


class RecordingProxy(http.server.BaseHTTPRequestHandler):
    """An HTTP proxy that answers every request itself and records the request line's target."""

    targets: list[str] = []

    def do_GET(self) -> None:  # noqa: N802
        self.targets.append(self.path)
        body = b"{}"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def recording_proxy() -> Iterator[str]:
    """The URL of a started :class:`RecordingProxy` (its ``targets`` emptied)."""
    RecordingProxy.targets = []
    proxy = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RecordingProxy)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{proxy.server_address[1]}"
    finally:
        proxy.shutdown()
        proxy.server_close()

"""A real, local fake of the MediaWiki Action API for tests and demos.

:class:`FakeActionApi` is an HTTP server on 127.0.0.1 (a free port; aiohttp's server on an
event loop in one daemon thread, so slow answers in flight cost no threads) answering
``action=query&prop=revisions&revids=...&rvslots=*`` in the real ``formatversion=2`` JSON
shape from an in-memory store. Any revision answers: content is
generated deterministically from the rev id unless added with :meth:`FakeActionApi.add_revision`.
It injects every failure class of the enrichment table (:class:`Fault`), per rev id or for all
requests, always or N times then succeeding; adds latency; and counts requests per rev id,
in-flight requests and connections, server side and thread-safely.

    with FakeActionApi(latency_s=0.05) as api:
        api.inject(Fault.http_status(503), rev_id=42, times=2)     # flaky: 2 failures, then 200
        ActionApi(session, api.url_template).revision_slots("en.wikipedia.org", 42)
        assert api.count(42) == 3

The endpoint of wiki ``<domain>`` is ``http://127.0.0.1:<port>/<domain>/w/api.php`` (see
:attr:`FakeActionApi.url_template`). In tests use the ``action_api`` fixture; from a shell,
``python -m evgen.testing.action_api --port 8089`` serves until interrupted.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import socket
import ssl
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from aiohttp import web

from evgen.http.aio import LoopThread

#: ``rvprop`` values MediaWiki knows for ``prop=revisions`` (others draw an "Unrecognized value" warning).
KNOWN_RVPROPS = frozenset(
    "ids flags timestamp user userid size slotsize sha1 slotsha1 contentmodel comment "
    "parsedcomment content tags roles parsetree".split()
)
_JSON_TYPE = "application/json; charset=utf-8"
_SERVER = "evgen-fake-action-api/1"
_DOCREF = "See http://127.0.0.1/w/api.php for API usage (evgen fake Action API)."
_WORDS = ("lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor "
          "incididunt ut labore et dolore magna aliqua").split()


# --------------------------------------------------------------------------------------
# Content store
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FakeSlot:
    """Content of one slot, as stored."""

    content: str
    model: str = "wikitext"
    format: str = "text/x-wiki"

    @property
    def size(self) -> int:
        return len(self.content.encode("utf-8"))

    @property
    def sha1_hex(self) -> str:
        return hashlib.sha1(self.content.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class FakeRevision:
    """A stored revision; ``hidden`` answers as revision-deleted content (``texthidden``)."""

    rev_id: int
    slots: Mapping[str, FakeSlot]
    page_id: int
    title: str
    namespace: int = 0
    hidden: bool = False

    @property
    def size(self) -> int:
        """Revision size: the sum of its slots' sizes (as MediaWiki computes it)."""
        return sum(s.size for s in self.slots.values())

    @property
    def sha1_hex(self) -> str:
        """Revision sha1 as MediaWiki computes it (RevisionSlots::computeSha1), in hex."""
        accu: str | None = None
        for role in sorted(self.slots):
            slot36 = _base36(self.slots[role].sha1_hex)
            accu = slot36 if accu is None else _base36(hashlib.sha1((accu + slot36).encode()).hexdigest())
        if accu is None:
            return hashlib.sha1(b"").hexdigest()
        return format(int(accu, 36), "040x")


def _base36(hex_digest: str) -> str:
    n, digits = int(hex_digest, 16), "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while n:
        n, r = divmod(n, 36)
        out = digits[r] + out
    return out.rjust(31, "0")


def default_revision(rev_id: int) -> FakeRevision:
    """The revision answered for ``rev_id`` when none was added: deterministic wikitext."""
    words = " ".join(_WORDS[(rev_id * 7 + i * 3) % len(_WORDS)] for i in range(5 + rev_id % 17))
    content = f"== Revision {rev_id} ==\n{words.capitalize()}.\n"
    return FakeRevision(rev_id=rev_id, slots={"main": FakeSlot(content)}, page_id=rev_id, title=f"Page {rev_id}")


# --------------------------------------------------------------------------------------
# Faults
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fault:
    """One injected failure. Build with the class methods, e.g. ``Fault.http_status(503)``."""

    kind: str
    status: int = 200
    retry_after: str | None = None
    location: str | None = None
    delay_s: float = 0.0
    lag: float = 0.0
    code: str = ""
    info: str = ""

    @classmethod
    def http_status(cls, status: int, *, retry_after: int | str | None = None) -> Fault:
        """Answer ``status`` (408/5xx with an HTML error page, 4xx too), optionally with ``Retry-After``."""
        if not 400 <= status < 600:
            raise ValueError(f"http_status takes a 4xx/5xx status, got {status}")
        return cls("status", status=status, retry_after=None if retry_after is None else str(retry_after))

    @classmethod
    def no_content(cls) -> Fault:
        """Answer 204 No Content."""
        return cls("no_content", status=204)

    @classmethod
    def redirect(cls, location: str | None = None, *, status: int = 302) -> Fault:
        """Answer a 3xx to ``location`` (default: the same request under ``/moved``)."""
        if not 300 <= status < 400:
            raise ValueError(f"redirect takes a 3xx status, got {status}")
        return cls("redirect", status=status, location=location)

    @classmethod
    def read_timeout(cls, delay_s: float = 5.0) -> Fault:
        """Accept the request but send nothing for ``delay_s`` (then answer normally)."""
        return cls("read_timeout", delay_s=delay_s)

    @classmethod
    def stall_body(cls, delay_s: float = 5.0) -> Fault:
        """Send the headers and half the body, then stall ``delay_s`` (a read timeout mid-body)."""
        return cls("stall_body", delay_s=delay_s)

    @classmethod
    def badrevids(cls) -> Fault:
        """Answer 200 with every requested revision in ``query.badrevids`` (e.g. replica lag)."""
        return cls("badrevids")

    @classmethod
    def maxlag(cls, lag: float = 7.0, *, retry_after: int | str | None = None) -> Fault:
        """Answer the ``maxlag`` error (200, ``Retry-After``, ``X-Database-Lag``) to requests whose
        ``maxlag`` parameter is below ``lag``, as MediaWiki does. ``Retry-After`` defaults to
        MediaWiki's ``max(maxlag, 5)``."""
        return cls("maxlag", lag=lag, retry_after=None if retry_after is None else str(retry_after))

    @classmethod
    def api_error(cls, code: str = "internal_api_error_DBQueryError", info: str = "A database error occurred.") -> Fault:
        """Answer 200 with an Action API ``error`` other than maxlag."""
        return cls("api_error", code=code, info=info)

    @classmethod
    def invalid_body(cls) -> Fault:
        """Answer 200 with an HTML page instead of JSON."""
        return cls("invalid_body")


@dataclass
class _Rule:
    fault: Fault
    rev_id: int | None
    remaining: int | None


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server saw it."""

    method: str
    path: str
    domain: str | None
    params: dict[str, str]
    headers: dict[str, str]
    rev_ids: tuple[int, ...]
    fault: str | None
    connection: int
    at: float = field(compare=False)


# --------------------------------------------------------------------------------------
# Server
# --------------------------------------------------------------------------------------


class FakeActionApi:
    """The fake Action API server (start with ``with`` or :meth:`start`; stop with :meth:`close`).

    ``latency_s``: each answer leaves that long after its request came in (the fake's own work
    included). ``tls=(certfile, keyfile)`` serves HTTPS instead of HTTP.
    """

    def __init__(
        self,
        *,
        latency_s: float = 0.0,
        host: str = "127.0.0.1",
        default: Callable[[int], FakeRevision] = default_revision,
        port: int = 0,
        tls: tuple[str, str] | None = None,
    ) -> None:
        self.latency_s = latency_s
        self._tls = tls
        self._host = host
        self._port = port
        self._default = default
        self._lock = threading.Lock()
        self._revisions: dict[tuple[str | None, int], FakeRevision] = {}
        self._rules: list[_Rule] = []
        self._counts: defaultdict[int, int] = defaultdict(int)
        self._requests: list[RecordedRequest] = []
        self._in_flight = 0
        self._max_in_flight = 0
        self._connections = 0
        self._connection_ids: dict[web.RequestHandler, int] = {}
        self._connection_serial = 0
        self._barrier: asyncio.Barrier | None = None
        self._barrier_timeout_s = 10.0
        self._loop: LoopThread | None = None
        self._runner: web.ServerRunner | None = None
        self._bound_port: int | None = None
        self._blackhole: _Blackhole | None = None

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> FakeActionApi:
        """Bind and serve from an event loop in a daemon thread."""
        if self._loop is None:
            self._loop = LoopThread("fake-action-api")
            try:
                self._loop.run(self._serve())
            except BaseException:
                self.close()
                raise
        return self

    async def _serve(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self._host, self._port))
        context = None
        if self._tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*self._tls)
        # shutdown_timeout: handlers still sleeping (latency, stalls) when the server closes
        # are cancelled at once; http.server-sized request lines and headers are accepted.
        self._runner = web.ServerRunner(
            _Server(self, access_log=None, max_line_size=65536, max_field_size=65536), shutdown_timeout=0.1,
        )
        await self._runner.setup()
        await web.SockSite(self._runner, sock, ssl_context=context, backlog=512).start()
        self._bound_port = int(sock.getsockname()[1])

    def close(self) -> None:
        """Stop serving: cancel sleeping handlers and close every connection."""
        loop, runner = self._loop, self._runner
        self._loop, self._runner, self._bound_port = None, None, None
        if loop is not None:
            try:
                if runner is not None:
                    loop.run(runner.cleanup())
            finally:
                loop.close()
        if self._blackhole is not None:
            self._blackhole.close()
            self._blackhole = None

    def __enter__(self) -> FakeActionApi:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- addresses ----------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._bound_port is None:
            raise RuntimeError("FakeActionApi is not started")
        return self._bound_port

    @property
    def base_url(self) -> str:
        scheme = "https" if self._tls is not None else "http"
        return f"{scheme}://{self._host}:{self.port}"

    @property
    def url_template(self) -> str:
        """Endpoint template for :class:`evgen.mediawiki.ActionApi`: ``http://127.0.0.1:<port>/{domain}/w/api.php``."""
        return f"{self.base_url}/{{domain}}/w/api.php"

    def endpoint(self, domain: str) -> str:
        return self.url_template.format(domain=domain)

    @property
    def connect_timeout_url_template(self) -> str:
        """A template whose endpoints never accept a connection: every connect times out.

        A loopback socket that listens but never accepts, its accept queue filled up front:
        Linux then drops further SYNs, so ``connect()`` waits until the client's connect timeout.
        (No request reaches any server, so there are no server-side counts for this class.)
        """
        with self._lock:
            if self._blackhole is None:
                self._blackhole = _Blackhole(self._host)
            port = self._blackhole.port
        return f"http://{self._host}:{port}/{{domain}}/w/api.php"

    # -- content ------------------------------------------------------------------------

    def add_revision(
        self,
        rev_id: int,
        slots: str | Mapping[str, str | FakeSlot] | None = None,
        *,
        domain: str | None = None,
        page_id: int | None = None,
        title: str | None = None,
        namespace: int = 0,
        hidden: bool = False,
    ) -> FakeRevision:
        """Store revision ``rev_id`` (for ``domain`` only, or for every wiki when None)."""
        base = self._default(rev_id)
        if slots is None:
            slot_map: dict[str, FakeSlot] = dict(base.slots)
        elif isinstance(slots, str):
            slot_map = {"main": FakeSlot(slots)}
        else:
            slot_map = {role: s if isinstance(s, FakeSlot) else FakeSlot(s) for role, s in slots.items()}
        revision = FakeRevision(
            rev_id=rev_id, slots=slot_map, page_id=base.page_id if page_id is None else page_id,
            title=base.title if title is None else title, namespace=namespace, hidden=hidden,
        )
        with self._lock:
            self._revisions[(domain, rev_id)] = revision
        return revision

    def revision(self, rev_id: int, domain: str | None = None) -> FakeRevision:
        """The revision the server answers for ``rev_id`` on ``domain``."""
        with self._lock:
            found = self._revisions.get((domain, rev_id)) or self._revisions.get((None, rev_id))
        return found or self._default(rev_id)

    # -- faults, latency, rendezvous ----------------------------------------------------

    def inject(self, fault: Fault, *, rev_id: int | None = None, times: int | None = None) -> None:
        """Answer requests for ``rev_id`` (any request when None) with ``fault``.

        ``times=N`` fails N matching requests, then answers normally (flakiness); None: always.
        The latest injection matching a request wins.
        """
        if times is not None and times < 0:
            raise ValueError("times must be >= 0 or None")
        with self._lock:
            self._rules.append(_Rule(fault, rev_id, times))

    def clear_faults(self) -> None:
        with self._lock:
            self._rules.clear()

    def rendezvous(self, parties: int | None, timeout_s: float = 10.0) -> None:
        """Hold each request until ``parties`` requests are in flight together (None: off).

        Proves concurrency without timing: if the client serialized its requests, the
        rendezvous would time out and the requests would be answered 503.
        """
        with self._lock:
            self._barrier = asyncio.Barrier(parties) if parties else None
            self._barrier_timeout_s = timeout_s

    # -- counts -------------------------------------------------------------------------

    def count(self, rev_id: int) -> int:
        """Requests that asked for ``rev_id`` (failed ones included)."""
        with self._lock:
            return self._counts.get(rev_id, 0)

    @property
    def total_requests(self) -> int:
        with self._lock:
            return len(self._requests)

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request so far, in arrival order."""
        with self._lock:
            return list(self._requests)

    def requests_for(self, rev_id: int) -> list[RecordedRequest]:
        return [r for r in self.requests if rev_id in r.rev_ids]

    @property
    def max_in_flight(self) -> int:
        """The most requests the server was handling at the same time."""
        with self._lock:
            return self._max_in_flight

    @property
    def in_flight(self) -> int:
        """Requests the server is handling now (a handler finishes as its answer is handed over to be sent;
        a stalled body's, after its last byte)."""
        with self._lock:
            return self._in_flight

    @property
    def connections(self) -> int:
        """TCP connections accepted so far (keep-alive reuse keeps this low)."""
        with self._lock:
            return self._connections

    def reset_counts(self) -> None:
        with self._lock:
            self._counts.clear()
            self._requests.clear()
            self._max_in_flight = self._in_flight
            self._connections = 0

    # -- server side (called on the event loop) -----------------------------------------

    def _opened(self, connection: web.RequestHandler) -> None:
        with self._lock:
            self._connections += 1
            self._connection_serial += 1
            self._connection_ids[connection] = self._connection_serial

    def _closed(self, connection: web.RequestHandler) -> None:
        with self._lock:
            self._connection_ids.pop(connection, None)

    def _begin(self, request: RecordedRequest, params: Mapping[str, str]) -> tuple[Fault | None, RecordedRequest]:
        with self._lock:
            fault = self._pick_fault(request.rev_ids, params)
            if fault is not None:
                request = dataclasses.replace(request, fault=fault.kind)
            self._requests.append(request)
            for rev_id in request.rev_ids:
                self._counts[rev_id] += 1
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)
            return fault, request

    def _end(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def _pick_fault(self, rev_ids: tuple[int, ...], params: Mapping[str, str]) -> Fault | None:
        for rule in reversed(self._rules):
            if rule.remaining == 0:
                continue
            if rule.rev_id is not None and rule.rev_id not in rev_ids:
                continue
            if rule.fault.kind == "maxlag" and not _lagging(rule.fault, params):
                continue
            if rule.remaining is not None:
                rule.remaining -= 1
            return rule.fault
        return None

    async def _meet(self) -> bool:
        with self._lock:
            barrier, timeout = self._barrier, self._barrier_timeout_s
        if barrier is None:
            return True
        try:
            await asyncio.wait_for(barrier.wait(), timeout)
            return True
        except TimeoutError:
            await barrier.abort()  # as a threading.Barrier does: everyone waiting fails too
            return False
        except asyncio.BrokenBarrierError:
            return False

    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        form: dict[str, str] = {}
        if request.method == "POST":
            form = dict(parse_qsl((await request.read()).decode("utf-8", "replace"), keep_blank_values=True))
        parts = urlsplit(request.raw_path)
        params = {**dict(parse_qsl(parts.query, keep_blank_values=True)), **form}
        segments = [s for s in parts.path.split("/") if s]
        domain = segments[0] if len(segments) >= 3 else (request.headers.get("Host") or "").split(":")[0] or None
        with self._lock:
            connection = self._connection_ids.get(request.protocol, 0)
        seen = RecordedRequest(
            method=request.method, path=parts.path, domain=domain, params=params,
            headers=dict(request.headers.items()), rev_ids=_rev_ids(params.get("revids", "")), fault=None,
            connection=connection, at=time.monotonic(),
        )
        fault, _ = self._begin(seen, params)
        try:
            if not await self._meet():
                return _response(503, b"rendezvous timed out", "text/plain")
            # The latency runs from here: an answer leaves latency_s after its request was let
            # through, not latency_s plus the fake's own work (it is built while waiting).
            due = time.monotonic() + self.latency_s
            if not parts.path.endswith("/api.php"):
                response = _response(404, b"<html><body><h1>Not Found</h1></body></html>", "text/html")
            elif fault is None:
                response = self._answer(params, domain)
            else:
                await asyncio.sleep(due - time.monotonic())  # (at once if due has passed)
                return await self._fault(request, fault, params, domain)
            await asyncio.sleep(due - time.monotonic())
            return response
        finally:
            self._end()

    # -- answers ------------------------------------------------------------------------

    def _answer(self, params: Mapping[str, str], domain: str | None) -> web.Response:
        problem = _check_params(params)
        if problem is not None:
            return _api_error(*problem)
        return _json(self._revisions_payload(params, domain))

    def _revisions_payload(self, params: Mapping[str, str], domain: str | None) -> dict[str, Any]:
        props = [p for p in params.get("rvprop", "ids|timestamp|flags|comment|user").split("|") if p]
        unknown = [p for p in props if p not in KNOWN_RVPROPS]
        wanted = set(props) & KNOWN_RVPROPS
        roles = params.get("rvslots")
        payload: dict[str, Any] = {"batchcomplete": True}
        if unknown:
            payload["warnings"] = {"revisions": {"warnings": (
                f'Unrecognized value{"s" if len(unknown) > 1 else ""} for parameter "rvprop": {", ".join(unknown)}.')}}
        pages: dict[int, dict[str, Any]] = {}
        for rev_id in _rev_ids(params.get("revids", "")):
            rev = self.revision(rev_id, domain)
            page = pages.setdefault(rev.page_id, {"pageid": rev.page_id, "ns": rev.namespace,
                                                  "title": rev.title, "revisions": []})
            page["revisions"].append(_revision_json(rev, wanted, roles))
        payload["query"] = {"pages": list(pages.values())}
        return payload

    async def _fault(self, request: web.BaseRequest, fault: Fault, params: Mapping[str, str],
                     domain: str | None) -> web.StreamResponse:
        kind = fault.kind
        if kind == "status":
            headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else None
            page = f"<!DOCTYPE html><html><body><h1>Error {fault.status}</h1></body></html>".encode()
            return _response(fault.status, page, "text/html; charset=utf-8", headers)
        if kind == "no_content":
            return _response(204)
        if kind == "redirect":
            location = fault.location or f"{self.base_url}/moved{request.raw_path}"
            return _response(fault.status, b"", "text/html; charset=utf-8", {"Location": location})
        if kind == "read_timeout":
            await asyncio.sleep(fault.delay_s)
            return self._answer(params, domain)
        if kind == "stall_body":
            body = json.dumps(self._revisions_payload(params, domain)).encode("utf-8")
            response = web.StreamResponse(status=200, headers={"Content-Type": _JSON_TYPE, "Server": _SERVER})
            response.content_length = len(body)
            try:
                await response.prepare(request)
                await response.write(body[: len(body) // 2])
                await asyncio.sleep(fault.delay_s)
                await response.write(body[len(body) // 2:])
                await response.write_eof()
            except ConnectionError:  # the client went away (it timed out first)
                pass
            return response
        if kind == "badrevids":
            bad = {str(r): {"revid": r, "missing": True} for r in _rev_ids(params.get("revids", ""))}
            return _json({"batchcomplete": True, "query": {"badrevids": bad}})
        if kind == "maxlag":
            requested = int(params.get("maxlag", "5"))
            retry_after = fault.retry_after if fault.retry_after is not None else str(max(requested, 5))
            lag = int(fault.lag) if float(fault.lag).is_integer() else fault.lag
            return _api_error(
                "maxlag", f"Waiting for 10.64.0.1: {lag} seconds lagged.",
                {"Retry-After": retry_after, "X-Database-Lag": str(int(fault.lag))},
                host="10.64.0.1", lag=lag, type="db",
            )
        if kind == "api_error":
            return _api_error(fault.code, fault.info)
        if kind == "invalid_body":
            return _response(200, b"<!DOCTYPE html><html><body>Upstream connect error</body></html>", "text/html")
        raise ValueError(f"unknown fault kind {kind!r}")  # pragma: no cover - Fault makes only the kinds above


def _lagging(fault: Fault, params: Mapping[str, str]) -> bool:
    try:
        return "maxlag" in params and fault.lag > int(params["maxlag"])
    except ValueError:
        return False


class _Server(web.Server):
    """aiohttp's low-level server, telling the fake about each connection it accepts and loses."""

    def __init__(self, api: FakeActionApi, **kwargs: Any) -> None:
        super().__init__(api._handle, **kwargs)
        self.api = api

    def connection_made(self, handler: web.RequestHandler, transport: asyncio.Transport) -> None:
        super().connection_made(handler, transport)
        self.api._opened(handler)

    def connection_lost(self, handler: web.RequestHandler, exc: BaseException | None = None) -> None:
        super().connection_lost(handler, exc)
        self.api._closed(handler)


def _response(status: int, body: bytes = b"", content_type: str = _JSON_TYPE,
              headers: Mapping[str, str] | None = None) -> web.Response:
    response = web.Response(status=status, headers={"Server": _SERVER, **(headers or {})})
    if status != 204:
        response.headers["Content-Type"] = content_type
        response.body = body
    return response


def _json(payload: Mapping[str, Any], headers: Mapping[str, str] | None = None) -> web.Response:
    return _response(200, json.dumps(payload, ensure_ascii=False).encode("utf-8"), headers=headers)


def _api_error(code: str, info: str, headers: Mapping[str, str] | None = None, **extra: Any) -> web.Response:
    payload = {"error": {"code": code, "info": info, **extra, "docref": _DOCREF}, "servedby": "fake-mw1"}
    return _json(payload, {"MediaWiki-API-Error": code, **(headers or {})})


def _rev_ids(text: str) -> tuple[int, ...]:
    out = []
    for part in text.split("|"):
        if part.strip().isdigit():
            out.append(int(part))
    return tuple(out)


def _check_params(params: Mapping[str, str]) -> tuple[str, str] | None:
    if params.get("action") != "query":
        return ("badvalue", 'This fake answers only "action=query".')
    if params.get("format") != "json" or params.get("formatversion") != "2":
        return ("badvalue", 'This fake answers only "format=json&formatversion=2".')
    if "revisions" not in params.get("prop", "").split("|"):
        return ("badvalue", 'This fake answers only "prop=revisions".')
    revids = params.get("revids", "")
    if not revids:
        return ("missingparam", 'The "revids" parameter must be set.')
    for part in revids.split("|"):
        if not part.strip().isdigit():
            return ("badinteger", f'Invalid value "{part}" for integer parameter "revids".')
    return None


def _revision_json(rev: FakeRevision, props: set[str], roles_param: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "ids" in props:
        out["revid"] = rev.rev_id
        out["parentid"] = 0
    if "size" in props:
        out["size"] = rev.size
    if "sha1" in props:
        if rev.hidden:
            out["sha1hidden"] = True
        else:
            out["sha1"] = rev.sha1_hex
    need_slots = bool(props & {"content", "contentmodel", "slotsize", "slotsha1"})
    if need_slots:
        if not roles_param:
            main = rev.slots.get("main")  # legacy (pre-MCR) shape: main slot fields on the revision
            if main is not None:
                out.update(_slot_json(main, props, rev.hidden))
        else:
            wanted = set(rev.slots) if roles_param == "*" else set(roles_param.split("|"))
            out["slots"] = {role: _slot_json(slot, props, rev.hidden)
                            for role, slot in rev.slots.items() if role in wanted}
    return out


def _slot_json(slot: FakeSlot, props: set[str], hidden: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "slotsize" in props:
        out["size"] = slot.size
    if "slotsha1" in props:
        if hidden:
            out["sha1hidden"] = True
        else:
            out["sha1"] = slot.sha1_hex
    if "contentmodel" in props:
        out["contentmodel"] = slot.model
    if "content" in props:
        if hidden:
            out["texthidden"] = True
        else:
            out["contentmodel"] = slot.model
            out["contentformat"] = slot.format
            out["content"] = slot.content
    return out


class _Blackhole:
    """A loopback port whose accept queue is full, so connecting to it times out."""

    def __init__(self, host: str) -> None:
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind((host, 0))
        self._listener.listen(0)
        self.port = int(self._listener.getsockname()[1])
        self._fillers: list[socket.socket] = []
        for _ in range(64):
            probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            probe.settimeout(0.25)
            try:
                probe.connect((host, self.port))
            except OSError:  # the queue is full: SYNs are dropped from now on
                probe.close()
                return
            self._fillers.append(probe)
        self.close()
        raise RuntimeError("could not fill a loopback accept queue to simulate connect timeouts")

    def close(self) -> None:
        for sock in self._fillers:
            sock.close()
        self._fillers.clear()
        self._listener.close()


# --------------------------------------------------------------------------------------
# command line
# --------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    """Serve a fake Action API until interrupted: ``python -m evgen.testing.action_api``."""
    import click

    @click.command()
    @click.option("--port", default=8089, show_default=True, help="port on 127.0.0.1 (0: any free port)")
    @click.option("--latency-ms", default=0.0, show_default=True, help="delay added to every answer")
    def serve(port: int, latency_ms: float) -> None:
        with FakeActionApi(port=port, latency_s=latency_ms / 1000) as api:
            click.echo(f"fake Action API: {api.url_template}  (Ctrl-C to stop)")
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass

    serve.main(args=argv, prog_name="python -m evgen.testing.action_api", standalone_mode=True)


if __name__ == "__main__":
    main()

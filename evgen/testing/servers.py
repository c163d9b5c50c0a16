"""Real HTTP servers on 127.0.0.1 for testing what evgen reaches over HTTP.

- :class:`StaticFileServer` serves a directory, e.g. a schema repository. Like a
  web server over a git checkout with real symlinks, it *follows* Wikimedia's
  text-file "symlinks" (``latest`` containing ``1.2.0.yaml``), unless told not to.
- :class:`StreamConfigServer` answers the MediaWiki Action API's
  ``GET /w/api.php?action=streamconfigs&format=json&streams=a|b`` from a stream
  config document, filtered to the requested streams (regex stream names are
  included when a requested name matches them).

Both run in a daemon thread on a free port, are context managers, and record the
paths they were asked for. The pytest fixtures ``static_file_server`` and
``stream_config_server`` are factories whose servers stop after the test.

    with StaticFileServer(Path("schemas/jsonschema")) as repo, \\
         StreamConfigServer(Path("streamconfigs.json")) as api:
        SchemaRepository([repo.url]).get("/mediawiki/page/change/1.1.0")
        StreamConfigs.load(api.url, streams=["mediawiki.page_change.v1"])
"""

from __future__ import annotations

import json
import mimetypes
import threading
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from evgen import jsonyaml
from evgen.schemas import pointer_target
from evgen.streamconfig import name_pattern

__all__ = ["StaticFileServer", "StreamConfigServer"]


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, owner: _Server, handler: type[BaseHTTPRequestHandler]) -> None:
        self.owner = owner
        super().__init__(("127.0.0.1", 0), handler)


class _Server:
    """A started-on-demand ThreadingHTTPServer in a daemon thread."""

    def __init__(self) -> None:
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.requests: list[str] = []  #: request targets (path + query), in arrival order

    handler: type[BaseHTTPRequestHandler]

    def start(self) -> _Server:
        if self._httpd is None:
            self._httpd = _HTTPServer(self, self.handler)
            self._thread = threading.Thread(
                target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name=type(self).__name__, daemon=True
            )
            self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving and free the port."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            if self._thread is not None:
                self._thread.join(timeout=5)
            self._httpd = None

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>`` (the server must be started)."""
        if self._httpd is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def record(self, target: str) -> None:
        with self._lock:
            self.requests.append(target)


class _QuietHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature of the base class
        pass

    def send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


class _FileHandler(_QuietHandler):
    server: _HTTPServer

    def do_HEAD(self) -> None:  # noqa: N802 - http.server naming
        self.do_GET()

    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        owner = self.server.owner
        assert isinstance(owner, StaticFileServer)
        owner.record(self.path)
        found = owner.lookup(unquote(urlsplit(self.path).path))
        if found is None:
            self.send(404, b"not found\n", "text/plain")
            return
        body, path = found
        content_type = "application/yaml" if path.suffix in (".yaml", ".yml") else (
            mimetypes.guess_type(path.name)[0] or "text/plain"
        )
        self.send(200, body, content_type)


class StaticFileServer(_Server):
    """Serves the files under ``root`` (no directory listings, nothing outside ``root``)."""

    handler = _FileHandler

    def __init__(self, root: Path | str, *, follow_text_symlinks: bool = True) -> None:
        super().__init__()
        self.root = Path(root).resolve()
        self.follow_text_symlinks = follow_text_symlinks

    @property
    def url(self) -> str:
        """Base URL of the served directory."""
        return self.base_url

    def lookup(self, url_path: str) -> tuple[bytes, Path] | None:
        """(body, file) served for ``url_path``, None when absent."""
        path = (self.root / url_path.lstrip("/")).resolve()
        for _ in range(5):
            if not path.is_relative_to(self.root) or not path.is_file():
                return None
            body = path.read_bytes()
            target = pointer_target(body) if self.follow_text_symlinks else None
            if target is None or not (path.parent / target).is_file():
                return body, path
            path = (path.parent / target).resolve()
        return None


class _ApiHandler(_QuietHandler):
    server: _HTTPServer

    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        owner = self.server.owner
        assert isinstance(owner, StreamConfigServer)
        owner.record(self.path)
        parts = urlsplit(self.path)
        if parts.path != owner.path:
            self.send(404, b"not found\n", "text/plain")
            return
        params = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        status, answer = owner.answer(params)
        self.send(status, json.dumps(answer).encode("utf-8"), "application/json; charset=utf-8")


class StreamConfigServer(_Server):
    """A MediaWiki ``action=streamconfigs`` endpoint over a stream config document or file."""

    handler = _ApiHandler
    path = "/w/api.php"

    def __init__(self, config: Mapping[str, Any] | Path | str) -> None:
        super().__init__()
        if isinstance(config, (str, Path)):
            config = jsonyaml.loads(Path(config).read_bytes(), str(config))
        assert isinstance(config, Mapping)
        streams = config.get("streams", config)
        self.streams: dict[str, Any] = dict(streams)

    @property
    def url(self) -> str:
        """The ``api.php`` URL."""
        return self.base_url + self.path

    def answer(self, params: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
        """(HTTP status, JSON body) for the query ``params``, as MediaWiki answers them."""
        if params.get("action") != "streamconfigs":
            return 200, _api_error("badvalue", f'Unrecognized value for parameter "action": {params.get("action")}.')
        if params.get("format") != "json":
            return 200, _api_error("badvalue", "Only format=json is served here.")
        wanted = [s for s in params.get("streams", "").split("|") if s]
        if not wanted:
            return 200, {"streams": self.streams}
        selected: dict[str, Any] = {}
        for name, entry in self.streams.items():
            pattern = name_pattern(name)
            if name in wanted or (pattern is not None and any(pattern.search(w) for w in wanted)):
                selected[name] = entry
        return 200, {"streams": selected}


def _api_error(code: str, info: str) -> dict[str, Any]:
    return {"error": {"code": code, "info": info, "*": "See the API help for usage."}}

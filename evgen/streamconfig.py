"""Stream config: what the Event Platform knows about each stream.

Mirrors Wikimedia's EventStreamConfig. A config is loaded from the MediaWiki
Action API (``GET <api.php>?action=streamconfigs&format=json&streams=a|b``) or
from a JSON/YAML file of the same shape, ``{"streams": {<name>: {...}}}``.
Stream names may be regexes (``/^mediawiki\\.job\\..+/``); a concrete name
matches them.

    >>> configs = StreamConfigs.load("../shared/wikimedia/streamconfigs.json")  # doctest: +SKIP
    >>> cfg = configs.get("mediawiki.page_change.v1")                           # doctest: +SKIP
    >>> cfg.schema_title, cfg.topics                                            # doctest: +SKIP
    ('mediawiki/page/change', ('eqiad.mediawiki.page_change.v1', 'codfw.mediawiki.page_change.v1'))
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from requests import RequestException

from evgen import jsonyaml
from evgen.errors import StreamConfigError
from evgen.uris import http_session, is_http, local_path, request_failure

__all__ = ["StreamConfig", "StreamConfigs", "name_pattern"]


@dataclass(frozen=True)
class StreamConfig:
    """The settings of one concrete stream."""

    stream: str
    schema_title: str
    topics: tuple[str, ...]
    topic_prefixes: tuple[str, ...] | None = None
    destination_event_service: str | None = None
    canary_events_enabled: bool = True
    message_key_fields: dict[str, str] = field(default_factory=dict, hash=False)

    @property
    def write_prefix(self) -> str:
        """The topic prefix a generated job writes with: ``eqiad.`` if the stream has it, else its
        first prefix ("" without prefixes).

            >>> StreamConfig("s", "t", ("codfw.s", "eqiad.s"), ("codfw.", "eqiad.")).write_prefix
            'eqiad.'
        """
        prefixes = self.topic_prefixes or ()
        return "eqiad." if "eqiad." in prefixes else (prefixes[0] if prefixes else "")

    def to_dict(self) -> dict[str, Any]:
        """JSON-shaped dict (as in a stream config entry)."""
        return {
            "stream": self.stream,
            "schema_title": self.schema_title,
            "topics": list(self.topics),
            "topic_prefixes": None if self.topic_prefixes is None else list(self.topic_prefixes),
            "destination_event_service": self.destination_event_service,
            "canary_events_enabled": self.canary_events_enabled,
            "message_key_fields": dict(self.message_key_fields),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], *, name: str | None = None) -> StreamConfig:
        """Build from a stream config entry; ``name`` is the concrete stream when ``d`` is a regex entry.

        Raises :class:`StreamConfigError` when the entry is malformed.
        """
        entry_name = str(d.get("stream") or name or "")
        stream = name or entry_name
        if not stream:
            raise StreamConfigError("stream config entry has no stream name")
        where = f"stream config entry {entry_name!r}"
        title = d.get("schema_title")
        if not isinstance(title, str) or not title:
            raise StreamConfigError(f"{where} has no schema_title")
        prefixes = d.get("topic_prefixes")
        if prefixes is not None:
            prefixes = tuple(_strings(prefixes, f"{where}: topic_prefixes"))
        keys = d.get("message_key_fields") or {}
        if isinstance(keys, list) and all(isinstance(p, list) and len(p) == 2 for p in keys):
            keys = dict(keys)  # ordered [name, path] pairs, as evgen.lock stores them
        if not isinstance(keys, Mapping) or not all(isinstance(v, str) for v in keys.values()):
            raise StreamConfigError(f"{where}: message_key_fields must map names to field paths")
        canary = d.get("canary_events_enabled", True)
        if not isinstance(canary, bool):
            raise StreamConfigError(f"{where}: canary_events_enabled must be true or false")
        service = d.get("destination_event_service")
        if service is not None and not isinstance(service, str):
            raise StreamConfigError(f"{where}: destination_event_service must be a string")
        derived = tuple(p + stream for p in prefixes) if prefixes is not None else (stream,)
        given = d.get("topics")
        if given is None:
            topics = derived
        else:
            topics = _concrete_topics(_strings(given, f"{where}: topics"), derived, where)
        return cls(
            stream=stream,
            schema_title=title,
            topics=topics,
            topic_prefixes=prefixes,
            destination_event_service=service,
            canary_events_enabled=canary,
            message_key_fields={str(k): v for k, v in keys.items()},
        )


def _strings(value: Any, what: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise StreamConfigError(f"{what} must be a list of strings")
    return value


def name_pattern(name: str) -> re.Pattern[str] | None:
    """The pattern of a ``/.../`` stream or topic name, None for a plain name (``re.error`` if invalid)."""
    if len(name) > 2 and name.startswith("/") and name.endswith("/"):
        return re.compile(name[1:-1])
    return None


def _concrete_topics(given: list[str], derived: tuple[str, ...], where: str) -> tuple[str, ...]:
    """``given`` with each regex topic replaced by the derived topics it matches."""
    topics: list[str] = []
    for topic in given:
        try:
            pattern = name_pattern(topic)
        except re.error as e:
            raise StreamConfigError(f"{where}: topic regex {topic!r} is invalid: {e}") from None
        if pattern is None:
            topics.append(topic)
            continue
        matching = [t for t in derived if pattern.search(t)]
        if not matching:
            raise StreamConfigError(f"{where}: topic regex {topic!r} matches none of {', '.join(derived)}")
        topics.extend(matching)
    return tuple(dict.fromkeys(topics))


class StreamConfigs:
    """A loaded stream config: ``get(stream)`` answers for concrete and regex-matched names."""

    def __init__(self, entries: Mapping[str, Mapping[str, Any]], uri: str = "<memory>") -> None:
        self.uri = uri
        self._entries = dict(entries)
        self._patterns: list[tuple[str, re.Pattern[str]]] = []
        for name in self._entries:
            try:
                pattern = name_pattern(name)
            except re.error as e:
                raise StreamConfigError(f"stream config {uri}: stream regex {name!r} is invalid: {e}") from None
            if pattern is not None:
                self._patterns.append((name, pattern))

    @classmethod
    def load(cls, uri: str, *, streams: Iterable[str] | None = None, timeout: float = 30.0) -> StreamConfigs:
        """Load from an ``http(s)://…/api.php`` URL or a JSON/YAML file (path or ``file://``).

        ``streams`` narrows an API request (``streams=a|b``); files are always read whole.
        Raises :class:`StreamConfigError` if unreachable or invalid.
        """
        if is_http(uri):
            data = _fetch_api(uri, list(streams or ()), timeout)
        else:
            path = local_path(uri)
            try:
                text = path.read_bytes()
            except FileNotFoundError:
                raise StreamConfigError(f"stream config {uri} not found") from None
            except OSError as e:
                raise StreamConfigError(f"cannot read stream config {uri}: {e.strerror or e}") from None
            try:
                data = jsonyaml.loads(text, str(path))
            except ValueError as e:
                raise StreamConfigError(f"stream config: {e}") from None
        return cls.from_data(data, uri)

    @classmethod
    def from_data(cls, data: Any, uri: str = "<memory>") -> StreamConfigs:
        """Build from a parsed ``{"streams": {...}}`` document (one-line error when malformed)."""
        if isinstance(data, Mapping) and isinstance(data.get("error"), Mapping):
            err = data["error"]
            raise StreamConfigError(f"stream config API {uri} answered an error: {err.get('code')}: {err.get('info')}")
        if not isinstance(data, Mapping) or not isinstance(data.get("streams"), Mapping):
            raise StreamConfigError(f"stream config {uri} is not of the form {{\"streams\": {{<name>: {{...}}}}}}")
        entries = data["streams"]
        for name, entry in entries.items():
            if not isinstance(name, str):
                raise StreamConfigError(f"stream config {uri}: stream name {name!r} is not a string")
            if not isinstance(entry, Mapping):
                raise StreamConfigError(f"stream config {uri}: entry {name!r} is not a mapping")
        return cls(entries, uri)

    def names(self) -> list[str]:
        """Every stream name in the config (regex names included), in config order."""
        return list(self._entries)

    def get(self, stream: str) -> StreamConfig:
        """The config of ``stream``: an exact entry, else the first regex entry matching it."""
        entry = self._entries.get(stream)
        if entry is None:
            for name, pattern in self._patterns:
                if pattern.search(stream):
                    entry = self._entries[name]
                    break
        if entry is None:
            raise StreamConfigError(self._unknown(stream))
        try:
            return StreamConfig.from_dict(entry, name=stream)
        except StreamConfigError as e:
            raise StreamConfigError(f"stream config {self.uri}: {e}") from None

    def __contains__(self, stream: object) -> bool:
        return isinstance(stream, str) and (
            stream in self._entries or any(p.search(stream) for _, p in self._patterns)
        )

    def _unknown(self, stream: str) -> str:
        close = difflib.get_close_matches(stream, [n for n in self._entries if name_pattern(n) is None], n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        return f"unknown stream {stream!r} in stream config {self.uri} ({len(self._entries)} streams){hint}"


def _fetch_api(uri: str, streams: Sequence[str], timeout: float) -> Any:
    try:
        parts = urlsplit(uri)
    except ValueError as e:  # e.g. an unclosed IPv6 bracket
        raise StreamConfigError(f"stream config {uri} is not a valid URL: {e}") from None
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    query.setdefault("action", "streamconfigs")
    query.setdefault("format", "json")
    if streams and "streams" not in query:
        query["streams"] = "|".join(streams)
    url = urlunsplit(parts._replace(query=urlencode(query, safe="|")))
    try:
        with http_session() as session:
            response = session.get(url, timeout=timeout)
    except RequestException as e:
        raise StreamConfigError(f"stream config {uri} is unreachable: {request_failure(e)}") from None
    if response.status_code != 200:
        raise StreamConfigError(f"stream config {uri} answered HTTP {response.status_code} for {url}")
    try:
        return response.json()
    except ValueError:
        raise StreamConfigError(f"stream config {uri} did not answer JSON (got {response.headers.get('content-type')})") from None


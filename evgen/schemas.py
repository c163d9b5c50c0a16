"""Schema repositories and resolved event schemas.

A :class:`SchemaRepository` is an ordered list of base URIs (``file://``,
``http(s)://`` or plain paths). A schema URI is ``/<title>/<version>``; for
each base in turn it tries the URI as is, then ``.yaml``, then ``.json``, and
the first hit wins. Wikimedia repositories keep "symlinks" such as ``latest``
and the extensionless ``1.1.0`` as text files naming their target
(``1.2.0.yaml``); those are followed. Every ``$ref`` (local ``#/...`` or
another schema ``/fragment/common/2.0.0#``) is inlined through the same
repositories, so :attr:`EventSchema.schema` is ready for any validator.

    >>> repo = SchemaRepository(["../shared/wikimedia/schema-repos/primary/jsonschema"])  # doctest: +SKIP
    >>> schema = repo.resolve("mediawiki/page/change", "latest")                          # doctest: +SKIP
    >>> schema.uri, schema.version                                                        # doctest: +SKIP
    ('/mediawiki/page/change/1.2.0', '1.2.0')
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

import requests

from evgen import jsonyaml
from evgen.errors import SchemaError
from evgen.uris import DEFAULT_RETRY, http_session, is_http, local_path, request_failure

__all__ = ["EventSchema", "SchemaRepository", "canonical_json", "check_schema", "pointer_target", "sha256_of"]

_SEMVER = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")
_POINTER_FILE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,200}$")
_MAX_POINTER_HOPS = 4
_EXTENSIONS = ("", ".yaml", ".json")


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def canonical_json(value: Any) -> str:
    """Canonical JSON text: sorted keys, no whitespace, UTF-8 kept."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256_of(value: Any) -> str:
    """SHA-256 (hex) of the canonical JSON of ``value``."""
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class EventSchema:
    """A fully resolved event schema."""

    uri: str  #: the ``$id``, e.g. ``/mediawiki/page/change/1.1.0``
    title: str
    version: str
    source_url: str  #: where the document was fetched from
    schema: dict[str, Any] = field(repr=False)  #: every ``$ref`` inlined
    sha256: str = ""

    @property
    def examples(self) -> list[Any]:
        """The schema's ``examples`` (resolved)."""
        examples = self.schema.get("examples")
        return list(examples) if isinstance(examples, list) else []


@dataclass(frozen=True)
class _Base:
    uri: str  # as given
    url: str | None  # http(s) base without trailing slash
    path: Path | None  # local directory

    def candidates(self, uri: str) -> list[str]:
        rel = uri.lstrip("/")
        if self.url is not None:
            return [f"{self.url}/{rel}{ext}" for ext in _EXTENSIONS]
        assert self.path is not None
        return [(self.path / f"{rel}{ext}").as_uri() for ext in _EXTENSIONS]


class _NotFound(SchemaError):
    """No schema repository has the document."""


class _Unreachable(Exception):
    """A base could not be asked at all (connection refused, DNS, timeout)."""


class SchemaRepository:
    """Ordered schema repositories with ``$ref`` resolution and a per-URI cache."""

    def __init__(self, base_uris: Sequence[str], *, timeout: float = 30.0, retry: Any = DEFAULT_RETRY) -> None:
        if isinstance(base_uris, str):
            base_uris = [base_uris]
        if not base_uris:
            raise SchemaError("no schema repository given (pass --schema-uri or set EVGEN_SCHEMA_URIS)")
        self.base_uris = list(base_uris)
        self._bases = [
            _Base(uri, uri.rstrip("/"), None) if is_http(uri) else _Base(uri, None, local_path(uri))
            for uri in self.base_uris
        ]
        self._timeout = timeout
        self._retry = retry
        self._session: requests.Session | None = None
        self._documents: dict[str, tuple[dict[str, Any], str]] = {}
        self._schemas: dict[str, EventSchema] = {}

    def __enter__(self) -> SchemaRepository:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP session, if one was opened."""
        if self._session is not None:
            self._session.close()
            self._session = None

    # -- public API ---------------------------------------------------------------------------

    def get(self, uri: str) -> EventSchema:
        """The resolved schema at ``uri`` (``/title/version``); :class:`SchemaError` naming every URI tried."""
        uri = _normalize_uri(uri)
        cached = self._schemas.get(uri)
        if cached is not None:
            return cached
        document, source_url = self._document(uri)
        declared = document.get("$id")
        schema_uri = _normalize_uri(urlsplit(declared).path) if isinstance(declared, str) and declared else uri
        requested_version = uri.rpartition("/")[2]
        if requested_version != "latest" and schema_uri.rpartition("/")[2] != requested_version:
            raise SchemaError(f"{source_url} declares $id {declared!r}, which is not version {requested_version}")
        resolved = self._resolve(document, document, schema_uri, ())
        check_schema(resolved, source_url)
        title_default, _, version = schema_uri.strip("/").rpartition("/")
        declared_title = document.get("title")
        title = declared_title if isinstance(declared_title, str) else title_default
        event_schema = EventSchema(
            uri=schema_uri,
            title=title,
            version=version,
            source_url=source_url,
            schema=resolved,
            sha256=sha256_of(resolved),
        )
        self._schemas[uri] = event_schema
        self._schemas[schema_uri] = event_schema
        return event_schema

    def latest_version(self, title: str) -> str:
        """The newest version of ``title``: its ``latest`` pointer, else the highest version in a local repo."""
        title = title.strip("/")
        try:
            document, source_url = self._document(f"/{title}/latest")
        except _NotFound as not_found:  # no pointer; a broken one is an error of its own
            versions = self._local_versions(title)
            if not versions:
                raise SchemaError(f"no versions of schema {title!r} found: {not_found}") from None
            return versions[-1]
        declared = document.get("$id")
        version = str(declared).rstrip("#").rpartition("/")[2] if isinstance(declared, str) else ""
        if not _SEMVER.match(version):
            raise SchemaError(f"{source_url} (latest of {title!r}) has no versioned $id")
        return version

    def resolve(self, title: str, version: str) -> EventSchema:
        """The schema ``title`` at ``version`` (``latest`` allowed)."""
        if version == "latest":
            version = self.latest_version(title)
        elif not _SEMVER.match(version):
            raise SchemaError(f"schema version {version!r} of {title!r} is not MAJOR.MINOR.PATCH or 'latest'")
        return self.get(f"/{title.strip('/')}/{version}")

    # -- fetching ---------------------------------------------------------------------------

    def _document(self, uri: str) -> tuple[dict[str, Any], str]:
        cached = self._documents.get(uri)
        if cached is not None:
            return cached
        tried: list[str] = []
        failures: list[str] = []
        for base in self._bases:
            try:
                found = self._find_in(base, uri, tried)
            except _Unreachable as e:
                failures.append(f"{base.uri} ({e})")
                continue
            if found is not None:
                self._documents[uri] = found
                return found
        detail = f"; unreachable: {', '.join(failures)}" if failures else ""
        known = self._local_versions(uri.strip("/").rpartition("/")[0])
        if known:
            detail += f"; versions here: {', '.join(known)}"
        raise _NotFound(f"schema {uri} not found; tried {', '.join(tried)}{detail}")

    def _find_in(self, base: _Base, uri: str, tried: list[str]) -> tuple[dict[str, Any], str] | None:
        for candidate in base.candidates(uri):
            tried.append(candidate)
            body = self._fetch(base, candidate)
            if body is None:
                continue
            location = candidate
            hops = 0
            while (target := pointer_target(body)) is not None:
                hops += 1
                if hops > _MAX_POINTER_HOPS:
                    raise SchemaError(f"{candidate}: too many symlink hops")
                location = urljoin(location, target)
                body = self._fetch(base, location)
                if body is None:
                    raise SchemaError(f"{candidate} points to {location}, which does not exist")
            document = _parse(body, location)
            if not isinstance(document, dict):
                raise SchemaError(f"{location} is not a JSON schema (expected a mapping)")
            return document, location
        return None

    def _fetch(self, base: _Base, url: str) -> bytes | None:
        """The body at ``url``; None when absent; :class:`_Unreachable` when the base cannot be asked."""
        if base.path is not None:
            path = Path(unquote(urlsplit(url).path))
            try:
                path.resolve().relative_to(base.path.resolve())
            except ValueError:
                raise SchemaError(f"{url} is outside schema repository {base.uri}") from None
            if not base.path.is_dir():
                raise _Unreachable("no such directory")
            try:
                return path.read_bytes() if path.is_file() else None
            except OSError as e:
                raise _Unreachable(e.strerror or str(e)) from None
        if self._session is None:
            self._session = http_session(self._retry)
        try:
            response = self._session.get(url, timeout=self._timeout)
        except requests.RequestException as e:
            raise _Unreachable(request_failure(e)) from None
        if response.status_code in (404, 410):
            return None
        if response.status_code != 200:
            raise _Unreachable(f"HTTP {response.status_code} for {url}")
        return response.content

    def _local_versions(self, title: str) -> list[str]:
        """The versions of ``title`` in the local (file) repositories, oldest first."""
        versions: set[str] = set()
        for base in self._bases:
            directory = base.path / title if base.path is not None else None
            if directory is not None and directory.is_dir():
                for child in directory.iterdir():
                    name = child.name.removesuffix(".yaml").removesuffix(".json")
                    if _SEMVER.match(name):
                        versions.add(name)
        return sorted(versions, key=_version_key)

    # -- $ref resolution --------------------------------------------------------------------

    def _resolve(self, node: Any, document: dict[str, Any], doc_uri: str, stack: tuple[str, ...]) -> Any:
        if isinstance(node, list):
            return [self._resolve(item, document, doc_uri, stack) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if not isinstance(ref, str):
            return {key: self._resolve(value, document, doc_uri, stack) for key, value in node.items()}
        target_uri, _, pointer = ref.partition("#")
        if target_uri:
            if not target_uri.startswith("/"):
                raise SchemaError(f"{doc_uri}: unsupported $ref {ref!r} (use '/<title>/<version>' or '#/...')")
            target_uri = _normalize_uri(target_uri)
            target_doc, _ = self._document(target_uri)
        else:
            target_uri, target_doc = doc_uri, document
        key = f"{target_uri}#{pointer}"
        if key in stack:
            raise SchemaError(f"{doc_uri}: recursive $ref {ref!r} cannot be inlined")
        target = _pointer(target_doc, pointer, ref, doc_uri)
        resolved = self._resolve(target, target_doc, target_uri, (*stack, key))
        siblings = {k: v for k, v in node.items() if k != "$ref"}
        if not siblings:
            return resolved
        if not isinstance(resolved, dict):
            raise SchemaError(f"{doc_uri}: $ref {ref!r} with sibling keywords must point to an object")
        merged = dict(resolved)
        merged.update(self._resolve(siblings, document, doc_uri, stack))
        return merged


def check_schema(document: Any, where: str) -> None:
    """Raise :class:`SchemaError` unless ``document`` is a valid JSON schema (draft-07 unless it says otherwise)."""
    import jsonschema

    validator = jsonschema.validators.validator_for(document, default=jsonschema.Draft7Validator)
    try:
        validator.check_schema(document)
    except jsonschema.SchemaError as e:
        at = "/".join(str(p) for p in e.absolute_path) or "the root"
        message = " ".join(e.message.split())
        if len(message) > 200:
            message = message[:200] + "..."
        raise SchemaError(f"{where} is not a valid JSON schema: {message} (at {at})") from None


def pointer_target(body: bytes) -> str | None:
    """The file a text-file "symlink" names (``b"1.2.0.yaml"`` -> ``"1.2.0.yaml"``), else None."""
    if len(body) > 256:
        return None
    try:
        text = body.decode("utf-8").strip()
    except UnicodeDecodeError:
        return None
    return text if _POINTER_FILE.match(text) and "." in text else None


def _normalize_uri(uri: str) -> str:
    uri = uri.split("#", 1)[0].strip()
    if not uri.startswith("/"):
        uri = "/" + uri
    return uri.rstrip("/") or "/"


def _parse(body: bytes, location: str) -> Any:
    try:
        return jsonyaml.loads(body, location)
    except ValueError as e:
        raise SchemaError(str(e)) from None


def _pointer(document: Any, pointer: str, ref: str, doc_uri: str) -> Any:
    node = document
    for raw in [p for p in pointer.split("/")[1:]] if pointer not in ("", "/") else []:
        part = unquote(raw).replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise SchemaError(f"{doc_uri}: $ref {ref!r} points to nothing (no {part!r})")
    return node

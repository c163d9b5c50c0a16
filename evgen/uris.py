"""Where evgen's inputs live: local paths, ``file://`` and ``http(s)://`` URIs.

One :func:`http_session` per consumer (a schema repository, a stream config
load) with urllib3 ``Retry`` for transient failures; helpers to turn URIs into
paths and to record local locations relative to a job directory so a lock file
stays valid on another machine.

    >>> is_http("https://meta.wikimedia.org/w/api.php"), is_http("../shared/x.json")
    (True, False)
    >>> portable("/work/shared/x.json", base=Path("/work/main/job"))
    '../../shared/x.json'
    >>> portable("https://example.org/repo", base=Path("/anywhere"))
    'https://example.org/repo'
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

__all__ = ["http_session", "is_http", "local_path", "portable", "request_failure", "resolve_against"]

#: Retries for GETs of schemas and stream configs: connection errors and 429/5xx, exponential backoff.
DEFAULT_RETRY = Retry(
    total=3,
    connect=3,
    read=2,
    status=3,
    backoff_factor=0.2,
    status_forcelist=(429, 500, 502, 503, 504),
    allowed_methods=frozenset({"GET", "HEAD"}),
    respect_retry_after_header=True,
    raise_on_status=False,
)


def http_session(retry: Retry = DEFAULT_RETRY, user_agent: str | None = None) -> requests.Session:
    """A ``requests.Session`` retrying transient failures (use as a context manager or keep it)."""
    from evgen import __version__

    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = user_agent or f"evgen/{__version__} (generator)"
    return session


def is_http(uri: str) -> bool:
    """True for ``http://`` and ``https://`` URIs."""
    return uri.lower().startswith(("http://", "https://"))


def local_path(uri: str, base: Path | None = None) -> Path:
    """The path of a ``file://`` URI or a plain path (relative ones resolved against ``base`` or the cwd)."""
    if uri.lower().startswith("file:"):
        parts = urlsplit(uri)
        path = Path(unquote(parts.path))
    else:
        path = Path(os.path.expanduser(uri))
    if not path.is_absolute():
        path = (base or Path.cwd()) / path
    return Path(os.path.normpath(path))


def portable(uri: str, base: Path) -> str:
    """``uri`` as recorded in a job's lock: URLs as given, local locations relative to ``base`` (POSIX)
    when they share more than the filesystem root with it, else absolute."""
    if is_http(uri):
        return uri
    path = local_path(uri)
    base = base.resolve()
    if os.path.commonpath([path, base]) == path.anchor:
        return path.as_posix()  # nothing in common but the root: a relative path would not travel
    return Path(os.path.relpath(path, base)).as_posix()


def resolve_against(recorded: str, base: Path) -> str:
    """Inverse of :func:`portable`: a recorded location usable from any cwd."""
    if is_http(recorded):
        return recorded
    return str(local_path(recorded, base))


_ERRNO = re.compile(r"\[Errno -?\d+\] ([^'\")]+)")


def request_failure(error: BaseException) -> str:
    """A short reason for a failed HTTP request (``Connection refused``, ``read timed out``...)."""
    if isinstance(error, requests.Timeout):
        return "timed out"
    text = str(error)
    match = _ERRNO.search(text)
    if match:
        return match.group(1).strip()
    if "Max retries exceeded" in text and "Caused by" in text:
        return text.split("Caused by", 1)[1].strip(" ()")
    return text.splitlines()[0] if text else type(error).__name__

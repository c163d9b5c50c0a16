"""``StreamRef``: a ``"<stream>:<version>"`` reference.

    >>> ref = StreamRef.parse("mediawiki.page_change.v1:1.1.0")
    >>> ref.stream, ref.version
    ('mediawiki.page_change.v1', '1.1.0')
    >>> str(ref)
    'mediawiki.page_change.v1:1.1.0'
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from evgen.errors import EvgenError

_VERSION = re.compile(r"^(latest|\d+\.\d+\.\d+)$")


@dataclass(frozen=True, order=True)
class StreamRef:
    """A stream name plus a schema version (``latest`` only before resolution)."""

    stream: str
    version: str | None = None

    @classmethod
    def parse(cls, text: str, *, require_version: bool = True) -> StreamRef:
        """Parse ``"stream:1.2.3"``; raise :class:`EvgenError` on bad input."""
        stream, sep, version = text.strip().rpartition(":")
        if not sep:
            if require_version:
                raise EvgenError(
                    f"stream reference {text!r} has no version: write it as '<stream>:<version>', "
                    "e.g. 'mediawiki.page_change.v1:1.1.0' (or ':latest')"
                )
            return cls(text.strip(), None)
        if not stream:
            raise EvgenError(f"stream reference {text!r} has no stream name")
        if not _VERSION.match(version):
            raise EvgenError(
                f"stream reference {text!r}: version {version!r} is not 'latest' or MAJOR.MINOR.PATCH"
            )
        return cls(stream, version)

    def __str__(self) -> str:
        return self.stream if self.version is None else f"{self.stream}:{self.version}"

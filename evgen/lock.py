"""``evgen.lock``: what a job was generated from, pinned.

The lock records, per role (``source``, ``sink``, ``error_sink``), the stream,
the resolved schema version and URI, the hash of the resolved schema, the
generated models module and class and a snapshot of the stream config; plus
the SHA-256 of every generated file, so ``evgen regen`` can tell a hand edit
from a stale file. It is JSON with sorted keys and no timestamps: the same
inputs give the same bytes. Local locations are stored relative to the job
directory so the lock works on any checkout.

    >>> lock = Lock.load(find_job_dir(Path.cwd()) / LOCK_FILE)   # doctest: +SKIP
    >>> lock.find("mediawiki.page_change.v1").model                  # doctest: +SKIP
    'PageChange'
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evgen.errors import ConfigError
from evgen.streamconfig import StreamConfig
from evgen.streamref import StreamRef

__all__ = ["LOCK_FILE", "ROLES", "Lock", "LockedStream", "file_sha256", "find_job_dir"]

LOCK_FILE = "evgen.lock"
ROLES = ("source", "sink", "error_sink")
_FORMAT = 1


def file_sha256(data: bytes) -> str:
    """SHA-256 (hex) of file contents."""
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class LockedStream:
    """One side of a job, resolved and pinned."""

    role: str  #: "source" | "sink" | "error_sink"
    stream: str
    version: str  #: the resolved schema version
    requested_version: str  #: as asked for ("latest" allowed)
    schema_title: str
    schema_uri: str
    source_url: str  #: where the schema was read (relative to the job dir when local)
    sha256: str  #: of the resolved schema's canonical JSON
    module: str  #: generated models module name (in <package>.models)
    model: str  #: root model class name
    config: StreamConfig

    @property
    def ref(self) -> StreamRef:
        """``stream:version`` as a :class:`StreamRef`."""
        return StreamRef(self.stream, self.version)

    def to_dict(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "stream": self.stream,
            "version": self.version,
            "requested_version": self.requested_version,
            "schema_title": self.schema_title,
            "schema_uri": self.schema_uri,
            "source_url": self.source_url,
            "sha256": self.sha256,
            "module": self.module,
            "model": self.model,
            # Pairs, not a mapping: the file is written with sorted keys, and the order of the
            # key fields is part of the message key producers write (Kafka partitioning).
            "config": {**self.config.to_dict(), "message_key_fields": list(map(list, self.config.message_key_fields.items()))},
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LockedStream:
        fields = dict(d)
        fields["config"] = StreamConfig.from_dict(d["config"])
        return cls(**fields)


@dataclass
class Lock:
    """The whole lock file."""

    job: str
    package: str
    stream_config_uri: str  #: as recorded: URL, or path relative to the job dir
    schema_uris: list[str]
    streams: dict[str, LockedStream]  #: by role
    generated: dict[str, str] = field(default_factory=dict)  #: relative path -> sha256

    @classmethod
    def load(cls, path: Path | str) -> Lock:
        """Read ``path``; :class:`ConfigError` when missing or malformed."""
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"no {LOCK_FILE} at {path} (is this a job directory made by `evgen new-job`?)") from None
        except (OSError, ValueError) as e:
            raise ConfigError(f"cannot read {path}: {e}") from None
        try:
            return cls(
                job=data["job"],
                package=data["package"],
                stream_config_uri=data["stream_config_uri"],
                schema_uris=list(data["schema_uris"]),
                streams={role: LockedStream.from_dict(s) for role, s in data["streams"].items()},
                generated=dict(data.get("generated", {})),
            )
        except (KeyError, TypeError, ValueError) as e:
            raise ConfigError(f"{path} is not a valid {LOCK_FILE} ({type(e).__name__}: {e})") from None

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": _FORMAT,
            "job": self.job,
            "package": self.package,
            "stream_config_uri": self.stream_config_uri,
            "schema_uris": list(self.schema_uris),
            "streams": {role: s.to_dict() for role, s in self.streams.items()},
            "generated": dict(self.generated),
        }

    def dumps(self) -> str:
        """The file's text: JSON, sorted keys, indent 2, trailing newline."""
        return json.dumps(self.to_dict(), sort_keys=True, indent=2, ensure_ascii=False) + "\n"

    def save(self, path: Path | str) -> None:
        """Write the lock to ``path``."""
        Path(path).write_text(self.dumps(), encoding="utf-8")

    def find(self, ref: StreamRef | str) -> LockedStream:
        """The locked stream for ``"stream:version"`` or a bare stream name; :class:`ConfigError` if absent."""
        if isinstance(ref, str):
            ref = StreamRef.parse(ref, require_version=False)
        matches = [s for s in self.streams.values() if s.stream == ref.stream]
        if not matches:
            known = ", ".join(str(s.ref) for s in self.streams.values())
            raise ConfigError(f"stream {ref.stream!r} is not in {LOCK_FILE} (locked: {known})")
        if ref.version is None or ref.version == "latest":
            return matches[0]
        for locked in matches:
            if locked.version == ref.version:
                return locked
        have = ", ".join(s.version for s in matches)
        raise ConfigError(
            f"{ref} is not what {LOCK_FILE} pins (locked version: {have}); "
            f"run `evgen regen --{matches[0].role.replace('_', '-')} {ref}` to move to it"
        )


def find_job_dir(start: Path) -> Path:
    """The nearest directory at or above ``start`` holding ``evgen.lock``; :class:`ConfigError` if none."""
    start = Path(start).resolve()
    for directory in (start, *start.parents):
        if (directory / LOCK_FILE).is_file():
            return directory
    raise ConfigError(f"no {LOCK_FILE} in {start} or any parent: run this inside a job directory made by `evgen new-job`")

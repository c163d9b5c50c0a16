"""Jars by Maven coordinates: cached, checksum-verified, ready for ``pipeline.jars``.

The cache is a Maven-layout repository under ``<cache dir>/maven`` (cache dir:
``EVGEN_CACHE_DIR``, else the platform's user cache dir). A jar there is used
only when its SHA-1 matches the ``.sha1`` the repository published; otherwise it
is fetched again with ``mvn`` (when on ``PATH``; ``EVGEN_MVN`` names another
executable, ``EVGEN_MVN=none`` disables it) or by direct download, from
``EVGEN_MAVEN_REPO`` (default Maven Central). ``evgen deps`` pre-fetches.

    >>> from evgen.jars import pipeline_jars_for
    >>> pipeline_jars_for(["kafka"])  # doctest: +SKIP
    ['file:///home/me/.cache/evgen/maven/org/apache/flink/flink-sql-connector-kafka/5.0.0-2.2/flink-sql-connector-kafka-5.0.0-2.2.jar']
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from evgen.errors import DependencyError
from evgen.maven import MAVEN_CENTRAL, ArtifactNotFound, Coordinate, Fetcher, HttpsFetcher, MvnFetcher, parse_sha1_file, sha1_of

__all__ = ["JarSettings", "cached_jar", "pipeline_jars_for", "resolve_jars"]


@dataclass(frozen=True)
class JarSettings:
    """Where jars come from and where they are kept."""

    repo_url: str = MAVEN_CENTRAL
    cache_dir: Path | None = None  # None: the platform's user cache dir for evgen
    mvn: str | None = None  # None: direct download

    @classmethod
    def from_env(cls) -> JarSettings:
        """Settings from ``EVGEN_MAVEN_REPO``, ``EVGEN_CACHE_DIR`` and ``EVGEN_MVN`` (or ``mvn`` on PATH)."""
        mvn_env = os.environ.get("EVGEN_MVN", "").strip()
        if mvn_env.lower() in ("none", "off", "0", "false"):
            mvn = None
        else:
            mvn = mvn_env or shutil.which("mvn")
        cache = os.environ.get("EVGEN_CACHE_DIR", "").strip()
        return cls(
            repo_url=os.environ.get("EVGEN_MAVEN_REPO", "").strip() or MAVEN_CENTRAL,
            cache_dir=Path(cache).expanduser() if cache else None,
            mvn=mvn,
        )

    @property
    def repository(self) -> Path:
        """The Maven-layout directory holding cached jars."""
        if self.cache_dir is not None:
            return self.cache_dir / "maven"
        import platformdirs

        return Path(platformdirs.user_cache_dir("evgen")) / "maven"

    def fetcher(self) -> Fetcher:
        return MvnFetcher(self.mvn, self.repo_url) if self.mvn else HttpsFetcher(self.repo_url)


def cached_jar(coord: Coordinate, settings: JarSettings) -> Path | None:
    """The cached jar for ``coord`` if present and matching its recorded SHA-1, else None."""
    jar = settings.repository / coord.path
    checksum = Path(f"{jar}.sha1")
    if not jar.is_file() or not checksum.is_file():
        return None
    expected = parse_sha1_file(checksum.read_text(encoding="ascii", errors="replace"))
    return jar if expected is not None and sha1_of(jar) == expected else None


def resolve_jars(coords: Iterable[str], *, settings: JarSettings | None = None) -> list[Path]:
    """Local, verified jar files for Maven ``coords`` (``group:artifact:version``), in order.

    Missing or corrupt jars are fetched in one batch; when that fails (offline,
    unknown artifact, bad checksum) a one-line :class:`DependencyError` says
    what to fetch and how.
    """
    settings = settings or JarSettings.from_env()
    wanted = list(dict.fromkeys(Coordinate.parse(c) for c in coords))
    missing = [c for c in wanted if cached_jar(c, settings) is None]
    if missing:
        try:
            settings.fetcher().fetch(missing, settings.repository)
        except ArtifactNotFound:
            raise
        except DependencyError as e:
            raise DependencyError(f"{e}; {_how_to_fetch(missing, settings)}") from None
    jars: list[Path] = []
    for coord in wanted:
        jar = cached_jar(coord, settings)
        if jar is None:
            raise DependencyError(
                f"{coord} was fetched ({settings.fetcher().describe()}) but {settings.repository / coord.path} "
                f"is missing or does not match its .sha1; {_how_to_fetch([coord], settings)}"
            )
        jars.append(jar)
    return jars


def pipeline_jars_for(connectors: Iterable[str], *, settings: JarSettings | None = None) -> list[str]:
    """``file://`` URLs of the jars the named connectors need, for Flink's ``pipeline.jars``.

        >>> pipeline_jars_for(["file"])
        []
    """
    from evgen.connectors import get_connector

    coords: list[str] = []
    for name in connectors:
        coords.extend(get_connector(name).maven_artifacts)
    if not coords:
        return []
    return [jar.resolve().as_uri() for jar in resolve_jars(coords, settings=settings)]


def _how_to_fetch(coords: list[Coordinate], settings: JarSettings) -> str:
    names = ", ".join(str(c) for c in coords[:3]) + (f" and {len(coords) - 3} more" if len(coords) > 3 else "")
    return (
        f"needed: {names} in {settings.repository}; run `evgen deps` where {settings.repo_url} is reachable "
        "(or set EVGEN_MAVEN_REPO to a mirror, EVGEN_CACHE_DIR to a pre-filled cache)"
    )

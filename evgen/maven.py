"""Maven coordinates and the two ways evgen downloads them into a local repository.

A :class:`Coordinate` is ``group:artifact:version`` (a jar). Fetchers put the jar
and the repository's ``.sha1`` file into a Maven-layout directory:

- :class:`MvnFetcher` runs ``mvn`` once for a whole batch (a generated POM, the
  local repository pointed at evgen's cache, ``--strict-checksums``), so the
  user's ``settings.xml`` (proxies, mirrors, credentials) applies;
- :class:`HttpsFetcher` downloads ``<repo>/<path>`` and ``<path>.sha1`` directly
  (``requests`` with urllib3 ``Retry``), for machines without Maven.

Both raise :class:`~evgen.errors.DependencyError` with a one-line message.

    >>> c = Coordinate.parse("org.apache.flink:flink-sql-connector-kafka:5.0.0-2.2")
    >>> c.path
    'org/apache/flink/flink-sql-connector-kafka/5.0.0-2.2/flink-sql-connector-kafka-5.0.0-2.2.jar'
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, Sequence
from xml.sax.saxutils import escape

from evgen.errors import DependencyError

if TYPE_CHECKING:
    import requests

#: Maven Central, the default repository.
MAVEN_CENTRAL = "https://repo1.maven.org/maven2"
#: The maven-dependency-plugin version evgen runs (pinned for reproducible fetches).
DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1"

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_PART = re.compile(r"^[A-Za-z0-9_.\-]+$")
_SHA1 = re.compile(r"^[0-9a-f]{40}$")


class ArtifactNotFound(DependencyError):
    """The repository answered, but has no such artifact."""


@dataclass(frozen=True, order=True)
class Coordinate:
    """A jar on a Maven repository: ``group:artifact:version``."""

    group: str
    artifact: str
    version: str

    @classmethod
    def parse(cls, text: str) -> Coordinate:
        """Parse ``"group:artifact:version"``; :class:`DependencyError` if malformed."""
        parts = text.strip().split(":")
        if len(parts) != 3 or not all(_PART.match(p) for p in parts):
            raise DependencyError(
                f"bad Maven coordinate {text!r}: expected 'group:artifact:version', "
                "e.g. 'org.apache.flink:flink-sql-connector-kafka:5.0.0-2.2'"
            )
        return cls(*parts)

    @property
    def filename(self) -> str:
        return f"{self.artifact}-{self.version}.jar"

    @property
    def path(self) -> str:
        """The jar's path inside a Maven-layout repository."""
        return f"{self.group.replace('.', '/')}/{self.artifact}/{self.version}/{self.filename}"

    def __str__(self) -> str:
        return f"{self.group}:{self.artifact}:{self.version}"


def sha1_of(path: Path) -> str:
    """Hex SHA-1 of a file's content."""
    digest = hashlib.sha1()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def parse_sha1_file(text: str) -> str | None:
    """The checksum in a ``.sha1`` file (``"<hex>"`` or ``"<hex>  <name>"``), or None."""
    token = text.strip().split()[0].lower() if text.strip() else ""
    return token if _SHA1.match(token) else None


class Fetcher(Protocol):
    """Puts jars (and their repository ``.sha1``) into a Maven-layout directory."""

    def fetch(self, coords: Sequence[Coordinate], repository: Path) -> None: ...

    def describe(self) -> str: ...


class MvnFetcher:
    """Fetch with ``mvn`` (one run per batch) into ``repository``.

        MvnFetcher("mvn", MAVEN_CENTRAL).fetch([Coordinate.parse("g:a:1.0")], Path("/cache/maven"))
    """

    def __init__(self, mvn: str, repo_url: str, *, timeout_s: float = 900.0) -> None:
        self.mvn = mvn
        self.repo_url = repo_url.rstrip("/")
        self.timeout_s = timeout_s

    def describe(self) -> str:
        return f"mvn ({self.mvn}) from {self.repo_url}"

    def fetch(self, coords: Sequence[Coordinate], repository: Path) -> None:
        repository.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="evgen-mvn-") as tmp:
            pom = Path(tmp) / "pom.xml"
            pom.write_text(self._pom(coords), encoding="utf-8")
            cmd = [
                self.mvn, "-B", "-q", "-U", "-Dstyle.color=never", "--strict-checksums", "-f", str(pom),
                f"-Dmaven.repo.local={repository}",
            ]
            if self.repo_url != MAVEN_CENTRAL:
                mirror = Path(tmp) / "mirror-settings.xml"
                mirror.write_text(self._mirror_settings(), encoding="utf-8")
                cmd += ["-gs", str(mirror)]
            cmd.append(f"{DEPENDENCY_PLUGIN}:resolve")
            try:
                done = subprocess.run(
                    cmd, capture_output=True, text=True, timeout=self.timeout_s, stdin=subprocess.DEVNULL
                )
            except FileNotFoundError:
                raise DependencyError(f"cannot run {self.mvn!r}: not found (unset EVGEN_MVN or install Maven)") from None
            except subprocess.TimeoutExpired:
                raise DependencyError(f"mvn did not finish within {self.timeout_s:.0f} s fetching {_names(coords)}") from None
        if done.returncode != 0:
            output = _ANSI.sub("", done.stdout + done.stderr)
            reason = _mvn_reason(output)
            error = ArtifactNotFound if ("was not found in" in output or "Could not find artifact" in output) else DependencyError
            raise error(f"mvn could not fetch {_names(coords)} from {self.repo_url}: {reason}")

    def _mirror_settings(self) -> str:
        """Global settings making the configured repository a mirror of every repository."""
        return (
            '<settings xmlns="http://maven.apache.org/SETTINGS/1.0.0"><mirrors><mirror><id>evgen-mirror</id>'
            f"<mirrorOf>*</mirrorOf><url>{escape(self.repo_url)}</url></mirror></mirrors></settings>\n"
        )

    def _pom(self, coords: Sequence[Coordinate]) -> str:
        deps = "".join(
            f"<dependency><groupId>{c.group}</groupId><artifactId>{c.artifact}</artifactId>"
            f"<version>{c.version}</version><exclusions><exclusion><groupId>*</groupId>"
            "<artifactId>*</artifactId></exclusion></exclusions></dependency>"
            for c in coords
        )
        return (
            '<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>'
            "<groupId>evgen.deps</groupId><artifactId>fetch</artifactId><version>0</version>"
            f"<packaging>pom</packaging><dependencies>{deps}</dependencies></project>\n"
        )


class HttpsFetcher:
    """Download jars and their ``.sha1`` straight from a repository URL.

        HttpsFetcher(MAVEN_CENTRAL).fetch([Coordinate.parse("g:a:1.0")], Path("/cache/maven"))
    """

    def __init__(self, repo_url: str, *, connect_timeout_s: float = 10.0, read_timeout_s: float = 60.0) -> None:
        self.repo_url = repo_url.rstrip("/")
        self.timeout = (connect_timeout_s, read_timeout_s)

    def describe(self) -> str:
        return f"direct download from {self.repo_url}"

    def fetch(self, coords: Sequence[Coordinate], repository: Path) -> None:
        import requests

        with self._session() as session:
            for coord in coords:
                url = f"{self.repo_url}/{coord.path}"
                try:
                    expected = self._checksum(session, coord, url)
                    self._download(session, coord, url, expected, repository / coord.path)
                except requests.RequestException as e:
                    raise DependencyError(f"cannot download {coord} from {url}: {_request_reason(e)}") from None

    def _session(self) -> requests.Session:
        from urllib3.util import Retry

        from evgen.uris import http_session

        retry = Retry(
            total=3, connect=2, read=2, backoff_factor=0.5,
            status_forcelist=(429, 500, 502, 503, 504), allowed_methods=("GET",),
        )
        return http_session(retry, user_agent="evgen-jars")

    def _checksum(self, session: requests.Session, coord: Coordinate, url: str) -> str:
        response = session.get(url + ".sha1", timeout=self.timeout)
        if response.status_code == 404:
            raise ArtifactNotFound(f"{coord} not found in {self.repo_url} (no {url}.sha1)")
        response.raise_for_status()
        expected = parse_sha1_file(response.text)
        if expected is None:
            raise DependencyError(f"{url}.sha1 does not hold a SHA-1 checksum")
        return expected

    def _download(self, session: requests.Session, coord: Coordinate, url: str, expected: str, target: Path) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out, session.get(url, timeout=self.timeout, stream=True) as response:
                if response.status_code == 404:
                    raise ArtifactNotFound(f"{coord} not found in {self.repo_url} (no {url})")
                response.raise_for_status()
                for chunk in response.iter_content(1 << 20):
                    out.write(chunk)
            actual = sha1_of(tmp)
            if actual != expected:
                raise DependencyError(
                    f"checksum mismatch for {coord} from {url}: sha1 {actual}, repository says {expected} (download discarded)"
                )
            Path(f"{target}.sha1").write_text(expected + "\n", encoding="ascii")
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)


def _names(coords: Sequence[Coordinate]) -> str:
    names = [str(c) for c in coords]
    return ", ".join(names) if len(names) <= 3 else f"{', '.join(names[:3])} and {len(names) - 3} more"


def _mvn_reason(output: str) -> str:
    """The most telling ``[ERROR]`` line of a failed mvn run, shortened to one line."""
    errors = [line.split("]", 1)[1].strip() for line in output.splitlines() if line.startswith("[ERROR]")]
    errors = [e for e in errors if e and not e.startswith(("->", "To see", "Re-run", "For more", "[Help"))]
    reason = errors[0] if errors else (output.strip().splitlines() or ["unknown error"])[-1]
    reason = re.sub(r"\s+", " ", reason)
    return reason if len(reason) <= 300 else reason[:297] + "..."


def _request_reason(error: Exception) -> str:
    import requests

    if isinstance(error, requests.ConnectionError):
        return "cannot connect (offline or repository unreachable)"
    if isinstance(error, requests.Timeout):
        return "timed out"
    if isinstance(error, requests.exceptions.RetryError):
        return "the repository kept failing (server errors, retries exhausted)"
    if isinstance(error, requests.HTTPError) and error.response is not None:
        return f"HTTP {error.response.status_code}"
    return type(error).__name__

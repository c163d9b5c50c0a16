"""evgen.jars / evgen.maven: jars by coordinates, cached and verified, from a real repository."""

from __future__ import annotations

import hashlib
import io
import shutil
import threading
import zipfile
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

import pytest

from evgen.devkafka import free_port
from evgen.errors import ConfigError, DependencyError
from evgen.jars import JarSettings, cached_jar, pipeline_jars_for, resolve_jars
from evgen.maven import MAVEN_CENTRAL, ArtifactNotFound, Coordinate, parse_sha1_file

COORD = "org.example.evgen:tiny:1.0.0"


def _jar_bytes(marker: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as jar:
        jar.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\n")
        jar.writestr("marker.txt", marker)
    return buffer.getvalue()


class MavenRepoServer:
    """A Maven-layout directory served over real HTTP on 127.0.0.1, recording request paths."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.requests: list[str] = []
        server = self

        class Handler(SimpleHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                server.requests.append(self.path)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(root)))
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/maven2"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def publish(self, coord: str, content: bytes, *, sha1: str | None = None) -> Path:
        """Put a jar and its .sha1 (correct unless ``sha1`` is given) into the repository."""
        path = self.root / "maven2" / Coordinate.parse(coord).path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        Path(f"{path}.sha1").write_text(sha1 if sha1 is not None else hashlib.sha1(content).hexdigest())
        return path


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[MavenRepoServer]:
    server = MavenRepoServer(tmp_path / "repo")
    server.thread.start()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


@pytest.fixture
def https_settings(repo: MavenRepoServer, tmp_path: Path) -> JarSettings:
    return JarSettings(repo_url=repo.url, cache_dir=tmp_path / "cache", mvn=None)


@pytest.mark.parametrize("text", ["", "a:b", "a:b:c:d", "a b:c:1", "g:a:1/../../x", "g::1"])
def test_bad_coordinates_are_one_line_errors(text: str) -> None:
    with pytest.raises(DependencyError, match="bad Maven coordinate") as info:
        Coordinate.parse(text)
    assert "\n" not in str(info.value)


def test_coordinate_path_is_maven_layout() -> None:
    c = Coordinate.parse("org.apache.flink:flink-sql-connector-kafka:5.0.0-2.2")
    assert c.path == "org/apache/flink/flink-sql-connector-kafka/5.0.0-2.2/flink-sql-connector-kafka-5.0.0-2.2.jar"
    assert str(c) == "org.apache.flink:flink-sql-connector-kafka:5.0.0-2.2"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("da39a3ee5e6b4b0d3255bfef95601890afd80709", "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
        ("DA39A3EE5E6B4B0D3255BFEF95601890AFD80709  tiny-1.0.0.jar\n", "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
        ("", None),
        ("<html>not found</html>", None),
    ],
)
def test_sha1_file_parsing(text: str, expected: str | None) -> None:
    assert parse_sha1_file(text) == expected


def test_direct_download_verifies_and_caches(repo: MavenRepoServer, https_settings: JarSettings) -> None:
    content = _jar_bytes("v1")
    repo.publish(COORD, content)

    [jar] = resolve_jars([COORD], settings=https_settings)

    assert jar == https_settings.repository / Coordinate.parse(COORD).path
    assert jar.read_bytes() == content
    assert parse_sha1_file(Path(f"{jar}.sha1").read_text()) == hashlib.sha1(content).hexdigest()
    fetched = list(repo.requests)
    assert fetched == [f"/maven2/{Coordinate.parse(COORD).path}.sha1", f"/maven2/{Coordinate.parse(COORD).path}"]

    # second resolution: served from the cache, the repository is not asked again
    assert resolve_jars([COORD, COORD], settings=https_settings) == [jar]
    assert repo.requests == fetched


def test_corrupt_cached_jar_is_fetched_again(repo: MavenRepoServer, https_settings: JarSettings) -> None:
    content = _jar_bytes("v1")
    repo.publish(COORD, content)
    [jar] = resolve_jars([COORD], settings=https_settings)
    jar.write_bytes(content[:-10] + b"tampered!!")
    assert cached_jar(Coordinate.parse(COORD), https_settings) is None

    [again] = resolve_jars([COORD], settings=https_settings)

    assert again.read_bytes() == content
    assert len(repo.requests) == 4


def test_checksum_mismatch_is_rejected(repo: MavenRepoServer, https_settings: JarSettings) -> None:
    repo.publish(COORD, _jar_bytes("v1"), sha1=hashlib.sha1(b"something else").hexdigest())

    with pytest.raises(DependencyError, match="checksum mismatch for org.example.evgen:tiny:1.0.0") as info:
        resolve_jars([COORD], settings=https_settings)

    assert "\n" not in str(info.value)
    jar_dir = (https_settings.repository / Coordinate.parse(COORD).path).parent
    assert not jar_dir.exists() or list(jar_dir.iterdir()) == []


def test_malformed_checksum_file_is_rejected(repo: MavenRepoServer, https_settings: JarSettings) -> None:
    repo.publish(COORD, _jar_bytes("v1"), sha1="<html>oops</html>")
    with pytest.raises(DependencyError, match=r"\.sha1 does not hold a SHA-1 checksum"):
        resolve_jars([COORD], settings=https_settings)


def test_unknown_artifact_says_not_found(repo: MavenRepoServer, https_settings: JarSettings) -> None:
    with pytest.raises(ArtifactNotFound, match=f"{COORD} not found in {repo.url}"):
        resolve_jars([COORD], settings=https_settings)


def test_offline_and_not_cached_says_what_to_fetch_and_how(tmp_path: Path) -> None:
    settings = JarSettings(repo_url=f"http://127.0.0.1:{free_port()}/maven2", cache_dir=tmp_path, mvn=None)

    with pytest.raises(DependencyError) as info:
        resolve_jars([COORD], settings=settings)

    message = str(info.value)
    assert "\n" not in message
    assert "cannot connect" in message
    assert f"needed: {COORD}" in message
    assert "run `evgen deps`" in message and "EVGEN_MAVEN_REPO" in message


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("EVGEN_MAVEN_REPO", "https://mirror.example/maven2")
    monkeypatch.setenv("EVGEN_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("EVGEN_MVN", "none")
    settings = JarSettings.from_env()
    assert settings == JarSettings("https://mirror.example/maven2", tmp_path, None)
    assert settings.repository == tmp_path / "maven"

    monkeypatch.setenv("EVGEN_MVN", "/opt/maven/bin/mvn")
    assert JarSettings.from_env().mvn == "/opt/maven/bin/mvn"
    monkeypatch.delenv("EVGEN_MVN")
    monkeypatch.delenv("EVGEN_MAVEN_REPO")
    monkeypatch.delenv("EVGEN_CACHE_DIR")
    defaults = JarSettings.from_env()
    assert defaults.repo_url == MAVEN_CENTRAL
    assert defaults.mvn == shutil.which("mvn")
    assert defaults.repository.name == "maven" and "evgen" in str(defaults.repository)


def test_connectors_without_jars_need_none() -> None:
    assert pipeline_jars_for(["file", "memory"]) == []


def test_unknown_connector_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown connector 'nope'"):
        pipeline_jars_for(["nope"])


def test_kafka_connector_jar_for_pipeline_jars() -> None:
    """The real Flink Kafka connector from the configured repository (pre-fetched by `evgen deps` in CI)."""
    [url] = pipeline_jars_for(["kafka", "file"])

    assert url.startswith("file:///")
    assert url.endswith("/org/apache/flink/flink-sql-connector-kafka/5.0.0-2.2/flink-sql-connector-kafka-5.0.0-2.2.jar")
    path = Path(url.removeprefix("file://"))
    with zipfile.ZipFile(path) as jar:
        assert "org/apache/flink/connector/kafka/source/KafkaSource.class" in jar.namelist()


# ------------------------------------------------------------------ the mvn fetcher (real Maven)

needs_mvn = pytest.mark.skipif(shutil.which("mvn") is None, reason="mvn is not installed")


@pytest.fixture(scope="module")
def mvn_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mvn-cache")


@needs_mvn
def test_mvn_fetches_into_the_cache_with_checksums(mvn_cache: Path) -> None:
    settings = JarSettings(repo_url=MAVEN_CENTRAL, cache_dir=mvn_cache, mvn=shutil.which("mvn"))
    coord = "org.slf4j:slf4j-api:1.7.36"

    [jar] = resolve_jars([coord], settings=settings)

    assert jar == mvn_cache / "maven" / "org/slf4j/slf4j-api/1.7.36/slf4j-api-1.7.36.jar"
    assert parse_sha1_file(Path(f"{jar}.sha1").read_text()) == hashlib.sha1(jar.read_bytes()).hexdigest()
    with zipfile.ZipFile(jar) as archive:
        assert "org/slf4j/LoggerFactory.class" in archive.namelist()


@needs_mvn
def test_mvn_unknown_artifact_says_not_found(mvn_cache: Path) -> None:
    settings = JarSettings(repo_url=MAVEN_CENTRAL, cache_dir=mvn_cache, mvn=shutil.which("mvn"))
    with pytest.raises(ArtifactNotFound, match="org.example.evgen:does-not-exist:0.0.1") as info:
        resolve_jars(["org.example.evgen:does-not-exist:0.0.1"], settings=settings)
    assert "\n" not in str(info.value)


@needs_mvn
def test_mvn_offline_mirror_says_what_to_fetch_and_how(tmp_path: Path) -> None:
    settings = JarSettings(repo_url=f"http://127.0.0.1:{free_port()}/maven2", cache_dir=tmp_path, mvn=shutil.which("mvn"))

    with pytest.raises(DependencyError) as info:
        resolve_jars([COORD], settings=settings)

    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"mvn could not fetch {COORD} from {settings.repo_url}")
    assert "run `evgen deps`" in message


def test_missing_mvn_executable_is_a_clear_error(tmp_path: Path) -> None:
    settings = JarSettings(repo_url=MAVEN_CENTRAL, cache_dir=tmp_path, mvn=str(tmp_path / "no-such-mvn"))
    with pytest.raises(DependencyError, match="cannot run .*no-such-mvn.*not found"):
        resolve_jars([COORD], settings=settings)

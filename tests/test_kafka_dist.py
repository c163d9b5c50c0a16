"""evgen.kafka_dist: the pinned broker classpath is Apache's own resolution of kafka_2.13."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from evgen.jars import JarSettings
from evgen.kafka_dist import BROKER_ARTIFACT, BROKER_ARTIFACTS, KAFKA_VERSION, LOGGING_BINDING, broker_classpath
from evgen.maven import Coordinate


def test_pins_are_coordinates_without_duplicates() -> None:
    coords = [Coordinate.parse(c) for c in BROKER_ARTIFACTS]
    assert len({(c.group, c.artifact) for c in coords}) == len(coords)
    assert BROKER_ARTIFACT == f"org.apache.kafka:kafka_2.13:{KAFKA_VERSION}"
    assert all(c.version == KAFKA_VERSION for c in coords if c.group == "org.apache.kafka")


@pytest.mark.kafka
def test_classpath_jars_are_cached_and_verified() -> None:
    jars = broker_classpath()
    assert [p.name for p in jars] == [Coordinate.parse(c).filename for c in BROKER_ARTIFACTS]
    assert all(p.is_file() and Path(f"{p}.sha1").is_file() for p in jars)


@pytest.mark.kafka
@pytest.mark.skipif(shutil.which("mvn") is None, reason="mvn is not installed")
def test_pins_match_mavens_runtime_resolution(tmp_path: Path) -> None:
    """What Maven resolves for kafka_2.13 (runtime scope), plus the log4j2 SLF4J binding."""
    (tmp_path / "pom.xml").write_text(
        '<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>'
        "<groupId>evgen.test</groupId><artifactId>pins</artifactId><version>0</version><packaging>pom</packaging>"
        "<dependencies><dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId>"
        f"<version>{KAFKA_VERSION}</version></dependency></dependencies></project>"
    )
    listing = tmp_path / "deps.txt"
    repository = JarSettings.from_env().repository
    subprocess.run(
        ["mvn", "-B", "-q", "-Dstyle.color=never", f"-Dmaven.repo.local={repository}",
         "org.apache.maven.plugins:maven-dependency-plugin:3.8.1:list", "-DincludeScope=runtime",
         f"-DoutputFile={listing}", "-DoutputAbsoluteArtifactFilename=false"],
        cwd=tmp_path, check=True, capture_output=True, timeout=600,
    )
    resolved = set()
    for line in listing.read_text().splitlines():
        match = re.match(r"^\s*([\w.\-]+):([\w.\-]+):jar:([\w.\-]+):(compile|runtime)", line)
        if match:
            resolved.add(f"{match.group(1)}:{match.group(2)}:{match.group(3)}")
    assert resolved | {LOGGING_BINDING} == set(BROKER_ARTIFACTS)

"""evgen's pytest plugin (registered through the ``pytest11`` entry point): shared fixtures.

    def test_enrich(action_api):          # a started FakeActionApi
        api = ActionApi(session, action_api.url_template)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from evgen.devkafka import KafkaBroker
from evgen.lock import find_job_dir
from evgen.testing.action_api import FakeActionApi
from evgen.testing.cluster import FlinkCluster
from evgen.testing.servers import StaticFileServer, StreamConfigServer

S = TypeVar("S", StaticFileServer, StreamConfigServer)


@pytest.fixture
def job_dir(request: pytest.FixtureRequest) -> Path:
    """The job directory (the one holding ``evgen.lock``) above the requesting test file."""
    return find_job_dir(Path(request.path).parent)


@pytest.fixture
def action_api() -> Iterator[FakeActionApi]:
    """A started :class:`FakeActionApi` (fresh per test; ``url_template`` for ``ActionApi``)."""
    with FakeActionApi() as api:
        yield api


@pytest.fixture(scope="session")
def kafka_broker() -> Iterator[KafkaBroker]:
    """A real single-node Kafka broker on 127.0.0.1, shared by the test session."""
    with KafkaBroker() as broker:
        yield broker


@pytest.fixture(scope="session")
def flink_cluster() -> Iterator[FlinkCluster]:
    """A standalone Flink session cluster (1 JobManager, 2 TaskManagers x 2 slots) on 127.0.0.1."""
    with FlinkCluster() as cluster:
        yield cluster


def _started(server_class: type[S]) -> Iterator[Callable[..., S]]:
    """A factory of started servers of ``server_class``, all closed at the end of the test."""
    servers: list[S] = []

    def start(*args: Any, **options: Any) -> S:
        server = server_class(*args, **options)
        server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


@pytest.fixture
def static_file_server() -> Iterator[Callable[..., StaticFileServer]]:
    """Factory: ``static_file_server(root)`` -> a started :class:`StaticFileServer`."""
    yield from _started(StaticFileServer)


@pytest.fixture
def stream_config_server() -> Iterator[Callable[..., StreamConfigServer]]:
    """Factory: ``stream_config_server(config)`` -> a started :class:`StreamConfigServer`."""
    yield from _started(StreamConfigServer)


def pytest_configure(config: pytest.Config) -> None:
    """Register evgen's markers, so a generated job's tests can use them as they are."""
    config.addinivalue_line("markers", "flink: runs a real Flink mini-cluster (seconds per test)")
    config.addinivalue_line("markers", "cluster: runs on a standalone Flink session cluster (flink_cluster fixture)")

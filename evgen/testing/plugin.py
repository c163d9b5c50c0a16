"""evgen's pytest plugin (registered through the ``pytest11`` entry point): shared fixtures.

    def test_enrich(action_api):          # a started FakeActionApi
        api = ActionApi(session, action_api.url_template)
"""

from pathlib import Path

import pytest

from evgen.lock import find_job_dir

from evgen.testing.action_api import action_api  # noqa: F401
from evgen.testing.cluster import flink_cluster  # noqa: F401
from evgen.testing.kafka import kafka_broker  # noqa: F401
from evgen.testing.servers import static_file_server, stream_config_server  # noqa: F401


@pytest.fixture
def job_dir(request: pytest.FixtureRequest) -> Path:
    """The job directory (the one holding ``evgen.lock``) above the requesting test file."""
    return find_job_dir(Path(request.path).parent)


def pytest_configure(config: pytest.Config) -> None:
    """Register evgen's markers, so a generated job's tests can use them as they are."""
    config.addinivalue_line("markers", "flink: runs a real Flink mini-cluster (seconds per test)")
    config.addinivalue_line("markers", "cluster: runs on a standalone Flink session cluster (flink_cluster fixture)")

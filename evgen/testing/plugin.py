"""evgen's pytest plugin (registered through the ``pytest11`` entry point): shared fixtures.

    def test_enrich(action_api):          # a started FakeActionApi
        api = ActionApi(session, action_api.url_template)
"""

import pytest

from evgen.testing.action_api import action_api  # noqa: F401
from evgen.testing.kafka import kafka_broker  # noqa: F401
from evgen.testing.servers import static_file_server, stream_config_server  # noqa: F401


def pytest_configure(config: pytest.Config) -> None:
    """Register evgen's markers, so a generated job's tests can use them as they are."""
    config.addinivalue_line("markers", "flink: runs a real Flink mini-cluster (seconds per test)")

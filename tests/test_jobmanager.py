"""The JobManager REST client: addresses and job ids checked, unreachable or non-Flink endpoints
reported in one line. Its calls against a real Flink cluster are exercised by
tests/runtime/test_remote.py (job state, savepoints, stop, cancel, unknown jobs)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from evgen.errors import ClusterError, ConfigError
from evgen.jobmanager import JobManager, JobManagerAddress, check_job_id
from evgen.testing.servers import StaticFileServer


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1:8081", JobManagerAddress("127.0.0.1", 8081)),
        ("http://flink-jm.flink.svc:8081/", JobManagerAddress("flink-jm.flink.svc", 8081)),
        ("https://flink.example.org:443", JobManagerAddress("flink.example.org", 443, "https")),
        (" localhost:1 ", JobManagerAddress("localhost", 1)),
    ],
)
def test_addresses(text: str, expected: JobManagerAddress) -> None:
    address = JobManagerAddress.parse(text)
    assert address == expected
    assert address.url == f"{expected.scheme}://{expected.host}:{expected.port}"


@pytest.mark.parametrize("text", ["flink-jm", "flink-jm:", ":8081", "flink-jm:0", "flink-jm:70000", "ftp://h:1", "h:1/x"])
def test_bad_addresses(text: str) -> None:
    with pytest.raises(ConfigError, match=r"^--jobmanager: .* is not HOST:PORT of a Flink JobManager's REST endpoint$"):
        JobManagerAddress.parse(text)


def test_job_ids() -> None:
    assert check_job_id("6B5A0E1C4AD0A1B8F5C0E1D2C3B4A596") == "6b5a0e1c4ad0a1b8f5c0e1d2c3b4a596"
    for bad in ("", "6b5a", "6b5a0e1c4ad0a1b8f5c0e1d2c3b4a59z", "6b5a0e1c4ad0a1b8f5c0e1d2c3b4a5961"):
        with pytest.raises(ConfigError, match="is not a Flink job id"):
            check_job_id(bad)


def test_unreachable_jobmanager_is_one_line() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with JobManager(f"127.0.0.1:{port}", retries=0) as jm, pytest.raises(ClusterError) as error:
        jm.overview()
    assert str(error.value) == f"cannot reach the Flink JobManager at http://127.0.0.1:{port}: connection refused"


def test_a_server_that_is_not_flink(tmp_path: Path) -> None:
    (tmp_path / "overview").write_text("<html>hello</html>")
    (tmp_path / "jobs").mkdir()
    with StaticFileServer(tmp_path) as server:
        address = server.url.removeprefix("http://").rstrip("/")
        with JobManager(address) as jm:
            with pytest.raises(ClusterError, match=r"^GET http://.*/overview did not answer JSON \(is .* a Flink REST endpoint\?\)$"):
                jm.overview()
            with pytest.raises(ClusterError, match=r"^the Flink JobManager at http://.* knows no job 0{32}$"):
                jm.job_state("0" * 32)

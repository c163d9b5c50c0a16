"""FlinkCluster: its generated Flink configuration, and a cluster that cannot start reported in one
line with its processes gone. Starting, registering both TaskManagers, running jobs and stopping
are exercised by tests/runtime/test_remote.py through the flink_cluster fixture."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

from evgen.errors import ClusterError
from evgen.flinkdist import python_jar
from evgen.testing.cluster import FlinkCluster


def test_configuration_is_private_small_and_uses_this_python(tmp_path: Path) -> None:
    cluster = FlinkCluster(work_dir=tmp_path, configuration={"execution.checkpointing.interval": "5s"})
    conf = cluster.configuration()
    assert conf["jobmanager.memory.process.size"] == "768m" and conf["taskmanager.numberOfTaskSlots"] == 2
    assert conf["rest.address"] == conf["jobmanager.rpc.address"] == conf["taskmanager.host"] == "127.0.0.1"
    assert conf["python.executable"] == conf["python.client.executable"] == sys.executable
    assert conf["execution.checkpointing.dir"] == (tmp_path / "checkpoints").as_uri()
    assert conf["execution.checkpointing.interval"] == "5s"
    assert "--add-opens=java.base/java.lang=ALL-UNNAMED" in conf["env.java.opts.all"]  # the distribution's


@pytest.mark.cluster
def test_a_cluster_that_cannot_start_is_one_error_and_leaves_nothing_running(tmp_path: Path) -> None:
    cluster = FlinkCluster(work_dir=tmp_path, jobmanager_memory="64m", startup_timeout_s=120)
    with pytest.raises(ClusterError, match=r"^Flink jobmanager exited with \d+ while starting: .+") as error:
        cluster.start()
    assert "\n" not in str(error.value)
    written = yaml.safe_load((tmp_path / "conf" / "config.yaml").read_text())
    assert written["jobmanager.memory.process.size"] == "64m" and written["rest.port"] == cluster.rest_port
    assert (tmp_path / "lib" / python_jar().name).resolve() == python_jar()
    assert not cluster.running  # every process was stopped


def test_processes_do_not_inherit_what_pyflink_set_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # what a process holds once it ran a local PyFlink job
    for name, value in {"PYTHON_LOOPBACK_SERVER_ADDRESS": "localhost:4711", "PYFLINK_GATEWAY_DISABLED": "true",
                        "_PYFLINK_CONN_INFO_PATH": "/tmp/x", "_PYTHON_WORKER_MEMORY_LIMIT": "1",
                        "FLINK_CONF_DIR": "/elsewhere/conf", "FLINK_HOME": "/elsewhere"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("EVGEN_TEST_KEPT", "yes")
    cluster = FlinkCluster(work_dir=tmp_path)
    env = cluster.environment(tmp_path / "log" / "taskmanager-1")
    assert not {"PYTHON_LOOPBACK_SERVER_ADDRESS", "PYFLINK_GATEWAY_DISABLED", "_PYFLINK_CONN_INFO_PATH",
                "_PYTHON_WORKER_MEMORY_LIMIT", "FLINK_HOME"} & set(env)
    assert env["FLINK_CONF_DIR"] == str(tmp_path / "conf") and env["FLINK_LOG_DIR"] == str(tmp_path / "log" / "taskmanager-1")
    assert env["EVGEN_TEST_KEPT"] == "yes"


def test_a_cluster_needs_a_taskmanager() -> None:
    with pytest.raises(ClusterError, match=r"^a cluster needs at least one TaskManager and slot \(got 0 x 2\)$"):
        FlinkCluster(taskmanagers=0)

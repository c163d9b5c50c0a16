"""evgen.devkafka: a real KRaft Kafka broker from Apache's Maven artifacts."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

from evgen.devkafka import KafkaBroker, free_port, port_is_free
from evgen.errors import BrokerError
from evgen.testing.kafka import consume_all, produce, unique_name

pytestmark = pytest.mark.kafka


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie still answers kill(0); it is dead for our purpose
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(") ", 1)[1].startswith("Z"))


def test_produce_and_consume_keys_timestamps(kafka_broker: KafkaBroker) -> None:
    host, port = kafka_broker.bootstrap_servers.split(":")
    assert host == "127.0.0.1" and int(port) == kafka_broker.port
    topic = unique_name("eqiad.test.roundtrip")
    assert kafka_broker.create_topics([topic], partitions=3) == [topic]
    events = [{"id": i, "page": {"page_id": i % 4}} for i in range(50)]

    sent = produce(
        kafka_broker.bootstrap_servers, topic, events,
        key=lambda e: f"page-{e['page']['page_id']}", timestamp_ms=lambda e: 1_700_000_000_000 + e["id"],
    )

    records = consume_all(kafka_broker.bootstrap_servers, [topic])
    assert sent == 50
    assert sorted(r.json()["id"] for r in records) == list(range(50))
    by_id = {r.json()["id"]: r for r in records}
    assert all(by_id[i].key == f"page-{i % 4}" for i in range(50))
    assert all(by_id[i].timestamp_ms == 1_700_000_000_000 + i for i in range(50))
    # one key, one partition (Kafka's partitioning by key)
    partitions_of_key = {key: {r.partition for r in records if r.key == key} for key in {r.key for r in records}}
    assert all(len(p) == 1 for p in partitions_of_key.values())


def test_create_topics_is_idempotent(kafka_broker: KafkaBroker) -> None:
    names = [unique_name("eqiad.test.create"), unique_name("codfw.test.create")]

    assert kafka_broker.create_topics(names, partitions=2) == names
    assert kafka_broker.create_topics(names + names[:1], partitions=2) == []

    assert set(names) <= kafka_broker.topics()
    metadata = kafka_broker.admin().list_topics(timeout=10)
    assert [len(metadata.topics[n].partitions) for n in names] == [2, 2]


@pytest.mark.parametrize("name", ["bad topic", "x" * 300, "a/b"])
def test_invalid_topic_name_is_a_broker_error(kafka_broker: KafkaBroker, name: str) -> None:
    with pytest.raises(BrokerError, match="cannot create topic") as info:
        kafka_broker.create_topics([name])
    assert "\n" not in str(info.value)


def test_consume_unknown_topic_is_a_broker_error(kafka_broker: KafkaBroker) -> None:
    with pytest.raises(BrokerError, match="does not exist"):
        consume_all(kafka_broker.bootstrap_servers, [unique_name("never.created")])


def test_start_and_clean_stop() -> None:
    broker = KafkaBroker()
    with broker:
        pid = broker.pid
        data_dir = broker.data_dir
        assert pid is not None and data_dir is not None and _alive(pid)
        assert broker.running
        assert not port_is_free(broker.port)  # type: ignore[arg-type]
        assert (data_dir / "server.properties").read_text().count(f"127.0.0.1:{broker.port}") == 2
        topic = unique_name("eqiad.test.lifecycle")
        broker.create_topics([topic])
        produce(broker.bootstrap_servers, topic, ["{}"])
        assert len(consume_all(broker.bootstrap_servers, [topic])) == 1
        port = broker.port
    assert not broker.running
    assert not _alive(pid)
    assert not data_dir.exists()
    assert port_is_free(port)  # type: ignore[arg-type]
    assert broker.stop() is None  # idempotent


def test_stop_escalates_to_sigkill() -> None:
    broker = KafkaBroker().start()
    pid = broker.pid
    assert broker.stop(timeout_s=0) == -signal.SIGKILL
    assert pid is not None and not _alive(pid)


def test_port_in_use_is_refused() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(BrokerError, match=f"127.0.0.1:{port} is already in use"):
            KafkaBroker(port).start()


def test_non_empty_data_dir_is_refused(tmp_path: Path) -> None:
    (tmp_path / "leftover").write_text("x")
    with pytest.raises(BrokerError, match="is not empty"):
        KafkaBroker(data_dir=tmp_path).start()
    assert (tmp_path / "leftover").exists()


def test_missing_java_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(BrokerError, match="no `java` on PATH"):
        KafkaBroker().start()


def test_bad_broker_config_fails_formatting(tmp_path: Path) -> None:
    with pytest.raises(BrokerError, match="formatting the Kafka broker's storage failed: .*ConfigException: Invalid value not-a-number") as info:
        KafkaBroker(data_dir=tmp_path / "d", properties={"node.id": "not-a-number"}).start()
    assert "\n" not in str(info.value)


def test_broker_dying_at_startup_is_reported(tmp_path: Path) -> None:
    """The storage formats, but the broker refuses the config when it starts: exit status + reason."""
    broker = KafkaBroker(data_dir=tmp_path / "d", properties={"authorizer.class.name": "no.such.Authorizer"})
    with pytest.raises(BrokerError) as info:
        broker.start()
    message = str(info.value)
    assert message.startswith("the Kafka broker exited with status 1 while starting: ")
    assert "java.lang.ClassNotFoundException: no.such.Authorizer" in message
    assert "\n" not in message
    assert not broker.running


def test_broker_dies_with_its_parent(tmp_path: Path) -> None:
    """No orphaned brokers: killing the Python process that started the broker stops the broker."""
    pid_file = tmp_path / "pid"
    script = textwrap.dedent(
        f"""
        import time
        from evgen.devkafka import KafkaBroker
        broker = KafkaBroker().start()
        open({str(pid_file)!r}, "w").write(str(broker.pid))
        time.sleep(600)
        """
    )
    parent = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.monotonic() + 120
        while not pid_file.exists() or not pid_file.read_text():
            assert parent.poll() is None and time.monotonic() < deadline
            time.sleep(0.2)
        broker_pid = int(pid_file.read_text())
        assert _alive(broker_pid)
    finally:
        parent.kill()
        parent.wait()
    deadline = time.monotonic() + 60
    while _alive(broker_pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _alive(broker_pid)


def test_free_port_is_bindable() -> None:
    port = free_port()
    assert port_is_free(port)


def test_orphaned_temporary_data_dirs_are_swept() -> None:
    """A broker whose owner was SIGKILLed leaves its temp dir; the next start removes it (live owners' dirs stay)."""
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    orphan = Path(tempfile.mkdtemp(prefix="evgen-kafka-"))
    (orphan / "owner.pid").write_text(str(dead.pid))
    alive = Path(tempfile.mkdtemp(prefix="evgen-kafka-"))
    (alive / "owner.pid").write_text(str(os.getpid()))
    try:
        with KafkaBroker() as broker:
            assert broker.data_dir is not None and (broker.data_dir / "owner.pid").read_text() == str(os.getpid())
        assert not orphan.exists()
        assert alive.exists()
    finally:
        shutil.rmtree(alive, ignore_errors=True)
        shutil.rmtree(orphan, ignore_errors=True)

"""`evgen deps` and `evgen dev kafka` through the real command line."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import IO

import pytest
from click.testing import CliRunner

from evgen.cli import cli
from evgen.devkafka import KafkaBroker, free_port
from evgen.lock import LOCK_FILE, Lock, LockedStream
from evgen.runtime.events import message_key
from evgen.streamconfig import StreamConfig, StreamConfigs
from evgen.testing.kafka import private_stream, unique_name

EVGEN = [str(Path(sys.executable).parent / "evgen")]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(") ", 1)[1].startswith("Z"))


def test_deps_fetches_the_kafka_connector_jar() -> None:
    result = CliRunner().invoke(cli, ["deps", "--connector", "kafka", "--no-broker"])
    assert result.exit_code == 0, result.output
    assert re.search(r"^kafka: /.*/flink-sql-connector-kafka-5\.0\.0-2\.2\.jar$", result.output, re.M)
    assert "jars ready in" in result.output


def test_deps_unknown_connector_is_one_line() -> None:
    result = CliRunner().invoke(cli, ["deps", "--connector", "nope"])
    assert result.exit_code == 1
    line = result.output.strip()
    assert line.startswith("error: unknown connector 'nope' (known: ") and "\n" not in line
    # other tests in the session may register connectors of their own
    assert {"file", "kafka", "memory"} <= set(line.split("(known: ")[1].rstrip(")").split(", "))


def test_deps_offline_and_not_cached_says_how(tmp_path: Path) -> None:
    env = {
        **os.environ, "EVGEN_CACHE_DIR": str(tmp_path), "EVGEN_MVN": "none",
        "EVGEN_MAVEN_REPO": f"http://127.0.0.1:{free_port()}/maven2",
    }
    done = subprocess.run([*EVGEN, "deps"], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 1
    assert done.stdout == ""
    [line] = done.stderr.splitlines()  # one line, no traceback
    assert line.startswith("error: cannot download org.apache.flink:flink-sql-connector-kafka:5.0.0-2.2 from http://127.0.0.1:")
    assert "run `evgen deps`" in line


def test_dev_kafka_create_topics_outside_a_job_dir(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["dev", "kafka", "--create-topics", "--job-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert result.output.startswith(f"error: no {LOCK_FILE} in ")
    assert "evgen new-job" in result.output


def test_dev_kafka_port_in_use() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = CliRunner().invoke(cli, ["dev", "kafka", "--port", str(port)])
    assert result.exit_code == 1
    assert result.output.strip() == (
        f"error: cannot start the Kafka broker: 127.0.0.1:{port} is already in use (pick another --port, or 0 for a free one)"
    )


def _job_dir(tmp_path: Path, stream_configs_file: Path) -> tuple[Path, list[str]]:
    """A job directory whose evgen.lock pins private copies of two real streams and an error stream."""
    configs = StreamConfigs.load(str(stream_configs_file))
    suffix = unique_name("t").split(".")[1]
    source = configs.get("mediawiki.page_change.v1")
    sink = configs.get("mediawiki.page_content_change.v1")
    streams = {
        "source": private_stream(source, suffix),
        "sink": private_stream(sink, suffix),
        "error_sink": StreamConfig(stream=f"job_{suffix}.error", schema_title="error", topics=(f"job_{suffix}.error",), canary_events_enabled=False),
    }
    lock = Lock(
        job=f"job_{suffix}", package=f"job_{suffix}", stream_config_uri=str(stream_configs_file), schema_uris=[],
        streams={
            role: LockedStream(
                role=role, stream=config.stream, version="1.0.0", requested_version="1.0.0",
                schema_title=config.schema_title, schema_uri=f"/{config.schema_title}/1.0.0", source_url="",
                sha256="0" * 64, module=config.stream.replace(".", "_"), model="Model", config=config,
            )
            for role, config in streams.items()
        },
    )
    job_dir = tmp_path / "job"
    (job_dir / "sub").mkdir(parents=True)
    lock.save(job_dir / LOCK_FILE)
    return job_dir, [t for config in streams.values() for t in config.topics]


def _read_until(stream: IO[str], marker: str, timeout_s: float) -> str:
    seen = ""
    deadline = time.monotonic() + timeout_s
    while marker not in seen:
        assert time.monotonic() < deadline, f"no {marker!r} in time; output so far: {seen!r}"
        line = stream.readline()
        assert line, f"evgen exited before {marker!r}; output: {seen!r}"
        seen += line
    return seen


@pytest.mark.kafka
def test_dev_kafka_foreground_creates_job_topics_and_stops_on_ctrl_c(tmp_path: Path, stream_configs_file: Path) -> None:
    from confluent_kafka.admin import AdminClient

    job_dir, topics = _job_dir(tmp_path, stream_configs_file)
    # Started with SIGINT ignored, as a shell without job control starts a background job:
    # Ctrl-C (SIGINT) must stop it all the same.
    process = subprocess.Popen(
        [*EVGEN, "dev", "kafka", "--port", "0", "--create-topics", "--partitions", "2"],
        cwd=job_dir / "sub", stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    try:
        assert process.stdout is not None
        output = _read_until(process.stdout, "Press Ctrl-C to stop.", 180)
        servers = re.search(r"broker ready on (127\.0\.0\.1:\d+) \(pid (\d+)", output)
        assert servers, output
        bootstrap, pid = servers.group(1), int(servers.group(2))
        assert f"created topics: {', '.join(topics)}" in output
        assert f"export KAFKA_BOOTSTRAP_SERVERS={bootstrap}" in output
        metadata = AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=10)
        assert {t: len(metadata.topics[t].partitions) for t in topics} == {t: 2 for t in topics}

        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err
    assert out.strip().endswith("stopped.")
    assert "Traceback" not in err
    assert not _alive(pid)


@pytest.mark.kafka
def test_dev_kafka_stops_cleanly_on_sigterm() -> None:
    process = subprocess.Popen([*EVGEN, "dev", "kafka"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        output = _read_until(process.stdout, "Press Ctrl-C to stop.", 180)
        found = re.search(r"broker ready on 127\.0\.0\.1:(\d+) \(pid (\d+)", output)
        assert found, output
        port, pid = int(found.group(1)), int(found.group(2))
        data_dir = Path(re.search(r"data and log: (\S+)", output).group(1))  # type: ignore[union-attr]
        assert data_dir.is_dir()
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass
        process.terminate()
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err
    assert "stopped." in out
    assert not _alive(pid)
    assert not data_dir.exists()


PAGE_CHANGE = Path(__file__).resolve().parents[2].parent / "shared" / "wikimedia" / "events" / "page_change"


@pytest.mark.kafka
def test_dev_produce_and_consume(kafka_broker: KafkaBroker, tmp_path: Path) -> None:
    import json as js

    topic = unique_name("eqiad.test.cli")
    kafka_broker.create_topics([topic], partitions=2)
    files = sorted(PAGE_CHANGE.glob("*.json"))[:3]
    lines = tmp_path / "more.jsonl"
    renamed = js.loads(files[0].read_text())
    renamed["page"]["page_title"] = "Zürich_Ёж"  # keys keep UTF-8 as the job writes them
    lines.write_text(js.dumps(renamed) + "\n\n")
    servers = kafka_broker.bootstrap_servers
    runner = CliRunner()

    sent = runner.invoke(cli, [
        "dev", "produce", topic, *map(str, files), str(lines), "--bootstrap-servers", servers, "--copies", "2",
        "--fresh-ids", "--key-field", "wiki_id=wiki_id", "--key-field", "page_id=page.page_id",
        "--key-field", "title=page.page_title",
    ])
    assert sent.exit_code == 0, sent.output
    assert sent.output.startswith(f"sent 8 events to {topic} on {servers}")

    shown = runner.invoke(cli, ["dev", "consume", topic, "--keys"], env={"KAFKA_BOOTSTRAP_SERVERS": servers})
    assert shown.exit_code == 0, shown.output
    rows = [line.split("\t") for line in shown.output.splitlines()]
    assert len(rows) == 8
    events = [js.loads(value) for _, _, value in rows]
    assert len({e["meta"]["id"] for e in events}) == 8  # fresh ids on every copy
    originals = {js.loads(f.read_text())["meta"]["id"] for f in files}
    assert not originals & {e["meta"]["id"] for e in events}
    keys = {"wiki_id": "wiki_id", "page_id": "page.page_id", "title": "page.page_title"}
    for (key, ts, _), event in zip(rows, events):
        assert key == message_key(event, keys)  # the very key an evgen job writes for this event
        assert js.loads(key) == {"wiki_id": event["wiki_id"], "page_id": event["page"]["page_id"],
                                 "title": event["page"]["page_title"]}
        assert int(ts) == int(datetime.fromisoformat(event["meta"]["dt"].replace("Z", "+00:00")).timestamp() * 1000)


def test_dev_produce_bad_input_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"ok": 1}\n{nope\n')
    result = CliRunner().invoke(cli, ["dev", "produce", "t", str(bad), "--bootstrap-servers", "127.0.0.1:1"])
    assert result.exit_code == 1
    assert result.output.startswith(f"error: {bad}:2: not JSON (")
    assert len(result.output.splitlines()) == 1

    binary = tmp_path / "binary.jsonl"
    binary.write_bytes(b"\xff\xfe{}\n")
    result = CliRunner().invoke(cli, ["dev", "produce", "t", str(binary), "--bootstrap-servers", "127.0.0.1:1"])
    assert result.exit_code == 1
    assert result.output.startswith(f"error: {binary}: cannot read it as UTF-8 text (") and len(result.output.splitlines()) == 1

    good = tmp_path / "good.json"
    good.write_text("{}")
    result = CliRunner().invoke(cli, ["dev", "produce", "t", str(good), "--key-field", "page_id"])
    assert result.exit_code == 1
    assert result.output.strip() == "error: --key-field 'page_id': write it as NAME=PATH, e.g. page_id=page.page_id"


@pytest.mark.kafka
def test_dev_consume_unknown_topic(kafka_broker: KafkaBroker) -> None:
    topic = unique_name("never.created")
    result = CliRunner().invoke(cli, ["dev", "consume", topic, "--bootstrap-servers", kafka_broker.bootstrap_servers])
    assert result.exit_code == 1
    assert result.output.strip() == f"error: topic '{topic}' does not exist on {kafka_broker.bootstrap_servers}"

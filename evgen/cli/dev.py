"""``evgen deps`` and ``evgen dev ...``: connector jars, a local Kafka broker, and its data.

    $ evgen deps                       # fetch connector jars + the broker's jars into the cache
    $ evgen dev kafka --create-topics  # a real broker on 127.0.0.1 with the job's topics; Ctrl-C stops it
    $ evgen dev produce eqiad.mediawiki.page_change.v1 events/*.json --copies 100 --fresh-ids
    $ evgen dev consume eqiad.mediawiki.page_content_change.v1 --follow
"""

from __future__ import annotations

import json
import os
import signal
import time
import uuid
from pathlib import Path
from types import FrameType
from typing import Any, Callable, Iterable, Iterator, TypeVar

import click

from evgen.errors import BrokerError, ConfigError

FC = TypeVar("FC", bound=Callable[..., Any])

#: The port ``evgen dev kafka`` prefers (what generated ``config/kafka.yaml`` defaults to).
DEFAULT_PORT = 9092


@click.command("deps")
@click.option(
    "--connector", "connectors", multiple=True, metavar="NAME",
    help="Only the jars of this connector (repeatable; default: every connector).",
)
@click.option("--broker/--no-broker", default=True, show_default=True, help="Also fetch the development Kafka broker.")
def deps(connectors: tuple[str, ...], broker: bool) -> None:
    """Fetch the jars connectors and the dev Kafka broker need into the cache.

    Jars come from EVGEN_MAVEN_REPO (default Maven Central) through `mvn` when
    it is on PATH, else by direct download; they are verified against the
    repository's SHA-1 and kept in the cache (EVGEN_CACHE_DIR).
    """
    from evgen.connectors.base import all_connectors, get_connector
    from evgen.jars import JarSettings, resolve_jars
    from evgen.kafka_dist import BROKER_ARTIFACTS, KAFKA_VERSION

    settings = JarSettings.from_env()
    chosen = [get_connector(n) for n in connectors] if connectors else all_connectors()
    wanted = [coord for c in chosen for coord in c.maven_artifacts] + (list(BROKER_ARTIFACTS) if broker else [])
    started = time.monotonic()
    jars = resolve_jars(wanted, settings=settings)  # one batch: one mvn run at most
    by_coord = dict(zip(dict.fromkeys(wanted), jars))
    for connector in chosen:
        for coord in connector.maven_artifacts:
            click.echo(f"{connector.name}: {by_coord[coord]}")
    if broker:
        broker_jars = [by_coord[c] for c in BROKER_ARTIFACTS]
        click.echo(f"kafka broker {KAFKA_VERSION}: {len(broker_jars)} jars ({_megabytes(broker_jars):.0f} MB)")
    click.echo(f"jars ready in {settings.repository} ({time.monotonic() - started:.1f} s)")


@click.group("dev")
def dev() -> None:
    """Local services for developing and testing jobs."""


@dev.command("kafka")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=None,
    help=f"Port on 127.0.0.1 [default: {DEFAULT_PORT} if free, else any free port; 0: any free port].",
)
@click.option("--create-topics", is_flag=True, help="Create every topic of the job's streams (from evgen.lock).")
@click.option(
    "--job-dir", type=click.Path(file_okay=False, exists=True, path_type=Path), default=None,
    help="Job directory for --create-topics [default: the one holding evgen.lock at or above the current directory].",
)
@click.option("--partitions", type=click.IntRange(1), default=1, show_default=True, help="Partitions per created topic.")
def kafka(port: int | None, create_topics: bool, job_dir: Path | None, partitions: int) -> None:
    """Run a real single-node Apache Kafka broker in the foreground until Ctrl-C."""
    from evgen.devkafka import KafkaBroker, port_is_free
    from evgen.kafka_dist import KAFKA_VERSION

    topics = job_topics(job_dir) if create_topics else []
    if port is None:
        port = DEFAULT_PORT if port_is_free(DEFAULT_PORT) else 0
    started = time.monotonic()
    broker = KafkaBroker(port)
    # Ctrl-C and SIGTERM stop it, even when started with SIGINT ignored (a background job).
    previous = {sig: signal.signal(sig, _interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        broker.start()
        click.echo(
            f"Kafka {KAFKA_VERSION} broker ready on {broker.bootstrap_servers} "
            f"(pid {broker.pid}, {time.monotonic() - started:.1f} s)"
        )
        click.echo(f"  data and log: {broker.data_dir} (removed on stop)")
        if topics:
            created = broker.create_topics(topics, partitions=partitions)
            click.echo(f"  created topics: {', '.join(created) or '(all existed)'}")
        click.echo(f"  export KAFKA_BOOTSTRAP_SERVERS={broker.bootstrap_servers}")
        click.echo("Press Ctrl-C to stop.", nl=True)
        status = broker.wait()
        reason = broker.failure_reason()
        raise BrokerError(f"the Kafka broker exited by itself with status {status}: {reason}")
    except KeyboardInterrupt:
        click.echo("stopping the Kafka broker ...")
        broker.stop()
        click.echo("stopped.")
    finally:
        broker.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _bootstrap_option() -> Callable[[FC], FC]:
    return click.option(
        "--bootstrap-servers", default=lambda: os.environ.get("KAFKA_BOOTSTRAP_SERVERS", f"127.0.0.1:{DEFAULT_PORT}"),
        show_default="$KAFKA_BOOTSTRAP_SERVERS or 127.0.0.1:9092", help="Kafka to talk to.",
    )


@dev.command("produce")
@click.argument("topic")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_bootstrap_option()
@click.option("--copies", type=click.IntRange(1), default=1, show_default=True, help="Send every event this many times.")
@click.option("--fresh-ids", is_flag=True, help="Give every event sent a new meta.id (UUID).")
@click.option(
    "--key-field", "key_fields", multiple=True, metavar="NAME=PATH",
    help="Record key field, as a stream's message_key_fields (repeatable), e.g. page_id=page.page_id.",
)
@click.option("--timestamp-field", default="meta.dt", show_default=True, help="ISO date-time field used as record timestamp.")
def produce_command(
    topic: str, files: tuple[Path, ...], bootstrap_servers: str, copies: int, fresh_ids: bool,
    key_fields: tuple[str, ...], timestamp_field: str,
) -> None:
    """Send the JSON events in FILES (.json: one event or a list; otherwise JSON lines) to TOPIC."""
    from evgen.kafka_client import produce
    from evgen.runtime.events import get_json_path, message_key, to_epoch_ms

    keys = _key_fields(key_fields)
    events = load_events(files)
    started = time.monotonic()
    count = produce(
        bootstrap_servers, topic, _copies(events, copies, fresh_ids),
        key=(lambda e: message_key(e, keys)) if keys else None,
        timestamp_ms=lambda e: to_epoch_ms(get_json_path(e, timestamp_field)),
    )
    click.echo(f"sent {count} events to {topic} on {bootstrap_servers} ({time.monotonic() - started:.1f} s)")


@dev.command("consume")
@click.argument("topics", nargs=-1, required=True)
@_bootstrap_option()
@click.option("--follow", is_flag=True, help="Keep printing new events until Ctrl-C (default: print what is there, then exit).")
@click.option("--keys", is_flag=True, help="Print each record's key and timestamp before its value (tab-separated).")
def consume_command(topics: tuple[str, ...], bootstrap_servers: str, follow: bool, keys: bool) -> None:
    """Print the events (JSON values) of TOPICS, one per line, read_committed."""
    from evgen.kafka_client import KafkaRecord, consume_all
    from evgen.kafka_client import follow as follow_topics

    def show(record: KafkaRecord) -> None:
        prefix = f"{record.key}\t{record.timestamp_ms}\t" if keys else ""
        click.echo(f"{prefix}{record.value}")

    if not follow:
        for record in consume_all(bootstrap_servers, list(topics)):
            show(record)
        return
    try:
        for record in follow_topics(bootstrap_servers, list(topics)):
            show(record)
    except KeyboardInterrupt:
        pass


def load_events(files: Iterable[Path]) -> list[Any]:
    """Events from ``.json`` files (one event or a list) and JSON-lines files; ConfigError on bad JSON."""
    events: list[Any] = []
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise ConfigError(f"{path}: cannot read it as UTF-8 text ({e})") from None
        if path.suffix == ".json":
            try:
                data = json.loads(text)
            except ValueError as e:
                raise ConfigError(f"{path}: not JSON ({e})") from None
            events.extend(data if isinstance(data, list) else [data])
            continue
        for number, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    events.append(json.loads(line))
                except ValueError as e:
                    raise ConfigError(f"{path}:{number}: not JSON ({e})") from None
    return events


def _copies(events: list[Any], copies: int, fresh_ids: bool) -> Iterator[Any]:
    for _ in range(copies):
        for event in events:
            if fresh_ids and isinstance(event, dict) and isinstance(event.get("meta"), dict):
                event = {**event, "meta": {**event["meta"], "id": str(uuid.uuid4())}}
            yield event


def _key_fields(specs: Iterable[str]) -> dict[str, str]:
    fields: dict[str, str] = {}
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep or not name or not path:
            raise ConfigError(f"--key-field {spec!r}: write it as NAME=PATH, e.g. page_id=page.page_id")
        fields[name] = path
    return fields


def job_topics(job_dir: Path | None) -> list[str]:
    """Every topic of the job's locked streams (source, sink, error sink), in order, without repeats."""
    from evgen.lock import LOCK_FILE, ROLES, Lock, find_job_dir

    directory = find_job_dir(job_dir or Path.cwd())
    lock = Lock.load(directory / LOCK_FILE)
    topics: list[str] = []
    for role in sorted(lock.streams, key=lambda r: ROLES.index(r) if r in ROLES else len(ROLES)):
        topics.extend(lock.streams[role].config.topics)
    return list(dict.fromkeys(topics))


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _megabytes(paths: Iterable[Path]) -> float:
    return sum(p.stat().st_size for p in paths) / 1e6

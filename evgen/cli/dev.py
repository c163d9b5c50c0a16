"""``evgen deps`` and ``evgen dev kafka``: connector jars and a local Kafka broker.

    $ evgen deps                       # fetch connector jars + the broker's jars into the cache
    $ evgen dev kafka --create-topics  # a real broker on 127.0.0.1 with the job's topics; Ctrl-C stops it
"""

from __future__ import annotations

import signal
import time
from pathlib import Path
from types import FrameType
from typing import Iterable

import click

from evgen.errors import BrokerError

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
    started = time.monotonic()
    for connector in chosen:
        if connector.maven_artifacts:
            for jar in resolve_jars(connector.maven_artifacts, settings=settings):
                click.echo(f"{connector.name}: {jar}")
    if broker:
        jars = resolve_jars(BROKER_ARTIFACTS, settings=settings)
        click.echo(f"kafka broker {KAFKA_VERSION}: {len(jars)} jars ({_megabytes(jars):.0f} MB)")
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
    "--job-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
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
    previous = signal.signal(signal.SIGTERM, _interrupt)
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
        signal.signal(signal.SIGTERM, previous)


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

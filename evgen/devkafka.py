"""A real single-node Apache Kafka broker (KRaft) for development and tests.

Built from Apache Kafka's own artifacts on Maven Central (:mod:`evgen.kafka_dist`),
run with the local ``java`` as ``kafka.Kafka server.properties`` after the storage
is formatted with Kafka's ``StorageTool``. It listens on 127.0.0.1 only (a free
port unless one is given), keeps its data in a temporary directory removed on
stop, and stops cleanly: SIGTERM, wait, then SIGKILL.

    >>> from evgen.devkafka import KafkaBroker
    >>> with KafkaBroker() as broker:  # doctest: +SKIP
    ...     broker.create_topics(["eqiad.test.event", "codfw.test.event"], partitions=2)
    ...     print(broker.bootstrap_servers)
    127.0.0.1:40123
"""

from __future__ import annotations

import base64
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Iterable, Mapping

from evgen.errors import BrokerError
from evgen.jars import JarSettings
from evgen.kafka_dist import KAFKA_VERSION, broker_classpath

__all__ = ["KafkaBroker", "free_port", "port_is_free"]

log = logging.getLogger(__name__)

_NODE_ID = 1


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port on ``host`` that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """True if a server could bind ``host:port`` now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
        return True


class KafkaBroker:
    """A single-node KRaft Kafka broker + controller in a child ``java`` process.

    ``port=None`` picks a free port; ``data_dir=None`` uses a temporary directory
    that :meth:`stop` removes. ``properties`` override ``server.properties`` entries.
    """

    def __init__(
        self,
        port: int | None = None,
        *,
        host: str = "127.0.0.1",
        data_dir: Path | None = None,
        heap: str = "512m",
        startup_timeout_s: float = 120.0,
        java: str | None = None,
        jar_settings: JarSettings | None = None,
        auto_create_topics: bool = True,
        properties: Mapping[str, str] | None = None,
    ) -> None:
        self.host = host
        self.requested_port = port
        self.heap = heap
        self.startup_timeout_s = startup_timeout_s
        self.java = java
        self.jar_settings = jar_settings
        self.auto_create_topics = auto_create_topics
        self.extra_properties = dict(properties or {})
        self._given_data_dir = data_dir
        self.data_dir: Path | None = None
        self.port: int | None = None
        self.controller_port: int | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._stdout: IO[bytes] | None = None

    # ------------------------------------------------------------------ properties
    @property
    def bootstrap_servers(self) -> str:
        """``host:port`` for clients; only valid once started."""
        if self.port is None:
            raise BrokerError("the Kafka broker is not started")
        return f"{self.host}:{self.port}"

    @property
    def log_path(self) -> Path:
        """The broker's log4j log file."""
        return self._dir() / "broker.log"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> KafkaBroker:
        """Format storage, launch the broker and wait until it answers metadata requests."""
        if self._process is not None:
            raise BrokerError("the Kafka broker is already started")
        java = self._java()
        classpath = os.pathsep.join(str(p) for p in broker_classpath(self.jar_settings))
        self.port = self._port()
        self.controller_port = free_port(self.host)
        self.data_dir = self._make_data_dir()
        try:
            config = self._write_config()
            self._format(java, classpath, config)
            self._launch(java, classpath, config)
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        log.info("Kafka %s broker ready on %s (pid %s)", KAFKA_VERSION, self.bootstrap_servers, self.pid)
        return self

    def stop(self, timeout_s: float = 30.0) -> int | None:
        """Stop the broker (SIGTERM, wait ``timeout_s``, then SIGKILL); remove a temporary data dir.

        Returns the process's exit status (None if it was never started). Safe to call twice.
        """
        status: int | None = None
        process, self._process = self._process, None
        if process is not None:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout_s)
                except subprocess.TimeoutExpired:
                    log.warning("Kafka broker (pid %s) ignored SIGTERM for %.0f s; killing it", process.pid, timeout_s)
                    process.kill()
                    process.wait()
            status = process.returncode
        if self._stdout is not None:
            self._stdout.close()
            self._stdout = None
        if self._given_data_dir is None and self.data_dir is not None:
            shutil.rmtree(self.data_dir, ignore_errors=True)
        return status

    def wait(self, timeout_s: float | None = None) -> int | None:
        """Block until the broker process exits (or ``timeout_s`` passes); its exit status or None."""
        if self._process is None:
            return None
        try:
            return self._process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            return None

    def __enter__(self) -> KafkaBroker:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # ------------------------------------------------------------------ topics
    def admin(self) -> Any:
        """A ``confluent_kafka.admin.AdminClient`` connected to this broker."""
        from confluent_kafka.admin import AdminClient

        config: dict[str, Any] = {"bootstrap.servers": self.bootstrap_servers, "logger": _client_logger()}
        return AdminClient(config)

    def topics(self) -> set[str]:
        """Names of the broker's topics (internal ones excluded)."""
        metadata = self.admin().list_topics(timeout=10)
        return {name for name in metadata.topics if not name.startswith("__")}

    def create_topics(
        self, names: Iterable[str], partitions: int = 1, *, config: Mapping[str, str] | None = None,
        timeout_s: float = 30.0,
    ) -> list[str]:
        """Create topics (replication factor 1); return the names created (existing ones are kept)."""
        from confluent_kafka import KafkaError, KafkaException
        from confluent_kafka.admin import NewTopic  # type: ignore[attr-defined]

        wanted = list(dict.fromkeys(names))
        if partitions < 1:
            raise BrokerError(f"partitions must be at least 1, not {partitions}")
        admin = self.admin()
        created: list[str] = []
        pending = wanted
        deadline = time.monotonic() + timeout_s
        while pending:
            futures = admin.create_topics(
                [NewTopic(n, num_partitions=partitions, replication_factor=1, config=dict(config or {})) for n in pending],
                request_timeout=timeout_s,
            )
            retry: list[str] = []
            for name, future in futures.items():
                try:
                    future.result()
                    created.append(name)
                except KafkaException as e:
                    error = e.args[0]
                    if error.code() == KafkaError.TOPIC_ALREADY_EXISTS:
                        continue
                    if error.retriable() and time.monotonic() < deadline:
                        retry.append(name)
                        continue
                    raise BrokerError(f"cannot create topic {name!r}: {error.str()}") from None
            pending = retry
            if pending:
                time.sleep(0.2)
        return [n for n in wanted if n in created]

    # ------------------------------------------------------------------ internals
    def _dir(self) -> Path:
        if self.data_dir is None:
            raise BrokerError("the Kafka broker is not started")
        return self.data_dir

    def _java(self) -> str:
        if self.java:
            return self.java
        java_home = os.environ.get("JAVA_HOME")
        if java_home and (Path(java_home) / "bin" / "java").is_file():
            return str(Path(java_home) / "bin" / "java")
        found = shutil.which("java")
        if not found:
            raise BrokerError("cannot run the Kafka broker: no `java` on PATH (install a Java 17+ runtime or set JAVA_HOME)")
        return found

    def _port(self) -> int:
        if not self.requested_port:
            return free_port(self.host)
        port = int(self.requested_port)
        if not port_is_free(port, self.host):
            raise BrokerError(f"cannot start the Kafka broker: {self.host}:{port} is already in use (pick another --port, or 0 for a free one)")
        return port

    def _make_data_dir(self) -> Path:
        if self._given_data_dir is None:
            _sweep_orphaned_data_dirs()
            path = Path(tempfile.mkdtemp(prefix=_TEMP_PREFIX))
            (path / _OWNER_FILE).write_text(str(os.getpid()), encoding="ascii")
            return path
        path = Path(self._given_data_dir)
        if path.exists() and any(path.iterdir()):
            raise BrokerError(f"cannot start the Kafka broker: data dir {path} is not empty")
        path.mkdir(parents=True, exist_ok=True)
        return path

    def server_properties(self) -> dict[str, str]:
        """The broker's ``server.properties`` (single node: broker and controller in one process)."""
        assert self.port is not None and self.controller_port is not None
        props = {
            "process.roles": "broker,controller",
            "node.id": str(_NODE_ID),
            "controller.quorum.voters": f"{_NODE_ID}@{self.host}:{self.controller_port}",
            "listeners": f"PLAINTEXT://{self.host}:{self.port},CONTROLLER://{self.host}:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://{self.host}:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            "log.dirs": str(self._dir() / "data"),
            "num.partitions": "1",
            "auto.create.topics.enable": "true" if self.auto_create_topics else "false",
            # single node: every internal topic has one replica
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "4",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "transaction.state.log.num.partitions": "4",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
            # keep every record until the broker stops: real events carry old timestamps, and
            # time-based retention would delete them within minutes (the data dir is temporary anyway)
            "log.retention.ms": "-1",
        }
        props.update(self.extra_properties)
        return props

    def _write_config(self) -> Path:
        data = self._dir()
        config = data / "server.properties"
        config.write_text("".join(f"{k}={_escape_property(v)}\n" for k, v in self.server_properties().items()), encoding="utf-8")
        (data / "log4j2.properties").write_text(_LOG4J2.format(log=_escape_property(str(self.log_path))), encoding="utf-8")
        return config

    def _jvm_options(self) -> list[str]:
        return [
            f"-Dlog4j2.configurationFile={self._dir() / 'log4j2.properties'}",
            "-Djava.awt.headless=true",
        ]

    def _format(self, java: str, classpath: str, config: Path) -> None:
        cluster_id = _cluster_id()
        cmd = [
            java, "-Xmx256m", "-XX:TieredStopAtLevel=1", *self._jvm_options(), "-cp", classpath,
            "kafka.tools.StorageTool", "format", "--cluster-id", cluster_id, "--config", str(config),
        ]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL)
        if done.returncode != 0:
            raise BrokerError(f"formatting the Kafka broker's storage failed: {_reason(done.stdout + done.stderr)}")

    def _launch(self, java: str, classpath: str, config: Path) -> None:
        cmd = [
            java, f"-Xmx{self.heap}", "-Xms64m", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20",
            *self._jvm_options(), "-cp", classpath, "kafka.Kafka", str(config),
        ]
        self._stdout = (self._dir() / "broker.out").open("wb")
        self._process = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=self._stdout, stderr=subprocess.STDOUT,
            start_new_session=True, preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout_s
        admin = None
        while True:
            assert self._process is not None
            status = self._process.poll()
            if status is not None:
                raise BrokerError(
                    f"the Kafka broker exited with status {status} while starting: {self.failure_reason()} "
                    f"(see {self.log_path})"
                )
            if time.monotonic() > deadline:
                raise BrokerError(
                    f"the Kafka broker did not become ready on {self.bootstrap_servers} within "
                    f"{self.startup_timeout_s:.0f} s (see {self.log_path})"
                )
            if _accepts(self.host, self.port):  # type: ignore[arg-type]
                admin = admin or self.admin()
                try:
                    metadata = admin.list_topics(timeout=2)
                    if _NODE_ID in metadata.brokers:
                        return
                except Exception:  # noqa: BLE001 - not ready yet
                    pass
            time.sleep(0.1)

    def failure_reason(self) -> str:
        """The most telling error line the broker wrote (stdout, then its log), for messages."""
        texts = [p.read_text(encoding="utf-8", errors="replace") for p in (self._dir() / "broker.out", self.log_path) if p.is_file()]
        return _reason("\n".join(texts))


_TEMP_PREFIX = "evgen-kafka-"
_OWNER_FILE = "owner.pid"


def _sweep_orphaned_data_dirs() -> None:
    """Remove temporary data dirs of brokers whose owning process died without stopping them (e.g. SIGKILL)."""
    for path in Path(tempfile.gettempdir()).glob(f"{_TEMP_PREFIX}*"):
        try:
            owner = int((path / _OWNER_FILE).read_text(encoding="ascii"))
        except (OSError, ValueError):
            continue  # not ours, or still being created
        if not _process_exists(owner):
            shutil.rmtree(path, ignore_errors=True)


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


_LOG4J2 = """\
status = warn
shutdownHook = disable
appender.file.type = File
appender.file.name = file
appender.file.fileName = {log}
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
logger.kafkaclients.name = org.apache.kafka.clients
logger.kafkaclients.level = WARN
"""


def _client_logger() -> logging.Logger:
    """librdkafka's log lines: silent unless the application configures logging."""
    logger = logging.getLogger("evgen.devkafka.client")
    if not logger.handlers:
        logger.addHandler(logging.NullHandler())
    return logger


def _cluster_id() -> str:
    """A random Kafka cluster id (base64url of a UUID, no padding, not starting with '-')."""
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode("ascii").rstrip("=")
        if not text.startswith("-"):
            return text


def _escape_property(value: str) -> str:
    """Escape a value for a Java .properties file."""
    return value.replace("\\", "\\\\").replace("\n", "\\n")


def _accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


_EXCEPTION = re.compile(r"(?:^|\s)((?:[a-z_$][\w$]*\.)+[A-Z][\w$]*(?:Exception|Error)\b.*)")


def _reason(text: str) -> str:
    """The root cause in JVM output: the last exception line (``x.y.SomeException: message``),
    else the last ERROR line, else the last line; shortened to one line."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    exceptions = [m.group(1) for line in lines if not line.startswith("at ") and (m := _EXCEPTION.search(line))]
    errors = [line for line in lines if " ERROR " in line or line.startswith("ERROR")]
    chosen = (exceptions or errors or lines or ["no output"])[-1]
    return chosen if len(chosen) <= 300 else chosen[:297] + "..."


def _die_with_parent() -> None:
    """In the child before exec: get SIGTERM when the parent dies (no orphaned brokers)."""
    import ctypes

    pr_set_pdeathsig = 1
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(pr_set_pdeathsig, signal.SIGTERM)

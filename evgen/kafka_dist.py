"""The Apache Kafka broker as Maven artifacts: what ``evgen dev kafka`` runs.

``BROKER_ARTIFACTS`` is the runtime closure of ``org.apache.kafka:kafka_2.13``
(the broker jar Apache publishes on Maven Central, with every runtime
dependency its POM declares) plus the log4j2 binding for SLF4J that Apache's
own distribution ships. It is pinned so the broker's classpath is the same on
every machine and can be fetched with or without Maven (see :mod:`evgen.jars`);
``tests/test_kafka_dist.py`` checks it against Maven's own resolution.

    >>> from evgen.kafka_dist import KAFKA_VERSION, broker_classpath
    >>> KAFKA_VERSION
    '4.2.0'
    >>> len(broker_classpath())  # doctest: +SKIP
    45
"""

from __future__ import annotations

from pathlib import Path

from evgen.jars import JarSettings, resolve_jars

#: The Apache Kafka release evgen's development broker runs (the client version of
#: flink-connector-kafka 5.0.0-2.2).
KAFKA_VERSION = "4.2.0"
#: Scala build of the broker jar.
SCALA_BINARY = "2.13"
#: The broker's Maven artifact.
BROKER_ARTIFACT = f"org.apache.kafka:kafka_{SCALA_BINARY}:{KAFKA_VERSION}"
#: SLF4J-to-log4j2 binding (Kafka logs through SLF4J 1.7; the distribution bundles this binding).
LOGGING_BINDING = "org.apache.logging.log4j:log4j-slf4j-impl:2.25.3"

BROKER_ARTIFACTS: tuple[str, ...] = (
    BROKER_ARTIFACT,
    "at.yawk.lz4:lz4-java:1.10.1",
    "com.dynatrace.hash4j:hash4j:0.22.0",
    "com.fasterxml.jackson.core:jackson-annotations:2.19.2",
    "com.fasterxml.jackson.core:jackson-core:2.19.2",
    "com.fasterxml.jackson.core:jackson-databind:2.19.2",
    "com.fasterxml.jackson.dataformat:jackson-dataformat-csv:2.19.2",
    "com.fasterxml.jackson.dataformat:jackson-dataformat-yaml:2.19.2",
    "com.fasterxml.jackson.datatype:jackson-datatype-jdk8:2.19.2",
    "com.github.ben-manes.caffeine:caffeine:3.2.0",
    "com.github.luben:zstd-jni:1.5.6-10",
    "com.google.re2j:re2j:1.8",
    f"com.typesafe.scala-logging:scala-logging_{SCALA_BINARY}:3.9.6",
    "com.yammer.metrics:metrics-core:2.2.0",
    "commons-beanutils:commons-beanutils:1.11.0",
    "commons-collections:commons-collections:3.2.2",
    "commons-digester:commons-digester:2.1",
    "commons-logging:commons-logging:1.3.5",
    "commons-validator:commons-validator:1.10.1",
    "net.sf.jopt-simple:jopt-simple:5.0.4",
    "net.sourceforge.argparse4j:argparse4j:0.7.0",
    f"org.apache.kafka:kafka-clients:{KAFKA_VERSION}",
    f"org.apache.kafka:kafka-coordinator-common:{KAFKA_VERSION}",
    f"org.apache.kafka:kafka-group-coordinator-api:{KAFKA_VERSION}",
    f"org.apache.kafka:kafka-group-coordinator:{KAFKA_VERSION}",
    f"org.apache.kafka:kafka-metadata:{KAFKA_VERSION}",
    f"org.apache.kafka:kafka-raft:{KAFKA_VERSION}",
    f"org.apache.kafka:kafka-server-common:{KAFKA_VERSION}",
    f"org.apache.kafka:kafka-server:{KAFKA_VERSION}",
    f"org.apache.kafka:kafka-share-coordinator:{KAFKA_VERSION}",
    f"org.apache.kafka:kafka-storage-api:{KAFKA_VERSION}",
    f"org.apache.kafka:kafka-storage:{KAFKA_VERSION}",
    f"org.apache.kafka:kafka-tools-api:{KAFKA_VERSION}",
    f"org.apache.kafka:kafka-transaction-coordinator:{KAFKA_VERSION}",
    "org.apache.logging.log4j:log4j-api:2.25.3",
    "org.apache.logging.log4j:log4j-core:2.25.3",
    "org.bitbucket.b_c:jose4j:0.9.6",
    "org.hdrhistogram:HdrHistogram:2.2.2",
    "org.jspecify:jspecify:1.0.0",
    "org.pcollections:pcollections:4.0.2",
    "org.scala-lang:scala-library:2.13.17",
    "org.scala-lang:scala-reflect:2.13.17",
    "org.slf4j:slf4j-api:1.7.36",
    "org.xerial.snappy:snappy-java:1.1.10.7",
    "org.yaml:snakeyaml:2.4",
    LOGGING_BINDING,
)


def broker_classpath(settings: JarSettings | None = None) -> list[Path]:
    """Local, verified jars of the broker (fetched on first use)."""
    return resolve_jars(BROKER_ARTIFACTS, settings=settings)

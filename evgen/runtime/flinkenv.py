"""Creating the Flink execution environment for a job.

Local mini-cluster by default. Python workers run the interpreter that runs
evgen (``python.executable`` = ``sys.executable``), never a ``python`` found on
PATH; in ``thread`` mode the embedded interpreter is given this interpreter's
``sys.path`` (site-packages of a venv included) and the job directory.

    >>> env = create_environment(FlinkSettings(parallelism=2), job_dir=Path("."))  # doctest: +SKIP
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Iterable, Mapping

from evgen.errors import ConfigError
from evgen.runtime.config import FlinkSettings


def python_path(job_dir: Path) -> str:
    """PYTHONPATH for Flink's Python workers: the job dir, then this interpreter's path."""
    # evgen's own root first: an editable install is an import hook, which the
    # embedded interpreter (it does not run this venv's site/.pth files) lacks.
    evgen_root = str(Path(__file__).resolve().parents[2])
    entries = [str(job_dir.resolve()), evgen_root] + [p for p in sys.path if p and Path(p).is_dir()]
    seen: dict[str, None] = {}
    for entry in entries + os.environ.get("PYTHONPATH", "").split(os.pathsep):
        if entry:
            seen.setdefault(entry, None)
    return os.pathsep.join(seen)


def create_environment(settings: FlinkSettings, job_dir: Path, jars: Iterable[str] = ()):  # -> StreamExecutionEnvironment
    """A configured ``StreamExecutionEnvironment`` (local mini-cluster)."""
    # The Python workers' path: given to Flink (python.pythonpath), and to the environment in
    # case this call starts the JVM (which thread mode's embedded interpreter inherits).
    path = python_path(job_dir)
    os.environ["PYTHONPATH"] = path
    local = {
        "python.executable": sys.executable,
        "python.client.executable": sys.executable,
        "python.pythonpath": path,
    }
    restore = restore_path(settings, job_dir)
    if restore is not None:
        local["execution.state-recovery.path"] = restore
    return configured_environment(settings, job_dir, jars, local)


def configured_environment(
    settings: FlinkSettings, job_dir: Path, jars: Iterable[str], options: Mapping[str, str] | None = None
):  # -> StreamExecutionEnvironment
    """An environment with ``jars``, ``options`` and the job's ``flink`` settings (its
    ``configuration`` last, so it can override anything); local runs and cluster submissions share it."""
    from pyflink.common import Configuration
    from pyflink.datastream import CheckpointingMode, StreamExecutionEnvironment

    conf = Configuration()
    conf.set_string("python.execution-mode", settings.execution_mode)
    # Chained operators hand records on without a defensive deep copy (Flink copies a String
    # column by encoding and decoding it). Safe here: no operator of an evgen job keeps or
    # changes a record it was given. The job's flink.configuration can turn it off.
    conf.set_string("pipeline.object-reuse", "true")
    jar_list = list(jars)
    if jar_list:
        conf.set_string("pipeline.jars", ";".join(jar_list))
    for key, value in (options or {}).items():
        conf.set_string(key, value)
    if settings.checkpoint_dir:
        conf.set_string("execution.checkpointing.dir", location_uri(settings.checkpoint_dir, job_dir))
        # checkpoints survive a crash or cancel, to resume from (flink.resume_from)
        conf.set_string("execution.checkpointing.externalized-checkpoint-retention", "RETAIN_ON_CANCELLATION")
    for key, value in settings.configuration.items():
        conf.set_string(key, str(value))
    env = StreamExecutionEnvironment.get_execution_environment(conf)
    env.set_parallelism(settings.parallelism)
    if settings.checkpoint_interval_ms:
        env.enable_checkpointing(settings.checkpoint_interval_ms, CheckpointingMode.EXACTLY_ONCE)
    return env


def latest_checkpoint(checkpoint_dir: Path) -> Path | None:
    """The newest completed checkpoint (``<job id>/chk-<n>`` with ``_metadata``) under a directory."""
    done = [m.parent for m in checkpoint_dir.glob("*/chk-*/_metadata")]
    return max(done, key=lambda p: (p.stat().st_mtime, int(p.name.split("-")[1])), default=None)


def restore_path(settings: FlinkSettings, job_dir: Path) -> str | None:
    """Where to restore state from, per ``resume_from`` (None: a fresh start)."""
    if not settings.resume_from:
        return None
    if settings.resume_from != "latest":
        return location_uri(settings.resume_from, job_dir)
    if not settings.checkpoint_dir:
        raise ConfigError("flink.resume_from: latest needs flink.checkpoint_dir")
    root = Path(location_uri(settings.checkpoint_dir, job_dir).removeprefix("file://"))
    latest = latest_checkpoint(root)
    return latest.as_uri() if latest is not None else None


def location_uri(location: str, base: Path) -> str:
    """A checkpoint / savepoint location as a URI: URIs as they are, paths made absolute
    against ``base``."""
    if "://" in location or location.startswith("file:"):
        return location
    path = Path(os.path.expanduser(location))  # (Path.expanduser raises for an unknown ~user)
    return (path if path.is_absolute() else base / path).resolve().as_uri()

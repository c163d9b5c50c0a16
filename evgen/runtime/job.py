"""A job: its configuration bound to the job directory's lock and models.

    >>> job = Job.load(job_dir, ["config/local.yaml"])     # doctest: +SKIP
    >>> job.source.model, job.sink.model                    # doctest: +SKIP
    (<class 'PageChange'>, <class 'PageContentChange'>)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from evgen.lock import Lock, find_job_dir
from evgen.runtime.binding import Side, bind_side, default_error_sink
from evgen.runtime.config import JobConfig, load_config
from evgen.runtime.errorevents import ErrorEventFactory


@dataclass(frozen=True)
class Job:
    """Configuration + lock + resolved sides of one job."""

    name: str
    job_dir: Path
    lock: Lock
    config: JobConfig
    source: Side
    sink: Side
    error_sink: Side

    @classmethod
    def from_config(cls, config: JobConfig, job_dir: Path | None = None) -> Job:
        job_dir = (job_dir or find_job_dir(Path.cwd())).resolve()
        lock = Lock.load(job_dir / "evgen.lock")
        name = config.job or lock.job
        bind = dict(lock=lock, job_dir=job_dir, job=name, production=config.production)
        return cls(
            name=name,
            job_dir=job_dir,
            lock=lock,
            config=config,
            source=bind_side("source", config.source, **bind),  # type: ignore[arg-type]
            sink=bind_side("sink", config.sink, **bind),  # type: ignore[arg-type]
            error_sink=bind_side("error_sink", config.error_sink or default_error_sink(lock), **bind),  # type: ignore[arg-type]
        )

    @classmethod
    def load(cls, job_dir: Path | None = None, config_paths: Sequence[str | Path] = ()) -> Job:
        """Load ``config_paths`` (relative to ``job_dir``) and bind them."""
        job_dir = (job_dir or find_job_dir(Path.cwd())).resolve()
        paths = [p if Path(p).is_absolute() else job_dir / p for p in config_paths]
        return cls.from_config(load_config(paths or [job_dir / "config" / "local.yaml"]), job_dir)

    def connector_jars(self) -> list[str]:
        """``file://`` URLs of the jars the job's connectors need (evgen's verified jar cache)."""
        from evgen.jars import pipeline_jars_for

        return pipeline_jars_for(sorted({side.connector.name for side in (self.source, self.sink, self.error_sink)}))

    def error_factory(self) -> ErrorEventFactory:
        return ErrorEventFactory(
            emitter_id=self.name,
            stream=self.error_sink.locked.stream,
            schema_uri=self.error_sink.locked.schema_uri,
            source_stream=self.source.locked.stream,
            source_schema_uri=self.source.locked.schema_uri,
        )

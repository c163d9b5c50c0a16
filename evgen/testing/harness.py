"""Run a job's pipeline over fixture events, in-process or on Flink.

Both runners take the job's ``pipeline(stream) -> stream`` function, the job
directory and the input events (a JSON-lines path relative to the job dir, or a
list of JSON strings / mappings) and return a :class:`JobRun`.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from evgen.connectors.file import read_json_lines
from evgen.connectors.memory import STORE
from evgen.runtime.config import JobConfig, load_config, merge, parse_config
from evgen.runtime.stream import Stream
from evgen.runtime.job import Job
from evgen.lock import Lock

Pipeline = Callable[[Stream], Stream]
Events = str | Path | Sequence[str | dict[str, Any]]


@dataclass
class JobRun:
    """Outputs and error events (parsed JSON) of a run, plus its counts."""

    inputs: int
    outputs: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)

    @property
    def filtered(self) -> int:
        return sum(v for k, v in self.counts.items() if k.startswith("filtered."))

    def errors_of(self, error_type: str) -> list[dict[str, Any]]:
        return [e for e in self.errors if e.get("error_type") == error_type]

    def assert_conserved(self) -> None:
        """Every input is an output (1:1), an error, or intentionally filtered."""
        accounted = self.counts["completed"] + len(self.errors) + self.filtered
        assert accounted == self.inputs, f"{self.inputs} inputs but {accounted} accounted for: {dict(self.counts)}"


def _events(events: Events, job_dir: Path) -> list[str]:
    if isinstance(events, (str, Path)):
        path = Path(events)
        return read_json_lines(path if path.is_absolute() else job_dir / path)
    return [e if isinstance(e, str) else json.dumps(e) for e in events]


def _config(job_dir: Path, raw: list[str], overrides: dict[str, Any] | None, sink_names: tuple[str, str]) -> JobConfig:
    """The job's local config with in-memory source and sinks (``overrides`` merged last;
    an overriding ``source`` replaces the in-memory one)."""
    data = load_config([job_dir / "config" / "local.yaml"], environ={}).model_dump(exclude_unset=True)
    overrides = dict(overrides or {})
    data["source"] = overrides.pop("source", None) or {**data["source"], "connector": "memory", "options": {"events": raw}}
    data["sink"] = {**data["sink"], "connector": "memory", "options": {"name": sink_names[0]}}
    error_stream = data["error_sink"]["stream"] if data.get("error_sink") else str(
        Lock.load(job_dir / "evgen.lock").streams["error_sink"].ref
    )
    data["error_sink"] = {"stream": error_stream, "connector": "memory", "options": {"name": sink_names[1]}}
    data["live_status"] = False
    return parse_config(merge(data, overrides), source="test overrides")


def run_in_process(
    pipeline: Pipeline, *, job_dir: str | Path, events: Events, config: dict[str, Any] | None = None
) -> JobRun:
    """Run the pipeline's per-event logic in this process (no Flink); same outcomes."""
    job_dir = Path(job_dir).resolve()
    raw = _events(events, job_dir)
    job = Job.from_config(_config(job_dir, raw, config, ("outputs", "errors")), job_dir)
    stream = pipeline(Stream(job))
    chain = stream.chain()
    for resource in stream.resources:
        resource.open(_http_settings(job), (stream.batch.max_workers if stream.batch else 1))
    run = JobRun(inputs=len(raw))
    try:
        for line in raw:
            run.counts["in"] += 1
            done = chain.complete(line)
            if done.error is not None:
                run.counts[f"error.{done.error['error_type']}"] += 1
                run.errors.append(done.error)
            elif done.dropped is not None:
                run.counts[f"filtered.{done.dropped}"] += 1
            else:
                run.counts["completed"] += 1
                for _key, value, _ts in done.outputs:
                    run.counts["out"] += 1
                    run.outputs.append(json.loads(value))
    finally:
        for resource in stream.resources:
            resource.close()
    return run


def _http_settings(job: Job) -> Any:
    from evgen.http import HttpSettings

    return HttpSettings.from_job_config({"http": job.config.http})


def run_on_flink(
    pipeline: Pipeline, *, job_dir: str | Path, events: Events, config: dict[str, Any] | None = None
) -> JobRun:
    """Run the pipeline on the local Flink mini-cluster with in-memory source and sinks."""
    job_dir = Path(job_dir).resolve()
    raw = _events(events, job_dir)
    names = ("outputs", "errors")
    job = Job.from_config(_config(job_dir, raw, config, names), job_dir)
    result = pipeline(Stream(job)).execute()
    return JobRun(
        inputs=len(raw),
        outputs=[json.loads(line) for line in STORE.read(names[0])],
        errors=[json.loads(line) for line in STORE.read(names[1])],
        counts=result.counts,
    )


def with_new_id(event: dict[str, Any], **meta: Any) -> dict[str, Any]:
    """A deep copy of ``event`` with a fresh ``meta.id`` (and any ``meta`` overrides).

        >>> with_new_id({"meta": {"id": "a", "domain": "x"}}, domain="canary")["meta"]["domain"]
        'canary'
    """
    out = json.loads(json.dumps(event))
    out["meta"] = {**out.get("meta", {}), "id": str(uuid.uuid4()), **meta}
    return out

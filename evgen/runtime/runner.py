"""Running a job directory: what ``evgen run`` and ``python -m <job>`` do.

The job's package has a ``job`` module with ``pipeline(stream) -> stream``;
the runner loads the config files, builds the stream and executes it.

    $ evgen run --config config/local.yaml          # inside the job directory
    $ python -m page_content_change --config config/local.yaml
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import click

from evgen.errors import ConfigError, EvgenError
from evgen.lock import find_job_dir
from evgen.runtime.config import load_config, merge, parse_config
from evgen.runtime.execute import RunResult
from evgen.runtime.job import Job
from evgen.runtime.stream import Stream


def load_pipeline(job: Job) -> Callable[[Stream], Stream]:
    """``<package>.job.pipeline`` of the job."""
    module_name = f"{job.lock.package}.job"
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise ConfigError(f"cannot import {module_name} from {job.job_dir}: {e}") from None
    pipeline = getattr(module, "pipeline", None)
    if not callable(pipeline):
        raise ConfigError(f"{module_name} has no pipeline(stream) function")
    return pipeline


def parse_sets(pairs: Sequence[str]) -> dict[str, Any]:
    """``["process.max_workers=32"]`` → ``{"process": {"max_workers": 32}}`` (values as YAML)."""
    import yaml

    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set expects KEY=VALUE, got {pair!r}")
        node = out
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = yaml.safe_load(value)
    return out


def load_job(
    job_dir: Path | None,
    config_paths: Sequence[str],
    sets: Sequence[str] = (),
    overrides: Mapping[str, Any] | None = None,
) -> Job:
    """The job of ``job_dir`` with its config files merged, then ``--set`` pairs, then
    ``overrides`` (a config mapping, e.g. ``{"flink": {"parallelism": 2}}``) applied."""
    job_dir = (job_dir or find_job_dir(Path.cwd())).resolve()
    paths = [Path(p) if Path(p).is_absolute() else Path.cwd() / p for p in config_paths]
    if not paths:
        paths = [job_dir / "config" / "local.yaml"]
    config = load_config(paths)
    if sets:
        config = parse_config(merge(config.model_dump(exclude_unset=True), parse_sets(sets)), source="--set")
    if overrides:
        config = parse_config(merge(config.model_dump(exclude_unset=True), overrides), source="command-line options")
    return Job.from_config(config, job_dir)


def run_job(
    job_dir: Path | None,
    config_paths: Sequence[str],
    sets: Sequence[str] = (),
    overrides: Mapping[str, Any] | None = None,
) -> RunResult:
    """Load, build and execute a job directory; return its result."""
    job = load_job(job_dir, config_paths, sets, overrides)
    pipeline = load_pipeline(job)
    return pipeline(Stream(job)).execute()


def main(package: str | None = None, argv: Sequence[str] | None = None) -> None:
    """Entry point of a job's ``__main__``: ``python -m <job> [--config F]... [--set K=V]...``."""

    @click.command(context_settings={"help_option_names": ["-h", "--help"]})
    @click.option("--config", "configs", multiple=True, help="Job config YAML (repeatable; merged in order).")
    @click.option("--set", "sets", multiple=True, help="Override a config key, e.g. process.max_workers=32.")
    def command(configs: tuple[str, ...], sets: tuple[str, ...]) -> None:
        job_dir = None
        if package:
            job_dir = Path(importlib.import_module(package).__file__ or ".").resolve().parent.parent
        try:
            result = run_job(job_dir, configs, sets)
        except EvgenError as e:
            click.echo(f"error: {e}", err=True)
            sys.exit(1)
        sys.exit(0 if result.status == "FINISHED" else 1)

    command.main(args=list(argv) if argv is not None else None, prog_name=package or "evgen-job")

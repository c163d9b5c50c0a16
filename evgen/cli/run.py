"""``evgen run``: run the job in the current directory on the local mini-cluster or a Flink
cluster; ``evgen stop``: stop a cluster job, with a savepoint to resume from.

    $ evgen run --config config/local.yaml
    $ evgen run --target remote --jobmanager flink-jm:8081 --config config/kafka.yaml --parallelism 4
    $ evgen stop --jobmanager flink-jm:8081 6b5a0e1c4ad0a1b8f5c0e1d2c3b4a596 --savepoint file:///savepoints
    $ evgen run --target remote --jobmanager flink-jm:8081 --config config/kafka.yaml \\
          --from-savepoint file:///savepoints/savepoint-6b5a0e-2d4c7a9e1f03
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from evgen.errors import ConfigError


def run_overrides(parallelism: int | None, checkpoint_dir: str | None, from_savepoint: str | None,
                  target: str) -> dict[str, Any]:
    """The job-config overrides the command-line options stand for."""
    flink: dict[str, Any] = {}
    if parallelism is not None:
        flink["parallelism"] = parallelism
    if checkpoint_dir is not None:
        flink["checkpoint_dir"] = checkpoint_dir
    if from_savepoint is not None and target == "local":
        flink["resume_from"] = local_savepoint(from_savepoint)
    return {"flink": flink} if flink else {}


def local_savepoint(path: str) -> str:
    """``path`` as a URI, checked when it is on this machine's file system (a local run reads it
    here; a cluster resolves its own paths)."""
    from urllib.parse import unquote, urlsplit

    from evgen.runtime.flinkenv import location_uri

    uri = location_uri(path, Path.cwd())
    if uri.startswith("file:"):
        local = Path(unquote(urlsplit(uri).path))
        if not (local / "_metadata").is_file() and not (local.name == "_metadata" and local.is_file()):
            raise ConfigError(f"--from-savepoint: no savepoint or checkpoint at {local} (no _metadata file)")
    return uri


@click.command("run")
@click.option("--config", "configs", multiple=True, type=click.Path(dir_okay=False), help="Job config YAML (repeatable; merged in order). "
              "Default: config/local.yaml.")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
              help="Override a config key, e.g. --set process.max_workers=32.")
@click.option("--job-dir", type=click.Path(file_okay=False, exists=True, path_type=Path), default=None,
              help="The job directory (default: the one holding evgen.lock at or above the current directory).")
@click.option("--target", type=click.Choice(["local", "remote"]), default="local", show_default=True,
              help="local: Flink's mini-cluster in this process, with live counts; remote: submit to a "
                   "running Flink session cluster (--jobmanager) and return.")
@click.option("--jobmanager", metavar="HOST:PORT", help="REST address of the cluster's JobManager (--target remote).")
@click.option("--parallelism", type=click.IntRange(min=1), help="Parallelism of the job (flink.parallelism).")
@click.option("--from-savepoint", metavar="PATH", help="Start from this savepoint (or retained checkpoint).")
@click.option("--checkpoint-dir", metavar="URI", help="Where checkpoints go (flink.checkpoint_dir).")
def run(configs: tuple[str, ...], sets: tuple[str, ...], job_dir: Path | None, target: str, jobmanager: str | None,
        parallelism: int | None, from_savepoint: str | None, checkpoint_dir: str | None) -> None:
    """Run a job: locally with live status and a summary, or on a Flink cluster."""
    overrides = run_overrides(parallelism, checkpoint_dir, from_savepoint, target)
    if target == "local":
        if jobmanager is not None:
            raise ConfigError("--jobmanager applies to --target remote only")
        from evgen.runtime.runner import run_job  # pyflink: imported by the commands that run a job

        result = run_job(job_dir, configs, sets, overrides)
        sys.exit(0 if result.status == "FINISHED" else 1)
    if jobmanager is None:
        raise ConfigError("--target remote needs --jobmanager HOST:PORT (the cluster's REST address)")
    from evgen.runtime.remote import submit_job

    submission = submit_job(job_dir, configs, sets, overrides, jobmanager=jobmanager, from_savepoint=from_savepoint)
    click.echo(submission.describe())


@click.command("stop")
@click.argument("job_id")
@click.option("--jobmanager", metavar="HOST:PORT", required=True, help="REST address of the cluster's JobManager.")
@click.option("--savepoint", "savepoint_dir", metavar="DIR",
              help="Stop with a savepoint in this directory (a URI the cluster can write); without it the job "
                   "is cancelled and its in-flight state is lost.")
@click.option("--drain", is_flag=True, help="Flush every pending batch before the savepoint (for a final stop, "
              "not an upgrade).")
def stop(job_id: str, jobmanager: str, savepoint_dir: str | None, drain: bool) -> None:
    """Stop a job running on a Flink cluster; print the savepoint to resume from."""
    from evgen.runtime.remote import stop_job

    location = stop_job(jobmanager, job_id, savepoint_dir=savepoint_dir, drain=drain)
    if location is None:
        click.echo(f"cancelled job {job_id} (no savepoint)")
        return
    click.echo(f"stopped job {job_id} with savepoint {location}")
    click.echo(f"  resume: evgen run --target remote --jobmanager {jobmanager} --from-savepoint {location} "
               "--config <the same config>")

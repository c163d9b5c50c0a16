"""``evgen run``: run the job in the current directory on the local mini-cluster."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from evgen.runtime.runner import run_job


@click.command("run")
@click.option("--config", "configs", multiple=True, help="Job config YAML (repeatable; merged in order). "
              "Default: config/local.yaml.")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
              help="Override a config key, e.g. --set process.max_workers=32.")
@click.option("--job-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="The job directory (default: the one holding evgen.lock above the current directory).")
def run(configs: tuple[str, ...], sets: tuple[str, ...], job_dir: Path | None) -> None:
    """Run a job: live status while it runs, a summary at the end."""
    result = run_job(job_dir, configs, sets)
    sys.exit(0 if result.status == "FINISHED" else 1)

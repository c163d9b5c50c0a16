"""``evgen new-job`` and ``evgen regen``: make a job project, keep its models current.

    $ evgen new-job page_content_change --source mediawiki.page_change.v1:1.1.0 \\
          --sink mediawiki.page_content_change.v1:1.1.0 \\
          --stream-config ../shared/wikimedia/streamconfigs.json \\
          --schema-uri ../shared/wikimedia/schema-repos/primary/jsonschema
    $ cd page_content_change && evgen regen --source mediawiki.page_change.v1:latest
    $ evgen regen --check     # exit 1 when the generated models are stale (CI)
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from evgen.project import RegenResult

_REF = "STREAM:VERSION"


@click.command("new-job")
@click.argument("name")
@click.option("--source", required=True, metavar=_REF, help="Stream the job reads, e.g. mediawiki.page_change.v1:1.1.0 (or :latest).")
@click.option("--sink", required=True, metavar=_REF, help="Stream the job writes.")
@click.option("--error-sink", metavar=_REF, default=None, help="Error stream (default: NAME.error with the latest 'error' schema).")
@click.option("--stream-config", metavar="URI", default=None,
              help="MediaWiki api.php URL or JSON/YAML file (default: $EVGEN_STREAM_CONFIG or the user config).")
@click.option("--schema-uri", "schema_uris", metavar="URI", multiple=True,
              help="Schema repository base (repeatable, searched in order; default: $EVGEN_SCHEMA_URIS or the user config).")
@click.option("--output-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("."), show_default=True,
              help="Where the job directory NAME is created.")
def new_job(
    name: str,
    source: str,
    sink: str,
    error_sink: str | None,
    stream_config: str | None,
    schema_uris: tuple[str, ...],
    output_dir: Path,
) -> None:
    """Create the job project NAME: typed models, a process() skeleton, configs, tests and a lock."""
    from evgen.lock import LOCK_FILE, ROLES, Lock
    from evgen.project import new_job as make

    job_dir = make(
        name,
        source=source,
        sink=sink,
        error_sink=error_sink,
        stream_config=stream_config,
        schema_uris=schema_uris,
        output_dir=output_dir,
    )
    lock = Lock.load(job_dir / LOCK_FILE)
    click.echo(f"created {job_dir}")
    for role in ROLES:
        locked = lock.streams[role]
        click.echo(f"  {role:<10} {locked.ref}  ->  {lock.package}.models.{locked.module}.{locked.model}  ({locked.schema_uri})")
    click.echo(f"next: cd {job_dir} && pip install -e . && pytest; edit {lock.package}/job.py")


@click.command("regen")
@click.option("--source", metavar=_REF, default=None, help="Move the source to this stream version (e.g. :latest).")
@click.option("--sink", metavar=_REF, default=None, help="Move the sink to this stream version.")
@click.option("--error-sink", metavar=_REF, default=None, help="Move the error sink to this stream version.")
@click.option("--stream-config", metavar="URI", default=None, help="Use (and record) another stream config.")
@click.option("--schema-uri", "schema_uris", metavar="URI", multiple=True, help="Use (and record) other schema repositories.")
@click.option("--force", is_flag=True, help="Overwrite generated files even if they were edited by hand.")
@click.option("--check", is_flag=True, help="Change nothing; exit 1 if the generated code is stale against the lock or the schemas.")
@click.option("--job-dir", type=click.Path(file_okay=False, exists=True, path_type=Path), default=None,
              help="The job directory (default: the one holding evgen.lock at or above the current directory).")
def regen(
    source: str | None,
    sink: str | None,
    error_sink: str | None,
    stream_config: str | None,
    schema_uris: tuple[str, ...],
    force: bool,
    check: bool,
    job_dir: Path | None,
) -> None:
    """Re-resolve the job's locked streams, regenerate its models and update evgen.lock.

    Prints a field-level schema diff for every stream whose schema changed. User-owned
    files (job.py, config, tests) are never touched.
    """
    from evgen.project import regen as run_regen

    if check and force:
        raise click.UsageError("--check changes nothing, so --force does not apply")

    result = run_regen(
        job_dir or Path.cwd(),
        source=source,
        sink=sink,
        error_sink=error_sink,
        stream_config=stream_config,
        schema_uris=schema_uris,
        force=force,
        check=check,
    )
    for role, diff in result.diffs.items():
        locked = result.lock.streams[role]
        verdict = "BREAKING" if diff.breaking else "compatible"
        click.echo(f"schema diff, {role.replace('_', ' ')} {locked.stream}: {diff.old_uri} -> {diff.new_uri} ({verdict})")
        click.echo(diff.render() or "  (no field changes)")
    if check:
        if result.stale:
            for line in _stale_lines(result):
                click.echo(f"stale: {line}", err=True)
            fix = "`evgen regen --force` (files were edited by hand)" if result.edited else "`evgen regen`"
            click.echo(f"error: generated code is stale; run {fix}", err=True)
            sys.exit(1)
        click.echo(f"up to date: {result.job_dir}")
        return
    for path in result.written:
        click.echo(f"wrote {path}")
    for path in result.removed:
        click.echo(f"removed {path}")
    if not result.written and not result.removed:
        click.echo("models up to date")
    for note in result.notes:
        click.echo(f"note: {note}")


def _stale_lines(result: RegenResult) -> list[str]:
    lines = [f"{p} (edited by hand)" for p in result.edited]
    lines += [f"{p} (missing)" for p in result.missing]
    lines += [f"{p} (differs from what the schemas generate)" for p in result.changed]
    lines += [f"{p} (no longer generated)" for p in result.removed]
    if result.lock_changed:
        lines.append("evgen.lock (the stream config or schemas changed)")
    return lines

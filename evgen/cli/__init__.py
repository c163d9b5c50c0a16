"""The ``evgen`` command line.

Each sub-command lives in the module named after what it does (``jobs``: new-job
and regen, ``run``: running and stopping a job, ``dev``: local Kafka and connector jars, ``demo``: the
example job end to end).
Every :class:`~evgen.errors.EvgenError` is printed as one ``error: ...`` line on
stderr with exit status 1, never as a traceback.

    $ evgen new-job my_job --source mediawiki.page_change.v1:1.1.0 \\
          --sink mediawiki.page_content_change.v1:1.1.0
"""

from __future__ import annotations

import sys

import click

from evgen.errors import EvgenError


class _Group(click.Group):
    """A click group that turns evgen errors into one line and exit 1."""

    def invoke(self, ctx: click.Context):  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except EvgenError as e:
            click.echo(f"error: {e}", err=True)
            sys.exit(1)


@click.group(cls=_Group)
@click.version_option(package_name="evgen")
def cli() -> None:
    """Generate and run typed PyFlink jobs on Event Platform streams."""


def _register() -> None:
    from evgen.cli import demo, dev, jobs, run

    cli.add_command(jobs.new_job)
    cli.add_command(jobs.regen)
    cli.add_command(run.run)
    cli.add_command(run.stop)
    cli.add_command(dev.deps)
    cli.add_command(dev.dev)
    cli.add_command(demo.demo)


_register()


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="evgen")

"""``evgen demo``: the page_content_change example end to end, with a fake Action API.

Runs ``generated_examples/page_content_change`` over its real sample events on the local
Flink mini-cluster (see :mod:`evgen.demo`): the job's live status line and summary (counts
per outcome, elapsed, rate) on stderr, then where the files are, one enriched content slot
and one error event. Exit status 1 when the run did not account for every
input event.

    $ evgen demo --output-dir out/demo
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from evgen.demo import DemoRun

_PREVIEW_CHARS = 160


@click.command("demo")
@click.option("--output-dir", type=click.Path(path_type=Path), default=Path("out/demo"),
              show_default=True, help="Where outputs (output/), error events (errors/) and demo.yaml go.")
@click.option("--events", type=click.Path(path_type=Path), default=None,
              help="JSON-lines page_change events (default: the example's tests/fixtures/page_change_events.jsonl).")
@click.option("--latency-ms", type=click.FloatRange(min=0), default=0.0, show_default=True,
              help="Latency the fake Action API adds to every answer.")
@click.option("--faults/--no-faults", default=True, show_default=True,
              help="Make the fake fail one revision twice (recovers) and another one always.")
@click.option("--job-dir", type=click.Path(file_okay=False, exists=True, path_type=Path), default=None,
              help="The job to run (default: generated_examples/page_content_change of this checkout).")
def demo(output_dir: Path, events: Path | None, latency_ms: float, faults: bool, job_dir: Path | None) -> None:
    """Run the page_content_change example against a local fake Action API and show the results."""
    from evgen.demo import example_dir, run_demo

    job = (job_dir or example_dir()).resolve()
    click.echo(f"evgen demo: {job.name} on the local Flink mini-cluster, with a fake Action API on 127.0.0.1")
    run = run_demo(output_dir, job_dir=job, events=events, latency_s=latency_ms / 1000, faults=faults)
    _report(run)
    if not run.conserved:
        click.echo(f"error: the run did not account for every input: {run.balance()}", err=True)
        sys.exit(1)


def _report(run: DemoRun) -> None:
    from evgen.demo import errors_dir, outputs_dir

    echo = click.echo
    echo("")
    echo(f"events:     {run.events} ({run.inputs} lines)")
    echo(f"Action API: {run.api_url} (fake; {run.api_requests} requests served)")
    echo(f"faults:     {run.faults.describe()}")
    echo(f"balance:    {run.balance()}")
    echo("")
    echo(f"outputs:    {outputs_dir(run.output_dir)}  ({len(run.outputs)} mediawiki.page_content_change.v1 events)")
    echo(f"errors:     {errors_dir(run.output_dir)}  ({len(run.errors)} error events)")
    echo(f"config:     {run.config}  (merged over the job's config/local.yaml)")
    output = next((o for o in run.outputs if _slots_with_body(o)), None)
    if output is not None:
        role, slot = _slots_with_body(output)[0]
        echo("")
        echo(f"one output: {output['wiki_id']} page {output['page']['page_title']!r} revision "
             f"{output['revision']['rev_id']} ({output['page_change_kind']}), content slot {role!r}:")
        for key in ("content_model", "content_format", "content_size", "content_sha1"):
            echo(f"  {key}: {slot.get(key)}")
        echo(f"  content_body: {_preview(json.dumps(slot['content_body'], ensure_ascii=False))}")
    error = _interesting_error(run.errors)
    if error is not None:
        echo("")
        echo(f"one error event: {error['error_type']}")
        echo(f"  message:   {_preview(error['message'], 400)}")
        echo(f"  raw_event: {_preview(error['raw_event'])}")


def _slots_with_body(output: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    slots = (output.get("revision") or {}).get("content_slots") or {}
    return [(role, slot) for role, slot in slots.items() if isinstance(slot, dict) and "content_body" in slot]


def _interesting_error(errors: list[dict[str, Any]]) -> dict[str, Any] | None:
    """An HTTP/API failure if there is one (the enrichment's own), else the first error."""
    for error in errors:
        if str(error.get("error_type", "")).startswith(("http_", "mw_")):
            return error
    return errors[0] if errors else None


def _preview(text: str, limit: int = _PREVIEW_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"

"""``python -m bench``: run the benchmark suite and write its report.

    python -m bench                               # full run → docs/benchmarks.{md,json,png}
    python -m bench --smoke --out /tmp/smoke      # tiny CI run (never writes docs/)
    python -m bench --sections typed,enrich --runs 5 --out /tmp/b

Exits 1 with ``bench: error: <why>`` when a run fails or an output count is wrong.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import click

from bench import REPO
from bench.context import Context, Settings
from bench.errors import BenchError
from bench.report import HEADLINE_KEYS, update_readme
from evgen.errors import EvgenError

SECTIONS = ("codegen", "typed", "kafka", "datapath", "enrich", "latency", "memory", "cluster")


def _runners() -> dict[str, Callable[[Context], Any]]:
    from bench.cluster import run_cluster
    from bench.codegen import run_codegen
    from bench.datapath import run_datapath
    from bench.enrich import run_enrich
    from bench.kafkajobs import run_kafka
    from bench.latency import run_latency
    from bench.memory import run_memory
    from bench.typed_vs_handwritten import run_file

    return {"codegen": run_codegen, "typed": run_file, "kafka": run_kafka, "datapath": run_datapath,
            "enrich": run_enrich, "latency": run_latency, "memory": run_memory, "cluster": run_cluster}


#: Where each section's results go in ``sections``.
PLACES = {"codegen": ("codegen",), "typed": ("typed_vs_handwritten", "file"), "kafka": ("typed_vs_handwritten", "kafka"),
          "datapath": ("data_path",), "enrich": ("enrichment",), "latency": ("latency",), "memory": ("memory",),
          "cluster": ("cluster_scaling",)}


def _parse_sections(value: str | None) -> list[str]:
    if not value:
        return list(SECTIONS)
    chosen = [s.strip() for s in value.split(",") if s.strip()]
    unknown = [s for s in chosen if s not in SECTIONS]
    if unknown or not chosen:
        raise BenchError(f"--sections: unknown section(s) {', '.join(unknown) or repr(value)} "
                         f"(known: {', '.join(SECTIONS)})")
    return [s for s in SECTIONS if s in chosen]


def run_suite(settings: Settings, out: Path, sections: list[str], work_dir: Path, *, quiet: bool = False) -> dict[str, Any]:
    """Run ``sections`` with ``settings``; write the report into ``out``; return the results."""
    from bench.data import dataset
    from bench.machine import describe, load
    from bench.report import summarize, write
    from bench.workspace import Workspace

    started = time.monotonic()
    load_before = load()
    machine = describe()
    workspace = Workspace.create(work_dir / "workspace")
    data = dataset(settings.events, workspace.source_schema)
    ctx = Context(settings=settings, workspace=workspace, data=data, runs_root=work_dir / "runs", quiet=quiet)
    ctx.runs_root.mkdir(parents=True, exist_ok=True)
    ctx.log(f"dataset {data} ({settings.events:,} events); work dir {work_dir}")
    runners = _runners()
    results: dict[str, Any] = {}
    skipped = {s: "not selected (--sections)" for s in SECTIONS if s not in sections}
    if not settings.kafka and "kafka" in sections:
        skipped["kafka"] = "disabled (--no-kafka)"
    section_load: dict[str, Any] = {}
    for name in sections:
        if name in skipped:
            continue
        section_load[name] = load()
        ctx.log(f"section {name} (load average {section_load[name]['load1']})")
        section = runners[name](ctx)
        place = PLACES[name]
        node = results
        for key in place[:-1]:
            node = node.setdefault(key, {})
        node[place[-1]] = section
    summary = summarize(results, machine=machine, load={"before": load_before, "sections": section_load, "after": load()}, settings=settings,
                        duration_s=time.monotonic() - started, skipped=skipped)
    for path in write(summary, out):
        ctx.log(f"wrote {path}")
    return summary


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--smoke", is_flag=True, help="Tiny run (2k events, one run per figure) for CI; never writes docs/.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Where to write benchmarks.{json,md,png} (default: docs/ for a full run, a temp dir for --smoke).")
@click.option("--sections", help=f"Comma-separated subset of: {', '.join(SECTIONS)}.")
@click.option("--events", type=click.IntRange(min=100), help="Events of the file → file runs (default 100000).")
@click.option("--runs", type=click.IntRange(min=1), help="Runs per figure (default 3).")
@click.option("--no-kafka", is_flag=True, help="Skip Kafka → Kafka (reported as not measured).")
@click.option("--work-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Keep run directories (logs, specs) here instead of a temp dir that is removed.")
@click.option("--quiet", is_flag=True, help="No progress lines on stderr.")
def main(smoke: bool, out: Path | None, sections: str | None, events: int | None, runs: int | None, no_kafka: bool,
         work_dir: Path | None, quiet: bool) -> None:
    """Benchmark evgen: typed vs hand-written, data path, enrichment, latency, memory, codegen."""
    settings = (Settings.smoke_preset() if smoke else Settings()).with_overrides(events=events, runs=runs)
    if no_kafka:
        settings = settings.with_overrides(kafka=False)
    if events is not None:
        settings = settings.with_overrides(kafka_events=events)
    try:
        chosen = _parse_sections(sections)
        if smoke and out is not None and out.resolve() == (REPO / "docs").resolve():
            raise BenchError("--out: docs/ holds the full run's numbers; give the smoke run another directory")
    except BenchError as e:
        click.echo(f"bench: error: {e}", err=True)
        sys.exit(1)
    if out is None:
        out = Path(tempfile.mkdtemp(prefix="evgen-bench-smoke-")) if smoke else REPO / "docs"
    temp = work_dir is None
    work = Path(tempfile.mkdtemp(prefix="evgen-bench-")) if work_dir is None else work_dir
    work.mkdir(parents=True, exist_ok=True)
    try:
        summary = run_suite(settings, out, chosen, work, quiet=quiet)
        if out.resolve() == (REPO / "docs").resolve() and chosen == list(SECTIONS):
            update_readme(summary, REPO / "README.md")  # the full run's headline answers
    except (BenchError, EvgenError) as e:
        click.echo(f"bench: error: {e}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo("bench: interrupted", err=True)
        sys.exit(130)
    finally:
        if temp:
            shutil.rmtree(work, ignore_errors=True)
    click.echo(f"results in {out}")
    for key in HEADLINE_KEYS:
        click.echo(f"  {key}: {summary[key]}")


if __name__ == "__main__":
    main()

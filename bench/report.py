"""Writing the results: ``benchmarks.json`` (for machines), ``benchmarks.md`` (for people), and the PNG.

The JSON's headline keys are the issue's (medians of the runs); everything measured is
under ``sections`` with median, min, max and the individual runs.

    results = summarize(sections, machine=describe(), load={...}, settings=settings, duration_s=1234.0,
                        skipped={})
    write(results, Path("docs"))      # docs/benchmarks.json, .md, .png
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from evgen.runtime.config import FlinkSettings

from bench.context import Settings

#: The report's top-level figures (the issue's keys, and the cluster's scale-out ratio).
HEADLINE_KEYS = (
    "typed_vs_handwritten_ratio_file",
    "typed_vs_handwritten_ratio_kafka",
    "typed_events_per_s_file",
    "enrich_fraction_of_bound",
    "enrich_async_fraction_of_bound",
    "latency_p50_ms",
    "latency_p99_ms",
    "rss_growth_ratio",
    "new_job_s",
    "regen_s",
    "default_data_path",
    "default_execution_mode",
    "cluster_parallelism_2_vs_1",
)
#: Where README.md holds :func:`bench.markdown.readme_summary` of the full run in docs/.
README_START = "<!-- bench:summary (written by python -m bench) -->"
README_END = "<!-- /bench:summary -->"


def _fractions(enrich: dict[str, Any] | None, key: str) -> dict[str, float] | None:
    """Fraction of the bound per ``max_workers`` (medians) of the enrichment ``key`` levels."""
    levels = (enrich or {}).get(key)
    return {k: v["fraction_of_bound"]["median"] for k, v in levels.items()} if levels else None


def _median(section: dict[str, Any] | None, *path: str) -> Any:
    node: Any = section
    for key in path:
        if not isinstance(node, dict) or node.get(key) is None:
            return None
        node = node[key]
    return node.get("median") if isinstance(node, dict) else node


def summarize(
    sections: dict[str, Any],
    *,
    machine: dict[str, Any],
    load: dict[str, Any],
    settings: Settings,
    duration_s: float,
    skipped: dict[str, str],
) -> dict[str, Any]:
    """The JSON document: headline keys first, then targets, details, machine and settings."""
    typed = sections.get("typed_vs_handwritten") or {}
    file_run, kafka_run = typed.get("file"), typed.get("kafka")
    enrich, latency, memory = sections.get("enrichment"), sections.get("latency"), sections.get("memory")
    codegen, datapath = sections.get("codegen"), sections.get("data_path")
    fastest = (datapath or {}).get("fastest") or {}
    results: dict[str, Any] = {
        "typed_vs_handwritten_ratio_file": _median(file_run, "ratio"),
        "typed_vs_handwritten_ratio_kafka": _median(kafka_run, "ratio"),
        "typed_events_per_s_file": _median(file_run, "jobs", "typed", "events_per_s"),
        "enrich_fraction_of_bound": _fractions(enrich, "levels"),
        "enrich_async_fraction_of_bound": _fractions(enrich, "async_levels"),
        "latency_p50_ms": _median(latency, "p50_ms"),
        "latency_p99_ms": _median(latency, "p99_ms"),
        "rss_growth_ratio": _median(memory, "growth_ratio"),
        "new_job_s": _median(codegen, "new_job_s"),
        "regen_s": _median(codegen, "regen_s"),
        "default_data_path": fastest.get("data_path"),
        "default_execution_mode": fastest.get("execution_mode"),
        "cluster_parallelism_2_vs_1": _median(sections.get("cluster_scaling"), "ratio"),
    }
    if kafka_run is None or kafka_run.get("ratio") is None:
        results["typed_vs_handwritten_ratio_kafka_reason"] = (kafka_run or {}).get("reason") or skipped.get(
            "kafka", "not run")
    results["smoke"] = settings.smoke
    results["generated_at"] = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    results["duration_s"] = round(duration_s, 1)
    results["targets"] = targets(results, latency)
    flink = FlinkSettings()
    results["runtime_defaults"] = {"data_path": flink.data_path, "execution_mode": flink.execution_mode}
    results["machine"] = machine
    results["load"] = load
    results["settings"] = {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(settings).items()}
    results["skipped_sections"] = skipped
    results["sections"] = sections
    return results


def targets(results: dict[str, Any], latency: dict[str, Any] | None) -> dict[str, Any]:
    """Each target of the issue with the measured median and whether it is met (None: not measured)."""

    def check(value: Any, ok: Any) -> dict[str, Any]:
        return {"value": value, "met": None if value is None else bool(ok(value))}

    def worst_up_to_64(fractions: dict[str, float] | None) -> float | None:
        up_to_64 = [v for k, v in (fractions or {}).items() if int(k) <= 64]
        return min(up_to_64) if up_to_64 else None

    p99_target = (latency or {}).get("target_p99_ms", 1200)
    return {
        "ratio_file >= 1.0": check(results["typed_vs_handwritten_ratio_file"], lambda v: v >= 1.0),
        "ratio_file >= 1.5 (aim)": check(results["typed_vs_handwritten_ratio_file"], lambda v: v >= 1.5),
        "ratio_kafka >= 1.0": check(results["typed_vs_handwritten_ratio_kafka"], lambda v: v >= 1.0),
        "typed_events_per_s_file >= 20000": check(results["typed_events_per_s_file"], lambda v: v >= 20_000),
        "enrich >= 90% of bound up to 64 workers": check(worst_up_to_64(results["enrich_fraction_of_bound"]),
                                                         lambda v: v >= 0.9),
        "enrich, async def on aiohttp, >= 90% of bound up to 64 workers": check(
            worst_up_to_64(results["enrich_async_fraction_of_bound"]), lambda v: v >= 0.9),
        f"latency p99 <= {p99_target} ms": check(results["latency_p99_ms"], lambda v: v <= p99_target),
        "rss flat (growth <= 1.10)": check(results["rss_growth_ratio"], lambda v: v <= 1.10),
        "new_job < 5 s": check(results["new_job_s"], lambda v: v < 5.0),
        "regen < 3 s": check(results["regen_s"], lambda v: v < 3.0),
    }


def write(results: dict[str, Any], out: Path) -> list[Path]:
    """``benchmarks.json``, ``benchmarks.md`` and ``benchmarks.png`` into ``out``."""
    from bench.chart import draw
    from bench.markdown import render

    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "benchmarks.json", out / "benchmarks.md", out / "benchmarks.png"]
    data = _finite(results)  # the Markdown is rendered from what the JSON holds (NaN as null)
    paths[0].write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    paths[1].write_text(render(data), encoding="utf-8")
    draw(results, paths[2])
    return paths


def update_readme(results: dict[str, Any], readme: Path) -> None:
    """Replace the summary between the README's markers with this run's (BenchError without markers)."""
    from bench.errors import BenchError
    from bench.markdown import readme_summary

    text = readme.read_text(encoding="utf-8")
    start, end = text.find(README_START), text.find(README_END)
    if start < 0 or end < start:
        raise BenchError(f"{readme}: no {README_START} ... {README_END} block to write the summary into")
    head = text[: start + len(README_START)]
    readme.write_text(f"{head}\n{readme_summary(_finite(results))}{text[end:]}", encoding="utf-8")


def _finite(value: Any) -> Any:
    """NaN / infinity (not JSON) as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value

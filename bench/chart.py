"""The benchmark chart (PNG): throughput per job, data path × mode, enrichment vs bound, memory.

    draw(results, Path("docs/benchmarks.png"))
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def _bars(ax: Any, names: list[str], figures: list[dict[str, Any]], title: str, ylabel: str) -> None:
    medians = [f["median"] for f in figures]
    low = [f["median"] - f["min"] for f in figures]
    high = [f["max"] - f["median"] for f in figures]
    ax.bar(range(len(names)), medians, yerr=[low, high], capsize=4, color="#3b6ea5")
    ax.set_xticks(range(len(names)), names, rotation=20, ha="right", fontsize=8)
    ax.set_title(title, fontsize=10)
    ax.set_ylabel(ylabel, fontsize=9)
    for i, m in enumerate(medians):
        ax.annotate(f"{m:,.0f}", (i, m / 2), ha="center", va="center", fontsize=8, color="white")


def draw(results: dict[str, Any], path: Path) -> None:
    """Write a 2×2 chart of the run's figures to ``path`` (empty panels say what was not run)."""
    sections = results["sections"]
    fig, axes = plt.subplots(2, 2, figsize=(12, 8.5))
    title = "evgen benchmarks" + (" (SMOKE: tiny inputs, not representative)" if results.get("smoke") else "")
    fig.suptitle(f"{title} — {results['machine']['cores']} cores, {results['machine']['cpu_model']}", fontsize=11)

    ax = axes[0][0]
    file_run = (sections.get("typed_vs_handwritten") or {}).get("file")
    if file_run:
        names = list(file_run["jobs"])
        _bars(ax, names, [file_run["jobs"][n]["events_per_s"] for n in names],
              f"file → file, steady state ({file_run['events']:,} events, {file_run['execution_mode']} mode)", "events/s")
    else:
        _empty(ax, "typed vs hand-written: not run")

    ax = axes[0][1]
    datapath = sections.get("data_path")
    if datapath:
        combos = datapath["combinations"]
        names = [n for n in combos if combos[n]["correct"]]
        failed = [n for n in combos if not combos[n]["correct"]]
        title = "typed job: data path / execution mode" + (f" (failed: {', '.join(failed)})" if failed else "")
        _bars(ax, names, [combos[n]["events_per_s"] for n in names], title, "events/s")
    else:
        _empty(ax, "data path × mode: not run")

    ax = axes[1][0]
    enrich = sections.get("enrichment")
    if enrich:
        levels = enrich["levels"]
        workers = [levels[k]["max_workers"] for k in levels]
        ax.plot(workers, [levels[k]["bound_events_per_s"] for k in levels], "--", color="grey", label="Little's-law bound")
        for key, label in (("levels", "def, requests"), ("async_levels", "async def, aiohttp")):
            measured = enrich.get(key) or {}
            if measured:
                ax.errorbar([measured[k]["max_workers"] for k in measured],
                            [measured[k]["events_per_s"]["median"] for k in measured],
                            yerr=[[measured[k]["events_per_s"]["median"] - measured[k]["events_per_s"]["min"]
                                   for k in measured],
                                  [measured[k]["events_per_s"]["max"] - measured[k]["events_per_s"]["median"]
                                   for k in measured]],
                            marker="o", capsize=3, label=label)
        sync = enrich["sync_baseline"]["events_per_s"]["median"]
        ax.axhline(sync, color="#c0504d", linestyle=":", label=f"sync per-event ({sync:.1f}/s)")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xticks(workers, [str(w) for w in workers])
        ax.set_xlabel("max_workers", fontsize=9)
        ax.set_ylabel("events/s", fontsize=9)
        ax.set_title(f"enrichment, {enrich['latency_ms']:.0f} ms per request", fontsize=10)
        ax.legend(fontsize=8)
    else:
        _empty(ax, "enrichment: not run")

    ax = axes[1][1]
    memory = sections.get("memory")
    if memory and memory.get("timeline_run1"):
        timeline = memory["timeline_run1"]
        t = [p["t"] for p in timeline]
        ax.plot(t, [p["jvm_mib"] for p in timeline], label="JVM (thread mode: incl. Python)")
        ax.plot(t, [p["python_workers_mib"] for p in timeline], label="Python workers")
        ax.plot(t, [p["driver_mib"] for p in timeline], label="driver")
        ax.set_xlabel("s since start", fontsize=9)
        ax.set_ylabel("RSS MiB", fontsize=9)
        ax.set_title(f"memory, {memory['events']:,} events (run 1); growth ×{memory['growth_ratio']['median']:.3f}",
                     fontsize=10)
        ax.legend(fontsize=8)
    else:
        _empty(ax, "memory: not run")

    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _empty(ax: Any, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes)
    ax.set_axis_off()

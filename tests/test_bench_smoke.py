"""The benchmark suite's smoke run (what CI runs): every section on tiny inputs, one run each.

Checks the report is complete and sane — never the speed (benchmarks are not timed assertions).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HEADLINE = {
    "typed_vs_handwritten_ratio_file", "typed_vs_handwritten_ratio_kafka", "typed_events_per_s_file",
    "enrich_fraction_of_bound", "enrich_async_fraction_of_bound", "latency_p50_ms", "latency_p99_ms", "rss_growth_ratio", "new_job_s", "regen_s",
    "default_data_path", "default_execution_mode",
}


@pytest.mark.flink
def test_smoke_run_writes_a_complete_report(repo_root: Path, tmp_path: Path) -> None:
    docs_json = repo_root / "docs" / "benchmarks.json"
    before = docs_json.stat().st_mtime_ns if docs_json.exists() else None
    out = tmp_path / "report"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--out", str(out), "--work-dir", str(tmp_path / "work")],
        cwd=repo_root, capture_output=True, text=True, timeout=1800,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr

    results = json.loads((out / "benchmarks.json").read_text())
    assert HEADLINE <= results.keys()
    assert results["smoke"] is True
    assert 0 < results["typed_vs_handwritten_ratio_file"] < 20
    assert results["typed_events_per_s_file"] > 0
    if results["typed_vs_handwritten_ratio_kafka"] is None:
        assert results["typed_vs_handwritten_ratio_kafka_reason"]
    else:
        assert 0 < results["typed_vs_handwritten_ratio_kafka"] < 20
    for key in ("enrich_fraction_of_bound", "enrich_async_fraction_of_bound"):  # requests, aiohttp
        fractions = results[key]
        assert set(fractions) == {"1", "8", "32", "64", "128"}
        assert all(0 < v < 2 for v in fractions.values())
    assert 0 < results["latency_p50_ms"] <= results["latency_p99_ms"] < 60_000
    assert 0.5 < results["rss_growth_ratio"] < 5
    assert 0 < results["new_job_s"] < 120 and 0 < results["regen_s"] < 120
    assert results["default_data_path"] in ("json", "row")
    assert results["default_execution_mode"] in ("thread", "process")
    sections = results["sections"]
    file_run = sections["typed_vs_handwritten"]["file"]
    assert file_run["events"] == 2000
    # the headline ratio is the paired runs' (both jobs at once); the interleaved one is kept beside it
    assert file_run["paired"]["jobs"] == ["typed", "handwritten"]
    assert results["typed_vs_handwritten_ratio_file"] == file_run["ratio"]["median"]
    assert 0 < file_run["ratio_interleaved"]["median"] < 20
    assert sections["enrichment"]["sync_baseline"]["events_per_s"]["median"] > 0
    assert results["machine"]["cores"] >= 1 and results["machine"]["flink"] != "not installed"

    markdown = (out / "benchmarks.md").read_text()
    assert "SMOKE RUN" in markdown and "## Machine" in markdown and "## 3. Enrichment concurrency" in markdown
    assert (out / "benchmarks.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    after = docs_json.stat().st_mtime_ns if docs_json.exists() else None
    assert after == before  # the smoke run never writes docs/

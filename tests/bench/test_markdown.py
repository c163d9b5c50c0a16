"""The benchmark report's Markdown (rendered from the committed results)."""

from __future__ import annotations

import json
import re

from bench import REPO
from bench.markdown import render


def test_the_committed_report_is_its_results_rendered_and_shows_no_nan() -> None:
    results = json.loads((REPO / "docs" / "benchmarks.json").read_text(encoding="utf-8"))
    text = render(results)
    assert (REPO / "docs" / "benchmarks.md").read_text(encoding="utf-8") == text
    assert not re.search(r"\bnan\b", text, re.IGNORECASE)  # unmeasured figures show "—"


def test_an_unmeasured_figure_renders_as_a_dash() -> None:
    results = json.loads((REPO / "docs" / "benchmarks.json").read_text(encoding="utf-8"))
    memory = results["sections"]["memory"]
    memory["growth_ratio_by_process"]["python_workers"] = {"median": None, "min": None, "max": None, "runs": []}
    assert "| Python workers | — |" in render(results)

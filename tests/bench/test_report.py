"""bench.report: the README's summary of the full run in docs/ is the one benchmarks.json gives."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.errors import BenchError
from bench.markdown import readme_summary
from bench.report import README_END, README_START, update_readme


def test_the_readme_summarizes_the_committed_full_run(repo_root: Path) -> None:
    results = json.loads((repo_root / "docs" / "benchmarks.json").read_text(encoding="utf-8"))
    readme = (repo_root / "README.md").read_text(encoding="utf-8")
    block = readme[readme.index(README_START) + len(README_START):readme.index(README_END)]
    assert block == "\n" + readme_summary(results)
    assert f"**{results['typed_vs_handwritten_ratio_file']}" in block  # the headline figure itself


def test_update_readme_replaces_only_the_block(repo_root: Path, tmp_path: Path) -> None:
    results = json.loads((repo_root / "docs" / "benchmarks.json").read_text(encoding="utf-8"))
    readme = tmp_path / "README.md"
    readme.write_text(f"# title\n{README_START}\nold numbers\n{README_END}\nafter\n", encoding="utf-8")
    update_readme(results, readme)
    assert readme.read_text(encoding="utf-8") == f"# title\n{README_START}\n{readme_summary(results)}{README_END}\nafter\n"
    readme.write_text("# no markers\n", encoding="utf-8")
    with pytest.raises(BenchError, match="no <!-- bench:summary"):
        update_readme(results, readme)

"""``python -m bench``: bad invocations fail with one line and no traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--sections", "typed,bogus"], "bench: error: --sections: unknown section(s) bogus (known: codegen, typed,"),
        (["--smoke", "--out", "docs"], "bench: error: --out: docs/ holds the full run's numbers"),
    ],
)
def test_bad_invocations_fail_in_one_line(repo_root: Path, args: list[str], message: str) -> None:
    done = subprocess.run([sys.executable, "-m", "bench", *args], cwd=repo_root, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 1
    assert done.stderr.startswith(message)
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr


def test_help_lists_the_sections(repo_root: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "bench", "--help"], cwd=repo_root, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0
    for section in ("codegen", "typed", "kafka", "datapath", "enrich", "latency", "memory"):
        assert section in done.stdout

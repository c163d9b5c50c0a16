"""evgen's own code type-checks (mypy with the pydantic plugin, settings in pyproject.toml)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_evgen_type_checks(repo_root: Path, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / "mypy"), "evgen"],
        cwd=repo_root, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success: no issues found" in result.stdout

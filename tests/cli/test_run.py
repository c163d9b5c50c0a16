"""`evgen run` options shared by both targets, as job-config overrides; a local savepoint that is
not there is one line (runs on a cluster are in tests/runtime/test_remote.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from evgen.cli.run import local_savepoint, run_overrides
from evgen.errors import ConfigError


def test_options_become_config_overrides(tmp_path: Path) -> None:
    assert run_overrides(None, None, None, "local") == {}
    assert run_overrides(3, "s3://state/cp", None, "remote") == {"flink": {"parallelism": 3, "checkpoint_dir": "s3://state/cp"}}
    # remote: the cluster resolves the savepoint (flink run --fromSavepoint), not the config
    assert run_overrides(None, None, "s3://state/sp/savepoint-1", "remote") == {}
    (tmp_path / "savepoint-1").mkdir()
    (tmp_path / "savepoint-1" / "_metadata").write_bytes(b"\0")
    expected = {"flink": {"resume_from": (tmp_path / "savepoint-1").as_uri()}}
    assert run_overrides(None, None, str(tmp_path / "savepoint-1"), "local") == expected


def test_local_savepoints_are_checked_others_passed_on(tmp_path: Path) -> None:
    assert local_savepoint("s3://state/sp/savepoint-1") == "s3://state/sp/savepoint-1"
    with pytest.raises(ConfigError, match=r"^--from-savepoint: no savepoint or checkpoint at .*/nope \(no _metadata file\)$"):
        local_savepoint(str(tmp_path / "nope"))


def test_missing_local_savepoint_is_one_line(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "evgen.cli", "run", "--from-savepoint", "sp/missing"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert done.stderr.strip() == f"error: --from-savepoint: no savepoint or checkpoint at {tmp_path / 'sp/missing'} (no _metadata file)"


def test_the_command_line_loads_without_pyflink() -> None:
    # pyflink is imported by the commands that run a job; new-job, regen and --help start without it
    code = "import sys; import evgen.cli; print(any(m == 'pyflink' or m.startswith('pyflink.') for m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.strip() == "False"

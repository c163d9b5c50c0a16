"""What a wheel of evgen carries: a regular (non-editable) install can generate a job."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def installed(repo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """evgen built as a wheel (from a clean copy: a build/ left in the checkout would be reused)
    and installed, without dependencies, into a directory of its own."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "src"
    shutil.copytree(repo_root, source, symlinks=True, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "*.egg-info", "__pycache__", ".mypy_cache", ".pytest_cache", "docs", "out"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "-q", "-w", str(work)],
                   check=True, capture_output=True)
    (wheel,) = work.glob("evgen-*.whl")
    target = work / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
                   check=True, capture_output=True)
    return target


def test_an_installed_wheel_generates_a_job(installed: Path, tmp_path: Path, stream_configs_file: Path,
                                             primary_schema_repo: Path) -> None:
    # The wheel's evgen comes first on the path (the checkout's editable install is found only after it).
    env = {**os.environ, "PYTHONPATH": str(installed), "EVGEN_CONFIG": os.devnull}
    code = ("import evgen, sys; from evgen.cli import main; print(evgen.__file__, flush=True); "
            "sys.argv = ['evgen', *sys.argv[1:]]; main()")
    done = subprocess.run(
        [sys.executable, "-c", code, "new-job", "page_content_change", "--output-dir", str(tmp_path / "jobs"),
         "--source", "mediawiki.page_change.v1:1.1.0", "--sink", "mediawiki.page_content_change.v1:1.1.0",
         "--stream-config", str(stream_configs_file), "--schema-uri", str(primary_schema_repo)],
        capture_output=True, text=True, env=env, cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[0].startswith(str(installed))
    job = tmp_path / "jobs" / "page_content_change"
    assert "def process(event: PageChange) -> PageContentChange" in (job / "page_content_change" / "job.py").read_text()
    assert (job / "Dockerfile").is_file() and (job / ".dockerignore").is_file()
    assert not list(job.rglob("__pycache__"))  # nothing the install compiled in the template

"""bench.launcher: worker processes, their memory, and failures reported in one line."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from bench.errors import RunFailed
from bench.launcher import launch, stop_tree, tree_rss


def test_a_failing_worker_is_one_line_with_its_log(tmp_path: Path) -> None:
    spec = {"kind": "evgen", "job_dir": str(tmp_path / "no-such-job"), "module": "x.y",
            "config": {"source": {"stream": "a:1.0.0"}, "sink": {"stream": "b:1.0.0"}}}
    with pytest.raises(RunFailed) as raised:
        launch(spec, tmp_path / "run", label="broken job", timeout_s=120)
    message = str(raised.value)
    assert message.startswith("broken job: worker exited with 1: ") and "\n" not in message
    assert "evgen.lock" in message  # the cause, from the worker's log
    assert (tmp_path / "run" / "worker.log").is_file()


def test_tree_rss_and_stop_tree_cover_the_children(tmp_path: Path) -> None:
    script = "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); time.sleep(60)"
    parent = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.monotonic() + 30
        while not psutil.Process(parent.pid).children() and time.monotonic() < deadline:
            time.sleep(0.05)
        children = psutil.Process(parent.pid).children(recursive=True)
        assert len(children) == 1
        sample = tree_rss(parent.pid)
        assert sample is not None and sample.driver > 0 and sample.python_workers > 0 and sample.jvm == 0
        stop_tree(parent.pid, grace_s=5)
        assert parent.wait(timeout=10) is not None
        assert not children[0].is_running() or children[0].status() == psutil.STATUS_ZOMBIE
    finally:
        if parent.poll() is None:
            parent.kill()
    assert tree_rss(parent.pid) is None

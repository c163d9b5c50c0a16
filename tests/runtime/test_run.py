"""`evgen run` on a job directory: directory input, parallelism 2, process mode,
checkpointing, per-key order, the summary — and one-line errors for bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
import yaml

from evgen.flinkdist import child_environment
from evgen.testing import with_new_id

EVGEN = [sys.executable, "-m", "evgen.cli"]


def evgen(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*EVGEN, *args], cwd=cwd, env=child_environment(), capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def ordered_inputs(job_dir: Path, valid_events: list[dict[str, Any]]) -> dict[str, list[int]]:
    """Events of 6 keys (wiki_id, page_id), 8 each, interleaved, split over two files."""
    base = valid_events[0]
    expected: dict[str, list[int]] = defaultdict(list)
    files = [job_dir / "in" / "a.jsonl", job_dir / "in" / "b.jsonl"]
    files[0].parent.mkdir(exist_ok=True)
    lines: list[list[str]] = [[], []]
    for seq in range(8):
        for page in range(6):
            event = with_new_id(base)
            event["page"] = {**event["page"], "page_id": 1000 + page}
            event["meta"]["id"] = f"p{page}-{seq:02d}"
            lines[page % 2].append(json.dumps(event))
            expected[f"p{page}"].append(seq)
    for path, chunk in zip(files, lines):
        path.write_text("\n".join(chunk) + "\n")
    return expected


@pytest.mark.flink
def test_run_parallel_process_mode_keeps_per_key_order(job_dir: Path, ordered_inputs: dict[str, list[int]]) -> None:
    config = {
        "source": {"stream": "mediawiki.page_change.v1:1.1.0", "connector": "file", "options": {"path": "in"}},
        "sink": {"stream": "mediawiki.page_content_change.v1:1.1.0", "connector": "file",
                 "options": {"path": "out/ordered"}},
        "error_sink": {"stream": "rt_job.error:2.1.0", "connector": "file", "options": {"path": "out/ordered-errors"}},
        "process": {"batch_size": 3, "max_workers": 4, "buckets": 4},
        "flink": {"parallelism": 2, "execution_mode": "process", "checkpoint_interval_ms": 500,
                  "checkpoint_dir": "out/checkpoints"},
    }
    (job_dir / "config" / "ordered.yaml").write_text(yaml.safe_dump(config))
    result = evgen("run", "--config", "config/ordered.yaml", cwd=job_dir)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "job finished: 48 in, 48 out, 0 errors, 0 filtered" in result.stderr
    parts = sorted((job_dir / "out/ordered").glob("part-*.jsonl"))
    seen: dict[str, list[int]] = defaultdict(list)
    files_of: dict[str, set[Path]] = defaultdict(set)
    for part in parts:
        for line in part.read_text().splitlines():
            key, seq = json.loads(line)["meta"]["id"].split("-")
            seen[key].append(int(seq))
            files_of[key].add(part)
    assert seen == ordered_inputs  # every key complete and in input order
    assert all(len(f) == 1 for f in files_of.values())  # one key, one subtask
    assert len(parts) == 2  # both subtasks wrote


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"source": {"connector": "nope"}}, "error: unknown connector 'nope' (known: file, kafka, memory)"),
        ({"source": {"stream": "no.such.stream:1.0.0"}}, "error: "),
        ({"source": {"options": {"path": "missing.jsonl"}}}, "input path"),
        ({"sink": {"options": {"path": "out", "colour": "red"}}}, "sink: bad options for connector 'file': colour"),
        ({"sink": {"stream": "mediawiki.page_content_change.v1"}}, "needs a version for a sink"),
        ({"process": {"max_workers": 0}}, "process.max_workers: Input should be greater than or equal to 1"),
    ],
)
def test_bad_config_is_one_line(job_dir: Path, override: dict[str, Any], message: str) -> None:
    (job_dir / "config" / "bad.yaml").write_text(yaml.safe_dump(override))
    result = evgen("run", "--config", "config/local.yaml", "--config", "config/bad.yaml", cwd=job_dir)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], result.stderr
    assert "Traceback" not in result.stderr

"""``python -m bench.soak``: its report (docs/soak.md + json), its verdict, its bad invocations.

The soak itself runs in tests/kafka/test_crash_recovery.py (reduced form)."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from bench.soak import failures, parse_modes, render, write_report
from evgen.testing.soak import Attempt, SoakError, SoakResult, SoakSettings


def result(mode: str, **changes: object) -> SoakResult:
    attempts = [
        Attempt(number=1, started_s=0.1, ended_s=40.2, end="killed", arrived=30_000, fed=31_000),
        Attempt(number=2, started_s=40.2, ended_s=95.0, end="stopped", arrived=100_000, fed=100_000,
                restored_from="0f3c/chk-37", exit_status=0, summary={"in": 71_500, "out": 70_785, "errors": 715}),
    ]
    base = SoakResult(
        delivery_guarantee=mode, events=100_000, valid=99_000, invalid=1_000, kills=1, lost=0, duplicates=0,
        duplicated_ids=0, misrouted=0, unexpected=0, output_records=99_000, error_records=1_000,
        records_in_log=101_350, isolation_level="read_committed", elapsed_s=95.0, events_per_s=1052.6, seed=1,
        settings={"events": 100_000}, attempts=attempts, lost_ids=[], final_summary=attempts[-1].summary,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def report(*results: SoakResult) -> dict[str, object]:
    return {
        "generated": "2026-11-21T10:00:00+00:00", "command": "python -m bench.soak --kills 1",
        "machine": {"cores": 2, "cpu_model": "Test CPU", "memory_gib": 8.0, "python": "3.11.7",
                    "java": "openjdk 17", "flink": "2.2.1"},
        "load": {"start": {"load1": 1.5}, "end": {"load1": 2.5}}, "partitions": 2,
        "runs": [r.to_dict() for r in results], "summary": {},
    }


def test_render_tells_what_ran_and_what_came_out() -> None:
    text = render(report(result("at_least_once", duplicates=1_234, output_records=100_234,
                                isolation_level="read_uncommitted", records_in_log=101_234),
                         result("exactly_once")))
    assert text.startswith("# Crash soak: nothing lost across kills\n")
    assert "by `python -m bench.soak --kills 1`" in text
    assert "| at_least_once | 100,000 | 1 | **0** | 1,234 | 0 | 101,234 (101,234) | 95 s | 1,053 |" in text
    assert "| exactly_once | 100,000 | 1 | **0** | 0 | 0 | 100,000 (101,350) | 95 s | 1,053 |" in text
    assert "| 2 | 40.2 s | 95.0 s | stopped | 100,000 | 0f3c/chk-37 |" in text
    assert "| 1 | 0.1 s | 40.2 s | killed | 30,000 | fresh start |" in text
    assert "2 cores (Test CPU), 8.0 GiB" in text and "1.5 at the start, 2.5 at the end" in text


def test_verdict_fails_on_loss_misrouting_and_exactly_once_duplicates() -> None:
    fine = report(result("at_least_once", duplicates=5), result("exactly_once"))
    assert failures(fine) == []
    bad = report(result("at_least_once", lost=2, lost_ids=["a", "b"]), result("exactly_once", duplicates=3, misrouted=1))
    assert failures(bad) == [
        "at_least_once: 2 input ids lost (first: a, b)",
        "exactly_once: 1 misrouted, 0 unexpected records",
        "exactly_once: 3 duplicates seen by a read_committed reader",
    ]


def test_write_report(tmp_path: Path) -> None:
    data = report(result("exactly_once"))
    json_path, md_path = write_report(data, tmp_path / "out")
    assert json.loads(json_path.read_text()) == json.loads(json.dumps(data))
    assert md_path.read_text() == render(data)


def test_modes() -> None:
    assert parse_modes(" exactly_once , at_least_once,exactly_once") == ("exactly_once", "at_least_once")
    with pytest.raises(SoakError, match=r"^--modes: unknown mode\(s\) exactly-once \(known: at_least_once, exactly_once\)$"):
        parse_modes("exactly-once")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--modes", "sometimes"], "bench.soak: error: --modes: unknown mode(s) sometimes"),
        (["--modes", ","], "bench.soak: error: --modes: unknown mode(s) (none given)"),
    ],
)
def test_bad_invocations_fail_in_one_line(repo_root: Path, args: list[str], message: str) -> None:
    done = subprocess.run([sys.executable, "-m", "bench.soak", *args], cwd=repo_root, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 1
    assert done.stderr.startswith(message)
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr


def test_settings_default_to_the_mini_batch_path() -> None:
    assert SoakSettings().sync is False


def test_rerender_writes_the_markdown_from_the_json(repo_root: Path, tmp_path: Path) -> None:
    data = report(result("at_least_once", duplicates=7))
    (tmp_path / "soak.json").write_text(json.dumps(data))
    done = subprocess.run([sys.executable, "-m", "bench.soak", "--rerender", "--out", str(tmp_path)], cwd=repo_root,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "soak.md").read_text() == render(data)

    missing = subprocess.run([sys.executable, "-m", "bench.soak", "--rerender", "--out", str(tmp_path / "none")],
                             cwd=repo_root, capture_output=True, text=True, timeout=120)
    assert missing.returncode == 1
    assert missing.stderr.startswith(f"bench.soak: error: cannot read {tmp_path / 'none' / 'soak.json'}: ")
    assert len(missing.stderr.strip().splitlines()) == 1

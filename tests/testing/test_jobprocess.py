"""evgen.testing.jobprocess: real child process trees, killed and stopped; run summaries parsed."""

from __future__ import annotations

import os
import signal
import sys
import textwrap
from pathlib import Path

import pytest

from evgen.testing.jobprocess import LIVE_LINE, JobProcess, group_members, parse_summary

#: A parent that starts a grandchild (as `evgen run` starts Flink's JVM), prints both pids, then
#: waits; SIGTERM makes it print a summary and exit 0 unless told to ignore SIGTERM.
TREE = textwrap.dedent("""
    import signal, subprocess, sys, time
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    print("pids", child.pid, flush=True)
    if sys.argv[1] == "ignore":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    else:
        def stop(signum, frame):
            child.terminate(); child.wait()
            print("job finished: 5 in, 3 out, 1 errors, 1 filtered in 1.0s (5 events/s)", flush=True)
            print("  error.invalid_input: 1", flush=True)
            print("  filtered.canary: 1", flush=True)
            sys.exit(0)
        signal.signal(signal.SIGTERM, stop)
    time.sleep(1)
    print("[   1.0s] in 0  out 0  errors 0  (0 in/s)", flush=True)
    time.sleep(600)
""")


def start(tmp_path: Path, mode: str = "handle") -> JobProcess:
    script = tmp_path / "tree.py"
    script.write_text(TREE)
    return JobProcess.start([sys.executable, str(script), mode], cwd=tmp_path, env=dict(os.environ), log=tmp_path / "run.log")


def grandchild(job: JobProcess) -> int:
    assert job.wait_for_log(r"^pids \d+$", 30), job.log_text()
    return int(job.log_text().split("pids ")[1].split()[0])


def alive(pid: int) -> bool:
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"


def test_kill_takes_down_the_whole_tree(tmp_path: Path) -> None:
    job = start(tmp_path)
    child = grandchild(job)
    assert set(group_members(job.pid)) == {job.pid, child}

    job.kill()

    assert job.returncode == -signal.SIGKILL
    assert group_members(job.pid) == [] and not alive(child)
    assert job.log_text().startswith(f"$ {sys.executable} ")  # the command line heads the log


def test_stop_sends_one_signal_and_waits_for_a_clean_exit(tmp_path: Path) -> None:
    job = start(tmp_path)
    child = grandchild(job)
    assert job.wait_for_log(LIVE_LINE, 30)

    assert job.stop(signal.SIGTERM, 30) == 0
    assert not alive(child) and group_members(job.pid) == []
    summary = parse_summary(job.log_text())
    assert summary is not None
    assert (summary["in"], summary["out"], summary["errors"], summary["filtered"]) == (5, 3, 1, 1)
    assert (summary["error.invalid_input"], summary["filtered.canary"], summary["status.finished"]) == (1, 1, 1)


def test_stop_kills_a_process_that_does_not_stop_in_time(tmp_path: Path) -> None:
    job = start(tmp_path, "ignore")
    child = grandchild(job)
    assert job.wait_for_log(LIVE_LINE, 30)  # SIGTERM is ignored from here on

    assert job.stop(signal.SIGTERM, 1) is None
    assert job.returncode == -signal.SIGKILL and not alive(child)


def test_leaving_the_block_kills_what_still_runs(tmp_path: Path) -> None:
    with start(tmp_path) as job:
        child = grandchild(job)
    assert not job.running and not alive(child)


def test_wait_for_log_gives_up_when_the_process_exits(tmp_path: Path) -> None:
    job = JobProcess.start([sys.executable, "-c", "print('bye')"], cwd=tmp_path, env=dict(os.environ),
                           log=tmp_path / "short.log")
    assert job.wait_for_log("never printed", 30) is False
    assert job.wait(30) == 0 and job.wait_for_log("^bye$", 1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("nothing to see\n", None),
        ("job finished: 1,000 in\n", None),  # not a summary line (the live line uses thousands separators)
        (
            "[   2.0s] in 3  out 1  errors 0  (1 in/s)\n\r\x1b[Kjob finished: 3 in, 1 out, 1 errors, 1 filtered "
            "in 2.0s (1 events/s)\n  error.undecodable_input: 1\n  filtered.canary: 1\n",
            {"in": 3, "out": 1, "errors": 1, "filtered": 1, "status.finished": 1,
             "error.undecodable_input": 1, "filtered.canary": 1},
        ),
        (
            "job failed: 2 in, 2 out, 0 errors, 0 filtered in 1.0s (2 events/s)\n"
            "job finished: 7 in, 7 out, 0 errors, 0 filtered in 1.0s (7 events/s)\n",
            {"in": 7, "out": 7, "errors": 0, "filtered": 0, "status.finished": 1},
        ),
    ],
)
def test_parse_summary(text: str, expected: dict[str, int] | None) -> None:
    parsed = parse_summary(text)
    assert (None if parsed is None else dict(parsed)) == expected

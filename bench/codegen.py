"""Section 6, code generation: wall time of ``evgen new-job`` and ``evgen regen`` (subprocesses).

Both run the installed ``evgen`` command as a user would, on page_change 1.1.0 →
page_content_change 1.1.0 from the shared stream config and schema repository:
``new-job`` into a fresh directory, then ``regen`` inside it (re-resolving the schemas and
regenerating the models). Interpreter start-up and imports are included.

    results = run_codegen(ctx)
    results["new_job_s"]["median"]
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.context import Context
from bench.errors import BenchError
from bench.stats import Series
from bench.workspace import SHARED, SINK, SOURCE


def evgen_command() -> list[str]:
    """The ``evgen`` console script next to this interpreter (else ``python -m evgen.cli``)."""
    script = Path(sys.executable).with_name("evgen")
    return [str(script)] if script.exists() else [sys.executable, "-c", "from evgen.cli import main; main()"]


def timed(args: list[str], cwd: Path, label: str) -> float:
    started = time.perf_counter()
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=300)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise BenchError(f"{label} failed (exit {done.returncode}): {last}")
    return elapsed


def run_codegen(ctx: Context) -> dict[str, Any]:
    s = ctx.settings
    new_job, regen = Series(), Series()
    evgen = evgen_command()
    for round_no in range(s.codegen_runs):
        root = ctx.run_dir(f"codegen-r{round_no + 1}")
        new_job.add(timed(
            evgen + ["new-job", "codegen_bench", "--source", SOURCE, "--sink", SINK,
                     "--stream-config", str(SHARED / "streamconfigs.json"),
                     "--schema-uri", str(SHARED / "schema-repos" / "primary" / "jsonschema"),
                     "--output-dir", str(root)],
            root, "evgen new-job",
        ))
        job_dir = root / "codegen_bench"
        if not (job_dir / "evgen.lock").is_file():
            raise BenchError(f"evgen new-job did not create {job_dir / 'evgen.lock'}")
        regen.add(timed(evgen + ["regen"], job_dir, "evgen regen"))
        shutil.rmtree(root, ignore_errors=True)
    return {
        "runs": s.codegen_runs,
        "source": SOURCE,
        "sink": SINK,
        "new_job_s": new_job.to_dict(3),
        "regen_s": regen.to_dict(3),
        "target_new_job_s": 5.0,
        "target_regen_s": 3.0,
    }

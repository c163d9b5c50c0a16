"""One benchmark job in a fresh process: ``python -m bench.worker SPEC.json``.

Each run gets its own interpreter (so its own JVM and mini-cluster): no run warms the JIT
or the caches of the next, and the parent can sample the process tree's memory. The spec
says what to run:

- ``{"kind": "evgen", "job_dir": ..., "module": "bench_job.passthrough", "config": {...}}``
  — a generated evgen job, built and executed as ``evgen run`` does (``Job.from_config``,
  the module's ``pipeline(stream)``, ``execute()``);
- ``{"kind": "handwritten", "variant": "validated" | "minimal", "source": "file" | "kafka", ...}``
  — the hand-written PyFlink baseline (:mod:`bench.handwritten`); variant ``bare_chain``
  (with the ``evgen`` keys too) runs the generated job's chain in a plain ProcessFunction.

``register`` lists modules to import first (e.g. :mod:`bench.tail`, which registers the
latency probe connector). The result — counts, elapsed time, the submit timestamp — goes
to ``spec["result"]`` as JSON.

    $ python -m bench.worker /tmp/run-1/spec.json
"""

from __future__ import annotations

import importlib
import json
import sys
import time
from pathlib import Path
from typing import Any

from evgen.errors import EvgenError
from evgen.runtime.config import FlinkSettings, parse_config
from evgen.runtime.flinkenv import create_environment


def _evgen_stream(spec: dict[str, Any]) -> Any:
    """The generated job's pipeline (``spec``: job_dir, module, config), built as ``evgen run`` does."""
    from evgen.runtime.job import Job
    from evgen.runtime.stream import Stream

    job_dir = Path(spec["job_dir"])
    if str(job_dir) not in sys.path:
        sys.path.insert(0, str(job_dir))
    job = Job.from_config(parse_config(spec["config"], source="bench spec"), job_dir)
    return importlib.import_module(spec["module"]).pipeline(Stream(job))


def run_evgen(spec: dict[str, Any]) -> dict[str, Any]:
    """Build the generated job's pipeline from ``spec`` and run it to completion."""
    stream = _evgen_stream(spec)
    submitted = time.time()
    result = stream.execute()
    return {"counts": dict(result.counts), "elapsed_s": result.elapsed_s, "status": result.status, "submitted": submitted}


def run_handwritten(spec: dict[str, Any]) -> dict[str, Any]:
    """Build and run the hand-written PyFlink job described by ``spec``."""
    from bench.handwritten import HandWrittenJob

    job = HandWrittenJob(
        variant=spec["variant"],
        source_schema=spec["source_schema"],
        sink_schema=spec["sink_schema"],
        sink_stream=spec["sink_stream"],
        chain=_evgen_stream(spec).chain() if spec["variant"] == "bare_chain" else None,
    )
    settings = FlinkSettings.model_validate(spec.get("flink", {}))
    jars: list[str] = []
    if spec["source"] == "kafka":
        from evgen.jars import pipeline_jars_for

        jars = pipeline_jars_for(["kafka"])
    env = create_environment(settings, Path(spec["job_dir"]), jars)
    if spec["source"] == "file":
        job.build_file(env, Path(spec["input"]), Path(spec["output"]), Path(spec["errors"]))
    else:
        from bench.kafkajobs import build_handwritten_kafka

        build_handwritten_kafka(job, env, spec["kafka"])
    submitted = time.time()
    started = time.monotonic()
    env.execute(f"handwritten-{spec['variant']}")
    return {"counts": {}, "elapsed_s": time.monotonic() - started, "status": "FINISHED", "submitted": submitted}


RUNNERS = {"evgen": run_evgen, "handwritten": run_handwritten}


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m bench.worker SPEC.json", file=sys.stderr)
        return 2
    spec = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    for module in spec.get("register", []):
        importlib.import_module(module)
    try:
        result = RUNNERS[spec["kind"]](spec)
    except EvgenError as e:  # a user-facing problem: one line, no traceback
        print(f"{type(e).__name__}: {e}", file=sys.stderr)
        return 1
    Path(spec["result"]).write_text(json.dumps(result), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""The program Flink's client runs for ``evgen run --target remote``.

``flink run -pym evgen.runtime.driver`` starts this module in a Python process beside the
Flink client's JVM; the execution environment it gets is the client's, bound to the target
cluster. It loads the job exactly as a local run does (config files, ``--set``, command
line overrides), builds the same graph (:func:`evgen.runtime.execute.build_graph`, no
status files: those are local-only), submits it and prints the job id on a line starting
with :data:`JOB_ID_PREFIX`. Bad input is printed as one line starting with
:data:`ERROR_PREFIX` (exit status 1), which ``evgen run`` shows as its own error.

    flink run -d -pyfs page_content_change.zip,evgen.zip -pym evgen.runtime.driver \\
        --job-dir /jobs/page_content_change --config /jobs/page_content_change/config/kafka.yaml
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Sequence

from evgen.errors import EvgenError
from evgen.runtime.flinkenv import configured_environment

JOB_ID_PREFIX = "evgen-job-id: "
ERROR_PREFIX = "evgen-error: "


def submit(job_dir: Path, configs: Sequence[str], sets: Sequence[str], overrides: dict[str, Any]) -> str:
    """Build the job's graph on the client's environment, submit it; return the job id."""
    from evgen.runtime.execute import build_graph
    from evgen.runtime.runner import load_job, load_pipeline
    from evgen.runtime.stream import Stream

    if str(job_dir) not in sys.path:
        sys.path.insert(0, str(job_dir))
    job = load_job(job_dir, configs, sets, overrides)
    stream = load_pipeline(job)(Stream(job))
    # Unlike a local run, python.executable (-pyexec: the cluster's Python need not live where
    # the client's does) and the state to restore (--fromSavepoint) are left to the submission.
    env = configured_environment(job.config.flink, job.job_dir, job.connector_jars())
    build_graph(stream, env, None)
    client = env.execute_async(job.name)
    return str(client.get_job_id())


def root_cause(error: Exception) -> str:
    """The innermost Java cause of a Py4J error, as its message (or the error's first line)."""
    java = getattr(error, "java_exception", None)
    if java is None:
        return next((line for line in str(error).splitlines() if line.strip()), type(error).__name__)
    while java.getCause() is not None:
        java = java.getCause()
    message = java.getMessage()
    return str(message) if message else str(java.toString())


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="evgen.runtime.driver", description=__doc__.splitlines()[0])
    parser.add_argument("--job-dir", type=Path, required=True)
    parser.add_argument("--config", action="append", default=[])
    parser.add_argument("--set", action="append", default=[])
    parser.add_argument("--overrides", default="{}", help="config mapping (JSON) applied last")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    from py4j.protocol import Py4JJavaError

    try:
        job_id = submit(args.job_dir, args.config, args.set, json.loads(args.overrides))
    except EvgenError as e:
        print(ERROR_PREFIX + str(e), flush=True)
        return 1
    except Py4JJavaError as e:  # Flink refused the job: say why in one line
        print(ERROR_PREFIX + f"Flink did not start the job: {root_cause(e)}", flush=True)
        return 1
    print(JOB_ID_PREFIX + job_id, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
